using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Rain.Engine;
using Rain.Engine.Api;
using Rain.Engine.Bundle;
using Rain.Engine.Media;

namespace Rain.Cli;

/// <summary>
/// <c>rain bench --input SRC</c>: camera frames from any source <c>rain live</c> takes are pushed into a session
/// (<see cref="AnimationSession.PushCameraFrame(ReadOnlySpan{byte}, int, int, int, long, CancellationToken)"/>: RAIN's pose
/// front end on the session's pose thread) instead of pose images; after the same steady-state warm-up as the step bench,
/// the frames of the measured steps give glass-to-glass latency (frame read → animated frame out) beside the engine's own
/// latency (pose image queued → frame out), with the pose stage's timings. A file or folder is read as fast as the engine
/// takes frames (every frame; at most one step's worth of poses waiting) and started again at its end until enough frames
/// were measured; a camera or stream keeps its newest frame, as in <c>rain live</c>.
/// </summary>
internal static class BenchCamera
{
    internal static int Run(string bundlePath, string input, int steps, int warmup, int threads, bool serialAttention, bool checkNumerics, string? jsonPath, TextWriter o, TextWriter e, BackendChoice? backend = null)
    {
        if (steps is < 1 or > BenchCommand.MaxSteps || warmup is < 0 or > BenchCommand.MaxSteps)
        {
            e.WriteLine($"rain bench: --steps must be 1 to {BenchCommand.MaxSteps} and --warmup 0 to {BenchCommand.MaxSteps}.");
            return CliErrors.BadInput;
        }

        return CliErrors.Run("bench", e, () =>
        {
            var ci = CultureInfo.InvariantCulture;
            var kind = VideoSource.KindOf(input); // a missing camera or an unknown scheme is named before anything loads
            bool isLive = kind is VideoSourceKind.Camera or VideoSourceKind.Network;
            var manifest = ModelBundle.Load(bundlePath, verifyHashes: false).Manifest;
            if (manifest.PoseModels is null)
            {
                throw new RainException(RainErrorCategory.InvalidInput,
                    $"{bundlePath}: --input needs a bundle with pose models (export it with rain export --pose-detector/--pose-estimator); this bundle has none, so it takes pose images only (rain bench without --input).");
            }

            var load = Stopwatch.StartNew();
            var options = (backend ?? BackendChoice.Cpu).Apply(new EngineOptions
            {
                Threads = threads, ParallelAttention = !serialAttention, CheckNumerics = checkNumerics,
                LatestFrameWins = isLive, InputCapacity = manifest.FramesPerLevel,
            });
            using var engine = RainEngine.Load(bundlePath, options);
            var frontEnd = engine.PoseFrontEnd; // the models load now, outside the first frame's latency
            int p = engine.FramesPerStep, levels = manifest.Levels;
            o.WriteLine(string.Create(ci, $"bundle {engine.Bundle.Folder}: {engine.Width}x{engine.Height}, p={p} L={levels}; loaded in {load.Elapsed.TotalSeconds:F1} s; pose front end {frontEnd.EstimatorWidth}x{frontEnd.EstimatorHeight}"));
            o.WriteLine($"machine: {LatencyReport.Machine()}");

            // Chunk c leaves at step c + L − 1: the frames of the warm-up steps are those of the chunks before firstMeasured / p.
            int warmupRun = BenchCommand.WarmupSteps(warmup, levels);
            long firstMeasured = (long)(warmupRun - levels + 1) * p;
            int wanted = checked(steps * p);
            using var feed = new Feed(input, isLive, wanted);
            var g2g = new List<double>(wanted);
            var engineMs = new List<double>(wanted);
            long warmupFrames = 0, clock = 0;
            SessionStatistics stats;
            using (var session = engine.CreateSession(DemoScene.Reference(engine.Width, engine.Height)))
            {
                var feeder = new Thread(() => feed.Run(session)) { IsBackground = true, Name = "rain-bench-feeder" };
                feeder.Start();
                try
                {
                    while (g2g.Count < wanted && session.ReadFrame() is { } frame)
                    {
                        using (frame)
                        {
                            if (frame.Index < firstMeasured)
                            {
                                warmupFrames++;
                                clock = Stopwatch.GetTimestamp(); // the measured time starts with the warm-up's last frame
                                e.Write(string.Create(ci, $"\rwarm-up: {warmupFrames}/{firstMeasured} frames"));
                                continue;
                            }

                            g2g.Add(frame.LatencyMilliseconds);
                            engineMs.Add(frame.EngineLatencyMilliseconds);
                            ExportCommand.Progress(e, g2g.Count, wanted, string.Create(ci, $"frames, glass to glass {frame.LatencyMilliseconds:F0} ms"));
                        }
                    }
                }
                finally
                {
                    feed.Stop(); // wakes a feeder waiting on the source or a full queue
                    feeder.Join();
                    stats = session.Statistics; // every frame read was pushed or not counted
                    session.Dispose();
                }
            }

            double seconds = Stopwatch.GetElapsedTime(clock).TotalSeconds;
            e.WriteLine();
            if (g2g.Count < wanted)
            {
                if (feed.Error is not null)
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(feed.Error);
                throw new RainException(RainErrorCategory.InvalidInput, $"{input}: the stream ended after {g2g.Count} of the {wanted} measured frames.");
            }

            var camera = stats.Camera;
            var glass = LatencyReport.GlassToGlass(g2g);
            var engineLatency = LatencyReport.SummaryWithFrames(engineMs);
            var result = new JsonObject
            {
                ["machine"] = LatencyReport.Machine(),
                ["mode"] = "camera",
                ["bundle"] = engine.Bundle.Folder,
                ["backend"] = options.Backend.ToString(),
                ["backend_description"] = engine.BackendDescription,
                ["size"] = $"{engine.Width}x{engine.Height}",
                ["frames_per_level"] = p,
                ["levels"] = levels,
                ["threads"] = threads,
                ["parallel_attention"] = !serialAttention,
                ["numeric_check"] = checkNumerics,
                ["input"] = new JsonObject
                {
                    ["source"] = input,
                    ["kind"] = kind.ToString(),
                    ["live"] = isLive,
                    ["width"] = feed.Width,
                    ["height"] = feed.Height,
                    ["frames_read"] = feed.FramesRead,
                    ["dropped_at_source"] = feed.DroppedAtSource,
                    ["passes"] = feed.Passes,
                },
                ["warmup_steps_requested"] = warmup,
                ["warmup_steps"] = warmupRun,
                ["warmup_frames"] = warmupFrames,
                ["steps"] = steps,
                ["frames"] = g2g.Count,
                ["fps"] = g2g.Count / seconds,
                ["glass_to_glass_ms"] = glass,
                ["engine_latency_ms"] = engineLatency,
                ["pose_stage_ms"] = LatencyReport.PoseStage(camera),
                ["pose_stage_note"] = "every camera frame through the pose front end in the run, warm-up included (count)",
                ["camera_frames_in"] = camera?.FramesIn ?? 0,
                ["camera_frames_dropped"] = camera?.Dropped ?? 0,
                ["session"] = LatencyReport.ToJson(stats, engine.Bundle.Folder, options, engine.BackendDescription),
                ["peak_rss_bytes"] = LatencyReport.PeakRssBytes(),
            };

            o.WriteLine($"backend: {engine.BackendDescription}");
            o.WriteLine(string.Create(ci, $"camera: {input} ({kind}{(isLive ? ", live: newest frame wins" : $", every frame, {feed.Passes} pass(es)")}), {feed.Width}x{feed.Height}, read {feed.FramesRead} frames ({feed.DroppedAtSource} dropped at the source, {camera?.Dropped ?? 0} before the pose front end, {stats.DroppedPoses} poses dropped)"));
            o.WriteLine(string.Create(ci, $"warm-up: {warmupRun} steps (asked {warmup}, at least L = {levels}), {warmupFrames} frames not measured"));
            o.WriteLine(string.Create(ci, $"{g2g.Count} frames measured ({steps} steps): {g2g.Count / seconds:F2} fps"));
            LatencyReport.PrintGlassToGlass(o, glass, camera);
            o.WriteLine(string.Create(ci, $"engine latency  {engineLatency["p50"]} ms p50, {engineLatency["p95"]} ms p95, {engineLatency["p99"]} ms p99, {engineLatency["max"]} ms max (pose image queued → frame out)"));
            o.WriteLine("session (the whole run, warm-up included):");
            LatencyReport.Print(o, stats);
            if (jsonPath is not null)
                LatencyReport.Write(jsonPath, result);
            return 0;
        });
    }

    /// <summary>The feeder: reads the source into the session (a file or folder again from its start at its end) until stopped.</summary>
    private sealed class Feed(string input, bool isLive, int wanted) : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();

        public Exception? Error { get; private set; }

        public long FramesRead { get; private set; }

        public long DroppedAtSource { get; private set; }

        public int Passes { get; private set; }

        public int Width { get; private set; }

        public int Height { get; private set; }

        public void Stop() => _stop.Cancel();

        public void Dispose() => _stop.Dispose();

        public void Run(AnimationSession session)
        {
            VideoSource? source = null;
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    source = VideoSource.Open(input, new VideoSourceOptions());
                    Passes++;
                    long before = FramesRead;
                    while (source.Read(_stop.Token) is { } f)
                    {
                        (Width, Height) = (f.Width, f.Height);
                        session.PushCameraFrame(f.Span, f.Width, f.Height, f.Width * 3, f.Timestamp, _stop.Token);
                        FramesRead++;
                    }

                    DroppedAtSource += source.Dropped;
                    source.Dispose();
                    source = null;
                    if (isLive)
                        throw new VideoSourceException(string.Create(CultureInfo.InvariantCulture, $"{input}: the live source ended after {FramesRead} frames, before {wanted} frames were measured."));
                    if (FramesRead == before)
                        throw new VideoSourceException($"{input}: no frame could be read.");
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
            catch (ObjectDisposedException) when (_stop.IsCancellationRequested)
            {
            }
            catch (Exception x)
            {
                // Anything: an exception escaping this thread would end the process.
                Error = x;
            }
            finally
            {
                if (source is not null)
                {
                    DroppedAtSource += source.Dropped;
                    source.Dispose();
                }

                try
                {
                    // After an error the reader gets the frames under way, then the end; stopped, the window is not drained.
                    session.CompleteInput(drain: !_stop.IsCancellationRequested);
                }
                catch (Exception x)
                {
                    // The session was disposed or closed by a fault (which the reader reports).
                    Error ??= _stop.IsCancellationRequested ? null : x;
                }
            }
        }
    }
}

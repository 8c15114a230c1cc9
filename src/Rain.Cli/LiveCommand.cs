using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Rain.Engine;
using Rain.Engine.Api;
using Rain.Engine.Bundle;
using Rain.Engine.Media;
using Rain.Engine.Pose;

namespace Rain.Cli;

/// <summary>
/// <c>rain live</c>: the whole live job. Camera-like frames from a <see cref="VideoSource"/> (file, V4L2 camera, network
/// stream, folder of images) are pushed into a session as camera frames (RAIN's pose front end runs on the session's pose
/// thread), and the animated frames go to a <see cref="FrameSink"/> (PNG folder, video file, network stream, raw stdout,
/// V4L2 loopback), optionally side by side with the camera and the pose images. A live status line goes to stderr and
/// <c>latency.json</c> holds glass-to-glass latency per frame and as percentiles, with the pose stage's own timings. When
/// the source fails, stalls, changes size or (a live one) ends, the run ends with exit 2 after every finished frame was
/// written and the report saved.
/// </summary>
internal static class LiveCommand
{
    public static Command Create()
    {
        var bundle = new Option<string>("--bundle") { Description = "model bundle folder with pose models (rain export --pose-detector/--pose-estimator)", Required = true };
        var reference = new Option<string>("--reference") { Description = "reference character image (PNG or JPEG)", Required = true };
        var input = new Option<string>("--input") { Description = "a video file, a V4L2 camera (/dev/video0), a stream URL (rtsp://, srt://, udp://, rtmp://, http(s)://) or a folder of images (name order)", Required = true };
        var output = new Option<string?>("--out") { Description = "a PNG folder, a video file (.mp4/.mkv/.mov), rtmp:// (FLV), srt:// or udp:// (MPEG-TS), - (raw rgb24 on stdout) or /dev/videoN (V4L2 loopback); none: frames are made and timed only" };
        var retarget = new Option<string?>("--retarget") { Description = "face retargeting JSON: RAIN's slider names or {\"translations\": […]}; default RAIN's live list" };
        var damping = new Option<int>("--damping-step") { Description = "face damping window in frames (RAIN's damping_step; live 1)", DefaultValueFactory = _ => 1 };
        var duration = new Option<double?>("--duration") { Description = "stop reading the input after this many seconds (the frames under way are still made)" };
        var realtime = new Option<bool>("--realtime") { Description = "read a file at its frame rate (a folder at 25 fps) and, like a camera, keep only the newest frame when the engine is slower" };
        var sideBySide = new Option<bool>("--side-by-side") { Description = "write camera | pose | animation side by side (three times the width)" };
        var stall = new Option<double>("--stall-timeout") { Description = "seconds without a frame after which the source counts as stalled (exit 2)", DefaultValueFactory = _ => 5 };
        var report = new Option<string?>("--report") { Description = "where latency.json goes (default: in the PNG folder, beside a video file, else ./latency.json)" };
        var seed = new Option<ulong>("--seed") { Description = "noise seed", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads (0 = all cores)", DefaultValueFactory = _ => 0 };
        var command = new Command("live", "Animate a reference image live from a camera, a video, a stream or a folder of images (RAIN's pose front end included), to files, a stream, stdout or a V4L2 device.")
        {
            bundle, reference, input, output, retarget, damping, duration, realtime, sideBySide, stall, report, seed, threads,
        };
        command.SetAction(r => Run(new LiveArguments(r.GetValue(bundle)!, r.GetValue(reference)!, r.GetValue(input)!, r.GetValue(output), r.GetValue(retarget), r.GetValue(damping),
            r.GetValue(duration), r.GetValue(realtime), r.GetValue(sideBySide), r.GetValue(stall), r.GetValue(report), r.GetValue(seed), r.GetValue(threads)), Console.Out, Console.Error));
        return command;
    }

    internal static int Run(LiveArguments a, TextWriter o, TextWriter e, Stream? stdout = null) =>
        CliErrors.Run("live", e, () =>
        {
            var info = a.Out == "-" ? e : o; // stdout carries the frames
            if (a.Duration is <= 0 or > 1e7)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--duration: expected seconds > 0, found {a.Duration}."));
            if (a.StallTimeout is <= 0 or > 3600)
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--stall-timeout: expected 0 < seconds <= 3600, found {a.StallTimeout}."));
            if (a.Out is not null)
                _ = FrameSink.KindOf(a.Out); // a scheme no sink writes is named before anything loads
            var manifest = ModelBundle.Load(a.Bundle, verifyHashes: false).Manifest;
            PoseFrontEndOptions pose;
            try
            {
                pose = new PoseFrontEndOptions
                {
                    Width = manifest.Width,
                    Height = manifest.Height,
                    DampingStep = a.DampingStep,
                    Retarget = a.Retarget is null ? RetargetOptions.Live : RetargetOptions.Load(a.Retarget),
                };
            }
            catch (ArgumentOutOfRangeException x) when (x.ParamName == nameof(PoseFrontEndOptions.DampingStep))
            {
                throw new ArgumentException("--damping-step: " + x.Message.Split(" (Parameter", 2)[0], x);
            }

            var referenceImage = ImageCodec.Load(a.Reference);
            var kind = VideoSource.KindOf(a.Input); // a missing camera or an unknown scheme is named before anything loads
            bool isLive = kind is VideoSourceKind.Camera or VideoSourceKind.Network || a.Realtime;
            // Live: latest frame wins in every queue, and the pose queue holds one step's worth (p), so a slow engine drops
            // frames instead of letting latency grow.
            var options = new EngineOptions { Seed = a.Seed, Threads = a.Threads, LatestFrameWins = isLive, InputCapacity = isLive ? 1 : 64, AttachPoseImages = a.SideBySide, PoseOptions = pose };
            using var engine = RainEngine.Load(a.Bundle, options);
            var frontEnd = engine.PoseFrontEnd; // the models load now: a bundle without them is named before streaming
            // Opened once the engine is ready: a file starts at its first frame, a camera's frames are not dropped while models load.
            using var source = VideoSource.Open(a.Input, new VideoSourceOptions { Realtime = a.Realtime, StallTimeout = TimeSpan.FromSeconds(a.StallTimeout) });
            int width = engine.Width * (a.SideBySide ? 3 : 1), height = engine.Height;
            string reportPath = a.Report ?? (a.Out is null ? "latency.json" : FrameSink.KindOf(a.Out) switch
            {
                FrameSinkKind.PngFolder => Path.Combine(a.Out, "latency.json"),
                FrameSinkKind.VideoFile => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(a.Out))!, "latency.json"),
                _ => "latency.json",
            });
            info.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"live: {a.Input} ({source.Kind}{(source.IsLive ? ", live: latest frame wins" : ", every frame")}) → pose front end ({frontEnd.EstimatorWidth}x{frontEnd.EstimatorHeight} DWPose, damping {frontEnd.Options.DampingStep}, " +
                $"{frontEnd.Retarget.Translations.Count} translations) → {engine.Bundle.Folder} ({engine.Width}x{engine.Height}, p={engine.FramesPerStep}) → {(a.Out is null ? "nowhere (timing only)" : a.Out)} ({width}x{height} rgb24{(a.SideBySide ? ", camera | pose | animation" : "")})"));

            var live = new LiveRun(a, source, engine, stdout, e, width, height);
            var result = live.Stream(referenceImage);

            var stats = result.Statistics;
            var json = LatencyReport.ToJson(stats, engine.Bundle.Folder, options, engine.BackendDescription);
            json["input"] = new JsonObject
            {
                ["source"] = a.Input,
                ["kind"] = source.Kind.ToString(),
                ["live"] = source.IsLive,
                ["realtime"] = a.Realtime,
                ["width"] = source.Width,
                ["height"] = source.Height,
                ["frame_rate"] = Math.Round(source.FrameRate, 3),
                ["frames_read"] = source.FramesRead,
                ["dropped_at_source"] = source.Dropped,
            };
            json["output"] = new JsonObject
            {
                ["target"] = a.Out,
                ["side_by_side"] = a.SideBySide,
                ["width"] = width,
                ["height"] = height,
                ["frames_written"] = result.Written,
            };
            json["ended"] = result.Ended;
            var g2g = LatencyReport.GlassToGlass(result.GlassToGlass);
            json["glass_to_glass_ms"] = g2g;
            var camera = stats.Camera;
            json["camera_frames_in"] = camera?.FramesIn ?? 0;
            json["camera_frames_dropped"] = camera?.Dropped ?? 0;
            json["pose_stage_ms"] = LatencyReport.PoseStage(camera);
            string? folder = Path.GetDirectoryName(Path.GetFullPath(reportPath));
            if (folder is not null)
                Directory.CreateDirectory(folder);
            LatencyReport.Write(reportPath, json);

            info.WriteLine($"backend: {engine.BackendDescription}");
            info.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{result.Ended}: read {source.FramesRead} frames ({source.Dropped} dropped at the source, {camera?.Dropped ?? 0} before the pose front end, {stats.DroppedPoses} poses dropped), " +
                $"wrote {result.Written} frames{(a.Out is null ? "" : $" to {a.Out}")}; {reportPath}"));
            LatencyReport.Print(info, stats);
            LatencyReport.PrintGlassToGlass(info, g2g, camera);

            if (result.Failure is not null)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(result.Failure);
            if (stats.FramesOut == 0)
                throw new RainException(RainErrorCategory.InvalidInput, $"{a.Input}: no frame was made ({source.FramesRead} frames read).");
            return 0;
        });

    /// <summary>One run: a feeder thread reads the source into the session; this thread writes the frames.</summary>
    private sealed class LiveRun(LiveArguments a, VideoSource source, RainEngine engine, Stream? stdout, TextWriter e, int width, int height)
    {
        private readonly ConcurrentDictionary<long, RgbImage>? _panels = a.SideBySide ? new() : null;

        public LiveResult Stream(RgbImage reference)
        {
            using var session = engine.CreateSession(reference);
            using var stop = new CancellationTokenSource();
            if (a.Duration is double d)
                stop.CancelAfter(TimeSpan.FromSeconds(d));
            void OnCancel(object? sender, ConsoleCancelEventArgs args)
            {
                args.Cancel = true; // Ctrl+C: stop reading, finish the frames under way, save the report
                stop.Cancel();
            }

            Console.CancelKeyPress += OnCancel;
            Exception? feedError = null, writeError = null;
            string ended = "end of input";
            var feeder = new Thread(() =>
            {
                try
                {
                    while (source.Read(stop.Token) is { } f)
                    {
                        if (_panels is not null)
                            _panels[f.Timestamp] = Panel(f, engine.Width, engine.Height);
                        session.PushCameraFrame(f.Span, f.Width, f.Height, f.Width * 3, f.Timestamp, stop.Token);
                    }

                    if (source.Kind is VideoSourceKind.Camera or VideoSourceKind.Network)
                        feedError = new VideoSourceException(string.Create(CultureInfo.InvariantCulture, $"{a.Input}: the live source ended after {source.FramesRead} frames."));
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    ended = a.Duration is null ? "stopped (Ctrl+C)" : "duration reached";
                }
                catch (Exception x)
                {
                    // Anything: an exception escaping this thread would end the process.
                    feedError = x;
                }
                finally
                {
                    source.Dispose(); // nothing more is read (a live source would go on dropping frames during the drain)
                    try
                    {
                        session.CompleteInput(); // the frames read so far are all made (the window is drained)
                    }
                    catch (ObjectDisposedException)
                    {
                    }
                }
            }) { IsBackground = true, Name = "rain-live-feeder" };
            feeder.Start();

            var g2g = new List<double>();
            var recent = new double[64];
            long written = 0;
            FrameSink? sink = null;
            byte[]? composed = a.SideBySide ? new byte[width * height * 3] : null;
            var status = new StatusLine(e);
            try
            {
                while (session.ReadFrame() is { } frame)
                {
                    using (frame)
                    {
                        g2g.Add(frame.LatencyMilliseconds);
                        recent[(g2g.Count - 1) % recent.Length] = frame.LatencyMilliseconds;
                        if (a.Out is not null)
                        {
                            sink ??= FrameSink.Open(a.Out, width, height, new FrameSinkOptions { FrameRate = source.FrameRate > 0 ? source.FrameRate : 16, StandardOutput = stdout });
                            sink.Write(composed is null ? frame.Image.Pixels : Compose(frame, composed));
                            written++;
                        }
                        else
                        {
                            _panels?.Clear();
                        }

                        status.Update(g2g.Count, recent.AsSpan(0, Math.Min(g2g.Count, recent.Length)), () => source.Dropped + (session.Statistics.Camera?.Dropped ?? 0));
                    }
                }
            }
            catch (Exception x)
            {
                writeError = x;
                stop.Cancel();
                session.Dispose(); // unblocks a feeder waiting on a full queue
            }
            finally
            {
                Console.CancelKeyPress -= OnCancel;
            }

            feeder.Join();
            source.Dispose();
            try
            {
                sink?.Dispose();
            }
            catch (Exception x) when (x is FrameSinkException or IOException)
            {
                writeError ??= x;
            }

            status.End();
            var failure = writeError ?? feedError;
            return new LiveResult(session.Statistics, g2g, written, failure is null ? ended : "ended by an error", failure);
        }

        // The camera frame fitted into the bundle's size (aspect kept, black bars), for side-by-side output.
        private static RgbImage Panel(SourceFrame f, int width, int height)
        {
            double scale = Math.Min(width / (double)f.Width, height / (double)f.Height);
            int w = Math.Clamp((int)Math.Round(f.Width * scale), 1, width), h = Math.Clamp((int)Math.Round(f.Height * scale), 1, height);
            var resized = PilResize.Resize(new RgbImage(f.Width, f.Height, f.Span.ToArray()), w, h, ResampleFilter.Bilinear);
            var panel = new RgbImage(width, height);
            int x0 = (width - w) / 2, y0 = (height - h) / 2;
            for (int y = 0; y < h; y++)
                resized.Pixels.AsSpan(y * w * 3, w * 3).CopyTo(panel.Pixels.AsSpan((((y0 + y) * width) + x0) * 3));
            return panel;
        }

        private byte[] Compose(AnimatedFrame frame, byte[] composed)
        {
            int w = engine.Width, h = engine.Height, row = w * 3;
            _panels!.TryRemove(frame.EnteredTimestamp, out var panel);
            foreach (long stamp in _panels.Keys)
            {
                if (stamp < frame.EnteredTimestamp)
                    _panels.TryRemove(stamp, out _); // frames dropped on the way
            }

            for (int y = 0; y < h; y++)
            {
                var line = composed.AsSpan(y * row * 3, row * 3);
                if (panel is null)
                    line[..row].Clear();
                else
                    panel.Pixels.AsSpan(y * row, row).CopyTo(line);
                frame.Pose!.Pixels.AsSpan(y * row, row).CopyTo(line[row..]);
                frame.Image.Pixels.AsSpan(y * row, row).CopyTo(line[(2 * row)..]);
            }

            return composed;
        }
    }

    /// <summary>The live status line: fps, glass-to-glass p50 of the last frames, drops; redrawn in place on a terminal, a line every 5 s otherwise.</summary>
    private sealed class StatusLine(TextWriter e)
    {
        private readonly bool _terminal = ReferenceEquals(e, Console.Error) && !Console.IsErrorRedirected;
        private readonly long _start = Stopwatch.GetTimestamp();
        private long _last = Stopwatch.GetTimestamp();
        private int _lastFrames;
        private bool _drawn;

        public void Update(int frames, ReadOnlySpan<double> recent, Func<long> drops)
        {
            var since = Stopwatch.GetElapsedTime(_last);
            if (since < TimeSpan.FromSeconds(_terminal ? 0.5 : 5))
                return;
            double fps = (frames - _lastFrames) / since.TotalSeconds;
            var sorted = recent.ToArray();
            Array.Sort(sorted);
            string text = string.Create(CultureInfo.InvariantCulture,
                $"{Stopwatch.GetElapsedTime(_start).TotalSeconds,6:F1} s  {frames,6} frames  {fps,5:F1} fps  glass-to-glass p50 {sorted[sorted.Length / 2],6:F0} ms  drops {drops()}");
            if (_terminal)
                e.Write("\r" + text);
            else
                e.WriteLine(text);
            (_last, _lastFrames, _drawn) = (Stopwatch.GetTimestamp(), frames, true);
        }

        public void End()
        {
            if (_drawn && _terminal)
                e.WriteLine();
        }
    }
}

/// <summary>The arguments of <c>rain live</c>.</summary>
internal sealed record LiveArguments(string Bundle, string Reference, string Input, string? Out, string? Retarget, int DampingStep, double? Duration, bool Realtime,
    bool SideBySide, double StallTimeout, string? Report, ulong Seed, int Threads);

/// <summary>What a live run made.</summary>
internal sealed record LiveResult(SessionStatistics Statistics, List<double> GlassToGlass, long Written, string Ended, Exception? Failure);

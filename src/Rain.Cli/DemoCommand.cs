using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Rain.Engine.Api;
using Rain.Engine.Backends.Cuda;
using Rain.Engine.Backends.TensorRt;
using Rain.Engine.Interop.TensorRt;
using Rain.Engine.Bundle;
using Rain.Engine.Media;
using Rain.Models.Bundle;
using Rain.Models.Config;

namespace Rain.Cli;

/// <summary>
/// <c>rain demo</c>: needs no weights. Exports the tiny RAIN-architecture preset with seeded random weights (cached by a
/// hash of the preset, the seed and the bundle format), draws a character and a moving face, streams them through the CPU
/// engine and writes the frames (PNG, and mp4 when ffmpeg is on PATH) and a latency report.
/// </summary>
internal static class DemoCommand
{
    private const string Preset = "tiny";
    private const int MaxSteps = 1_000_000; // p poses each: enough for hours of frames, far from overflowing an int

    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "output folder", DefaultValueFactory = _ => "rain-demo" };
        var steps = new Option<int>("--steps") { Description = "pose chunks to stream (p poses each; every pose gets its frame, the first after L-1 steps)", DefaultValueFactory = _ => 40 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the random weights and of the noise", DefaultValueFactory = _ => 42 };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads (0 = all cores)", DefaultValueFactory = _ => 0 };
        var cache = new Option<string?>("--cache") { Description = "bundle cache folder (default $XDG_CACHE_HOME/rain or ~/.cache/rain)" };
        var command = new Command("demo", "Animate a procedurally drawn character with a moving face on a small random-weight RAIN model (no downloads): frames, video and latency report.")
        {
            output, steps, seed, threads, cache,
        };
        var backend = new BackendOptions();
        backend.AddTo(command);
        var trace = new TraceOptions();
        trace.AddTo(command);
        command.SetAction(r => Run(r.GetValue(output)!, r.GetValue(steps), r.GetValue(seed), r.GetValue(threads), r.GetValue(cache), Console.Out, Console.Error, backend.Get(r), trace.Get(r)));
        return command;
    }

    internal static int Run(string output, int steps, ulong seed, int threads, string? cache, TextWriter o, TextWriter e, BackendChoice? backend = null, TraceRequest? trace = null)
    {
        if (steps is < 1 or > MaxSteps)
        {
            e.WriteLine($"rain demo: --steps must be 1 to {MaxSteps}.");
            return CliErrors.BadInput;
        }

        return CliErrors.Run("demo", e, () =>
        {
            // Before the export: fail at once without TensorRT or a GPU.
            var tensorRt = backend?.Backend == EngineBackend.TensorRt ? TrtBackendProbe.ProbeRuntime(backend.TensorRtDirectory, () => CudaDevice.Probe(backend.Device)).Library : null;
            string bundle = CachedBundle(cache, seed, o, e);
            if (tensorRt is not null)
                BuildPlans(bundle, tensorRt, backend!.Device, o, e);
            // The scene is generated faster than the engine steps; a queue of one chunk (the tiny preset's p = 4) keeps the pusher just ahead, so the
            // reported latency is the pipeline's (L steps in the window) rather than time spent waiting in a long queue.
            trace ??= TraceRequest.None;
            var traceWriter = trace.CreateWriter("demo");
            var options = (backend ?? BackendChoice.Cpu).Apply(new EngineOptions { Seed = seed, Threads = threads, InputCapacity = 4, Trace = traceWriter });
            using var engine = RainEngine.Load(bundle, options);
            Directory.CreateDirectory(output);
            var reference = DemoScene.Reference(engine.Width, engine.Height);
            ImageCodec.SavePng(reference, Path.Combine(output, "reference.png"));
            int poses = steps * engine.FramesPerStep;
            string? ffmpeg = FfmpegVideo.Find();
            string frames = Path.Combine(output, "frames");
            if (Directory.Exists(frames))
                Directory.Delete(frames, recursive: true);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"streaming {poses} poses of {engine.Width}x{engine.Height} ({steps} chunks of p={engine.FramesPerStep}; the window is drained at the end, so every pose gets its frame) on the {(options.Backend == EngineBackend.Cpu ? "CPU" : options.Backend.ToString())}"));
            void Save(SessionStatistics stats)
            {
                LatencyReport.Write(Path.Combine(output, "latency.json"), LatencyReport.ToJson(stats, bundle, options, engine.BackendDescription));
                o.WriteLine($"backend: {engine.BackendDescription}");
                o.WriteLine($"wrote {stats.FramesOut} frames to {frames}/" + (ffmpeg is null ? " (ffmpeg not found on PATH: no mp4, PNG frames only)" : $", {Path.Combine(output, "demo.mp4")}") + $", {Path.Combine(output, "latency.json")}");
                LatencyReport.Print(o, stats);
                trace.Finish(traceWriter, string.Create(CultureInfo.InvariantCulture, $"rain demo, {engine.Width}x{engine.Height}, p={engine.FramesPerStep}, {options.Backend}: {stats.FramesPerSecond:F1} fps, step p50 {stats.StepTime.P50:F0} ms, frame latency p50 {stats.FrameLatency.P50:F0} ms"), o);
            }

            using (var video = ffmpeg is null ? null : FfmpegVideo.OpenWriter(ffmpeg, Path.Combine(output, "demo.mp4"), engine.Width, engine.Height, 16))
                StreamRun.Run(engine, reference, Enumerable.Range(0, poses).Select(i => DemoScene.Pose(i, engine.Width, engine.Height)), frames, video, e, poses, Save);
            return 0;
        });
    }

    /// <summary>
    /// The demo's TensorRT plans, as <c>onnx2trt</c> builds them (FP16 where the TensorRT version has the flag, FP32 on 11.x):
    /// only missing or stale plans are built, so a second demo run reuses them.
    /// </summary>
    internal static void BuildPlans(string bundlePath, TrtLibrary library, int device, TextWriter o, TextWriter e)
    {
        var settings = new EngineBuildSettings { Fp16 = library.Enums.BuilderFlagFp16 is not null, Device = device };
        var (_, sm) = EngineBuilder.Prepare(settings, library);
        var bundle = ModelBundle.Load(bundlePath);
        Rain.Models.Onnx.UNetForms.Write(bundle, settings.UNet, settings.Fp16);
        var build = EngineBuilder.BuildBundle(bundle, settings, library, sm, (i, n, r) => ExportCommand.Progress(e, i, n, $"TensorRT plans ({r.Part})"));
        var results = build.Parts;
        e.WriteLine();
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"TensorRT {library.VersionText} plans for sm{sm}: {results.Count(r => r.Built)} built, {results.Count(r => !r.Built)} reused ({build.Folder})"));
    }

    /// <summary>The demo bundle: reused from the cache when present and valid, exported otherwise.</summary>
    internal static string CachedBundle(string? cache, ulong seed, TextWriter o, TextWriter e, (string Detector, string Estimator)? poseModels = null)
    {
        cache ??= Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "rain");
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{RainPresets.Hash(Preset)}|seed {seed}|format {BundleManifest.CurrentFormatVersion}{PoseKey(poseModels)}"))))[..16];
        string folder = Path.Combine(cache, "bundles", poseModels is null ? $"{Preset}-{key}" : $"{Preset}-pose-{key}");
        if (File.Exists(Path.Combine(folder, ModelBundle.ManifestFileName)))
        {
            try
            {
                ModelBundle.Load(folder);
                o.WriteLine($"bundle: {folder} (cached)");
                return folder;
            }
            catch (BundleException x)
            {
                o.WriteLine($"cached bundle unusable ({x.Message}); exporting again");
            }
        }

        string root = Directory.CreateTempSubdirectory("rain-preset-").FullName;
        try
        {
            // BundleExport writes beside the cache folder and moves the bundle into place when complete.
            var rain = RainConfig.Load(RainPresets.Materialize(Preset, root));
            BundleExport.Write(rain, folder, seed, (done, total, name) => ExportCommand.Progress(e, done, total, name), $"preset '{Preset}'", poseModels);
            e.WriteLine();
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }

        o.WriteLine($"bundle: {folder} (exported: the '{Preset}' preset with random weights, seed {seed}{(poseModels is null ? "" : ", with pose models")})");
        return folder;
    }

    // The pose models' contents join the cache key: other models, another bundle.
    private static string PoseKey((string Detector, string Estimator)? poseModels) =>
        poseModels is { } pm ? $"|pose {ModelBundle.Sha256Of(pm.Detector)} {ModelBundle.Sha256Of(pm.Estimator)}" : "";
}

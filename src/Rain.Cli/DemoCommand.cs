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

    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "output folder", DefaultValueFactory = _ => "rain-demo" };
        var steps = new Option<int>("--steps") { Description = "stream steps (p poses in, p frames out each; the first L-1 steps emit nothing)", DefaultValueFactory = _ => 40 };
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
        if (steps < 1)
        {
            e.WriteLine("rain demo: --steps must be at least 1.");
            return 2;
        }

        try
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
                $"streaming {steps} steps ({poses} poses of {engine.Width}x{engine.Height}, p={engine.FramesPerStep}, first frames after {engine.StartupSteps} steps) on the {(options.Backend == EngineBackend.Cpu ? "CPU" : options.Backend.ToString())}"));
            SessionStatistics stats;
            using (var video = ffmpeg is null ? null : FfmpegVideo.OpenWriter(ffmpeg, Path.Combine(output, "demo.mp4"), engine.Width, engine.Height, 16))
                stats = StreamRun.Run(engine, reference, Enumerable.Range(0, poses).Select(i => DemoScene.Pose(i, engine.Width, engine.Height)), frames, video, e, poses);
            LatencyReport.Write(Path.Combine(output, "latency.json"), LatencyReport.ToJson(stats, bundle, options, engine.BackendDescription));
            o.WriteLine($"backend: {engine.BackendDescription}");
            o.WriteLine($"wrote {stats.FramesOut} frames to {frames}/" + (ffmpeg is null ? " (ffmpeg not found on PATH: no mp4, PNG frames only)" : $", {Path.Combine(output, "demo.mp4")}") + $", {Path.Combine(output, "latency.json")}");
            LatencyReport.Print(o, stats);
            trace.Finish(traceWriter, string.Create(CultureInfo.InvariantCulture, $"rain demo, {engine.Width}x{engine.Height}, p={engine.FramesPerStep}, {options.Backend}: {stats.FramesPerSecond:F1} fps, step p50 {stats.StepTime.P50:F0} ms, frame latency p50 {stats.FrameLatency.P50:F0} ms"), o);
            return 0;
        }
        catch (Exception x) when (x is BundleException or IOException or UnauthorizedAccessException or Rain.Models.Weights.ModelExportException
            or BackendUnavailableException or NotSupportedException or TrtException or ArgumentException)
        {
            e.WriteLine($"rain demo: {x.Message}");
            return 2;
        }
    }

    /// <summary>
    /// The demo's TensorRT plans, as <c>onnx2trt</c> builds them (FP16 where the TensorRT version has the flag, FP32 on 11.x):
    /// only missing or stale plans are built, so a second demo run reuses them.
    /// </summary>
    private static void BuildPlans(string bundlePath, TrtLibrary library, int device, TextWriter o, TextWriter e)
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

    /// <summary>The demo bundle: reused from the cache when present and valid, exported (to a temporary folder, then moved) otherwise.</summary>
    internal static string CachedBundle(string? cache, ulong seed, TextWriter o, TextWriter e)
    {
        cache ??= Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "rain");
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{RainPresets.Hash(Preset)}|seed {seed}|format {BundleManifest.CurrentFormatVersion}"))))[..16];
        string folder = Path.Combine(cache, "bundles", $"{Preset}-{key}");
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

        string temp = folder + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        string root = Directory.CreateTempSubdirectory("rain-preset-").FullName;
        try
        {
            var rain = RainConfig.Load(RainPresets.Materialize(Preset, root));
            BundleExport.Write(rain, temp, seed, (done, total, name) => ExportCommand.Progress(e, done, total, name), $"preset '{Preset}'");
            e.WriteLine();
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
            Directory.Move(temp, folder);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
            if (Directory.Exists(temp))
                Directory.Delete(temp, recursive: true);
        }

        o.WriteLine($"bundle: {folder} (exported: the '{Preset}' preset with random weights, seed {seed})");
        return folder;
    }
}

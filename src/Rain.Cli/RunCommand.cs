using System.CommandLine;
using System.Globalization;
using Rain.Engine.Api;
using Rain.Engine.Media;

namespace Rain.Cli;

/// <summary><c>rain run</c>: a reference image and a pose sequence (a folder of images, or a video through ffmpeg) → frames.</summary>
internal static class RunCommand
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg"];
    private static readonly string[] VideoExtensions = [".mp4", ".mov", ".avi", ".mkv", ".webm"];

    public static Command Create()
    {
        var bundle = new Option<string>("--bundle") { Description = "model bundle folder (rain export)", Required = true };
        var reference = new Option<string>("--reference") { Description = "reference character image (PNG or JPEG)", Required = true };
        var poses = new Option<string>("--poses") { Description = "a folder of pose images (sorted by name; the bundle's size) or a video (decoded and scaled by ffmpeg)", Required = true };
        var output = new Option<string>("--out") { Description = "output folder for PNG frames, or a .mp4 file (needs ffmpeg)", Required = true };
        var seed = new Option<ulong>("--seed") { Description = "noise seed", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads (0 = all cores)", DefaultValueFactory = _ => 0 };
        var latest = new Option<bool>("--latest-frame-wins") { Description = "drop the oldest pending pose when the input queue is full (live input)" };
        var command = new Command("run", "Animate a reference image from a pose sequence (CPU engine, or --backend tensorrt); frames as PNG files or an mp4, with a latency summary.")
        {
            bundle, reference, poses, output, seed, threads, latest,
        };
        var backend = new BackendOptions();
        backend.AddTo(command);
        var trace = new TraceOptions();
        trace.AddTo(command);
        command.SetAction(r => Run(r.GetValue(bundle)!, r.GetValue(reference)!, r.GetValue(poses)!, r.GetValue(output)!, r.GetValue(seed), r.GetValue(threads), r.GetValue(latest), Console.Out, Console.Error, backend.Get(r), trace.Get(r)));
        return command;
    }

    internal static int Run(string bundlePath, string referencePath, string posesPath, string output, ulong seed, int threads, bool latestFrameWins, TextWriter o, TextWriter e, BackendChoice? backend = null, TraceRequest? trace = null) =>
        CliErrors.Run("run", e, () =>
        {
            string? ffmpeg = FfmpegVideo.Find();
            bool videoIn = File.Exists(posesPath) && VideoExtensions.Contains(Path.GetExtension(posesPath).ToLowerInvariant());
            if (videoIn && ffmpeg is null)
                throw new IOException($"{posesPath}: reading a video needs ffmpeg on PATH, which was not found; give a folder of pose images instead.");
            if (!videoIn && !Directory.Exists(posesPath))
                throw new IOException($"{posesPath}: not a folder of pose images or a video file ({string.Join(", ", VideoExtensions)}).");
            var referenceImage = ImageCodec.Load(referencePath);
            trace ??= TraceRequest.None;
            var traceWriter = trace.CreateWriter("run");
            var options = (backend ?? BackendChoice.Cpu).Apply(new EngineOptions { Seed = seed, Threads = threads, LatestFrameWins = latestFrameWins, Trace = traceWriter });
            using var engine = RainEngine.Load(bundlePath, options);

            bool videoOut = output.EndsWith(".mp4", StringComparison.OrdinalIgnoreCase);
            string reportFolder = videoOut ? Path.GetDirectoryName(Path.GetFullPath(output))! : output;
            string? pngFolder = videoOut ? null : output;
            if (videoOut && ffmpeg is null)
            {
                pngFolder = Path.ChangeExtension(output, null) + "_frames";
                e.WriteLine($"rain run: ffmpeg not found on PATH; writing PNG frames to {pngFolder} instead of {output}.");
            }

            Directory.CreateDirectory(reportFolder);
            IEnumerable<RgbImage> poses;
            int count;
            if (videoIn)
            {
                poses = FfmpegVideo.ReadFrames(ffmpeg!, posesPath, engine.Width, engine.Height);
                count = 0;
            }
            else
            {
                var files = Directory.EnumerateFiles(posesPath).Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToList();
                if (files.Count == 0)
                    throw new IOException($"{posesPath}: no pose images ({string.Join(", ", ImageExtensions)}) in the folder.");
                poses = files.Select(f => ImageCodec.Load(f, engine.Width, engine.Height));
                count = files.Count;
            }

            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"streaming {(count > 0 ? count.ToString(CultureInfo.InvariantCulture) : "the video's")} poses through {engine.Bundle.Folder} ({engine.Width}x{engine.Height}, p={engine.FramesPerStep})"));
            string report = Path.Combine(reportFolder, "latency.json");
            void Save(SessionStatistics stats)
            {
                LatencyReport.Write(report, LatencyReport.ToJson(stats, engine.Bundle.Folder, options, engine.BackendDescription));
                o.WriteLine($"backend: {engine.BackendDescription}");
                o.WriteLine($"wrote {stats.FramesOut} frames to {pngFolder ?? output}; {report}");
                LatencyReport.Print(o, stats);
                trace.Finish(traceWriter, string.Create(CultureInfo.InvariantCulture, $"rain run, {engine.Width}x{engine.Height}, p={engine.FramesPerStep}, {options.Backend}: {stats.FramesPerSecond:F1} fps, step p50 {stats.StepTime.P50:F0} ms, frame latency p50 {stats.FrameLatency.P50:F0} ms"), o);
            }

            using (var video = videoOut && ffmpeg is not null ? FfmpegVideo.OpenWriter(ffmpeg, output, engine.Width, engine.Height, 16) : null)
                StreamRun.Run(engine, referenceImage, poses, pngFolder, video, e, count, Save);
            return 0;
        });
}

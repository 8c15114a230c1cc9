using System.CommandLine;
using System.Globalization;
using Rain.Engine.Bundle;
using Rain.Engine.Media;
using Rain.Engine.Pose;
using Rain.Engine.Tensors;

namespace Rain.Cli;

/// <summary>
/// <c>rain poses</c>: RAIN's pose front end alone — camera-like frames (a folder of images in name order, or a video through
/// ffmpeg) to RAIN's pose images (<c>pose_00000.png</c> …), for offline use and debugging; optionally the drawn face
/// landmarks of every frame as safetensors.
/// </summary>
internal static class PosesCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--input") { Description = "a folder of images (taken in name order as one sequence), a video file, a V4L2 camera (/dev/video0) or a stream URL (rtsp://, srt://, udp://, http(s)://); videos, cameras and streams are decoded by ffmpeg at their own size", Required = true };
        var output = new Option<string>("--out") { Description = "output folder for pose_00000.png …", Required = true };
        var detector = new Option<string?>("--detector") { Description = "YOLOX person detector (RAIN's yolox_s.onnx)" };
        var estimator = new Option<string?>("--estimator") { Description = "DWPose model (dw-ll_ucoco_384.onnx or dw-mm_ucoco.onnx)" };
        var bundle = new Option<string?>("--bundle") { Description = "take both models from a bundle (rain export with pose models) instead; the pose size defaults to the bundle's image size" };
        var size = new Option<string?>("--size") { Description = "pose image (detection) size WxH (default 512x512, RAIN's; with --bundle the bundle's size)" };
        var retarget = new Option<string?>("--retarget") { Description = "face retargeting JSON: RAIN's slider names ({\"eye_height_ratio\": 3.0, …}) or {\"translations\": […]}; default RAIN's live list" };
        var damping = new Option<int>("--damping-step") { Description = "face damping window in frames (RAIN's damping_step; live 1)", DefaultValueFactory = _ => 1 };
        var keypoints = new Option<string?>("--keypoints") { Description = "also write the drawn face landmarks: safetensors with frameNNNNN.face [68, 2] float64, normalised" };
        var crop = new Option<string>("--crop") { Description = "web-UI centre crop before detection, in (0, 1], or 'none' (default 0.9, RAIN's for camera frames)", DefaultValueFactory = _ => "0.9" };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads per model (0 = all cores)", DefaultValueFactory = _ => 0 };
        var command = new Command("poses", "Make RAIN's pose images from camera-like frames (a folder of images or a video) with RAIN's DWPose front end: YOLOX, DWPose, face cache, retargeting, 26 circles.")
        {
            input, output, detector, estimator, bundle, size, retarget, damping, keypoints, crop, threads,
        };
        command.SetAction(r => Run(new PosesArguments(r.GetValue(input)!, r.GetValue(output)!, r.GetValue(detector), r.GetValue(estimator), r.GetValue(bundle), r.GetValue(size),
            r.GetValue(retarget), r.GetValue(damping), r.GetValue(keypoints), r.GetValue(crop)!, r.GetValue(threads)), Console.Out, Console.Error));
        return command;
    }

    internal static int Run(PosesArguments a, TextWriter o, TextWriter e)
    {
        try
        {
            using var frontEnd = Open(a);
            using var source = VideoSource.Open(a.Input, new VideoSourceOptions { FolderSizesMayVary = true });
            int? count = source.FrameCount;
            Directory.CreateDirectory(a.Output);
            var faces = a.Keypoints is null ? null : new List<(string, long[], double[])>();
            var pose = new RgbImage(frontEnd.Width, frontEnd.Height);
            double detector = 0, estimator = 0, other = 0;
            int n = 0;
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"pose front end: {frontEnd.DetectorPath} + {frontEnd.EstimatorPath} ({frontEnd.EstimatorWidth}x{frontEnd.EstimatorHeight}), pose images {frontEnd.Width}x{frontEnd.Height}, " +
                $"centre crop {(frontEnd.Options.CenterCrop is double c ? c.ToString(CultureInfo.InvariantCulture) : "none")}, damping {frontEnd.Options.DampingStep}, {frontEnd.Retarget.Translations.Count} translations"));
            while (source.Read() is { } frame)
            {
                PoseFrame result;
                try
                {
                    result = frontEnd.Process(frame.Span, frame.Width, frame.Height, frame.Width * 3, pose.Pixels);
                }
                catch (ArgumentException x)
                {
                    throw new ArgumentException($"{frame.Name ?? string.Create(CultureInfo.InvariantCulture, $"{a.Input} frame {frame.Index}")}: {x.Message}", x);
                }

                ImageCodec.SavePng(pose, Path.Combine(a.Output, string.Create(CultureInfo.InvariantCulture, $"pose_{n:D5}.png")));
                faces?.Add((string.Create(CultureInfo.InvariantCulture, $"frame{n:D5}.face"), [68, 2], result.Face.ToArray()));
                (detector, estimator, other) = (detector + result.Timings.DetectorMilliseconds, estimator + result.Timings.EstimatorMilliseconds, other + result.Timings.OtherMilliseconds);
                n++;
                if (n % 16 == 0 || n == count)
                    ExportCommand.Progress(e, n, Math.Max(count ?? n, n), "pose images");
            }

            e.WriteLine();
            if (n == 0)
                throw new IOException($"{a.Input}: no frames.");
            if (faces is not null)
                SafetensorsWriter.Write(a.Keypoints!, faces);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {n} pose images to {a.Output}{(a.Keypoints is null ? "" : $" and the drawn faces to {a.Keypoints}")}; per frame: detector {detector / n:F1} ms, pose model {estimator / n:F1} ms, the rest {other / n:F2} ms"));
            return 0;
        }
        catch (Exception x) when (x is PoseModelException or BundleException or ImageFormatException or VideoSourceException or IOException or UnauthorizedAccessException or ArgumentException or FormatException)
        {
            e.WriteLine();
            e.WriteLine($"rain poses: {x.Message}");
            return 2;
        }
    }

    private static PoseFrontEnd Open(PosesArguments a)
    {
        if (a.Bundle is not null && (a.Detector is not null || a.Estimator is not null))
            throw new ArgumentException("give either --bundle or --detector and --estimator, not both.");
        if (a.Bundle is null && (a.Detector is null || a.Estimator is null))
            throw new ArgumentException("give --detector DET.onnx and --estimator POSE.onnx (RAIN's yolox_s.onnx and dw-ll_ucoco_384.onnx), or --bundle B with pose models.");
        var bundle = a.Bundle is null ? null : ModelBundle.Load(a.Bundle);
        var (width, height) = a.Size is null ? bundle is null ? (512, 512) : (bundle.Manifest.Width, bundle.Manifest.Height) : ParseSize(a.Size);
        double? crop = a.Crop.Equals("none", StringComparison.OrdinalIgnoreCase)
            ? null
            : double.TryParse(a.Crop, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) ? f : throw new ArgumentException($"--crop: expected a number in (0, 1] or 'none', found '{a.Crop}'.");
        PoseFrontEndOptions options;
        try
        {
            options = new PoseFrontEndOptions
            {
                Width = width,
                Height = height,
                CenterCrop = crop,
                DampingStep = a.DampingStep,
                Threads = a.Threads,
                Retarget = a.Retarget is null ? RetargetOptions.Live : RetargetOptions.Load(a.Retarget),
            };
        }
        catch (ArgumentOutOfRangeException x)
        {
            throw new ArgumentException(x.ParamName switch
            {
                nameof(PoseFrontEndOptions.CenterCrop) => "--crop",
                nameof(PoseFrontEndOptions.DampingStep) => "--damping-step",
                nameof(PoseFrontEndOptions.Threads) => "--threads",
                _ => "--size",
            } + ": " + x.Message.Split(" (Parameter", 2)[0], x);
        }

        return bundle is null ? PoseFrontEnd.Load(a.Detector!, a.Estimator!, options) : PoseFrontEnd.Load(bundle, options);
    }

    private static (int, int) ParseSize(string text)
    {
        var parts = text.Split('x', 'X');
        return parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int w) && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h)
            ? (w, h)
            : throw new ArgumentException($"--size: expected WxH (for example 512x512), found '{text}'.");
    }
}

/// <summary>The arguments of <c>rain poses</c>.</summary>
internal sealed record PosesArguments(string Input, string Output, string? Detector, string? Estimator, string? Bundle, string? Size, string? Retarget, int DampingStep, string? Keypoints, string Crop, int Threads);

using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Rain.Models.Bundle;
using Rain.Models.Config;

namespace Rain.Cli;

/// <summary><c>rain export</c>: a RAIN checkout (configs + weights), or a config with seeded random weights, → a model bundle.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var root = new Option<string?>("--rain-root") { Description = "RAIN checkout (configs/ and the weights the yaml names); paths in the yaml are relative to it" };
        var config = new Option<string?>("--config") { Description = "the RAIN yaml, relative to --rain-root (default configs/rain_morpher.yaml) or absolute" };
        var preset = new Option<string?>("--preset") { Description = "a built-in config set instead of --rain-root: tiny (the demo's) or bench (RAIN's widths at 128x128); implies --random-weights" };
        var output = new Option<string>("--out") { Description = "bundle folder to write", Required = true };
        var random = new Option<bool>("--random-weights") { Description = "seeded random weights of the configured shapes instead of the checkpoints" };
        var seed = new Option<ulong>("--seed") { Description = "seed of --random-weights", DefaultValueFactory = _ => 0 };
        var detector = new Option<string?>("--pose-detector") { Description = "RAIN's YOLOX person detector (yolox_s.onnx) for the pose front end; overrides the yaml's dwpose_detection_model_path" };
        var estimator = new Option<string?>("--pose-estimator") { Description = "RAIN's DWPose model (dw-ll_ucoco_384.onnx or dw-mm_ucoco.onnx); overrides the yaml's dwpose_landmark_model_path" };
        var command = new Command("export", "Export RAIN's networks as a model bundle (bundle.json + ONNX parts, and RAIN's DWPose models when available) for the engine.")
        {
            root, config, preset, output, random, seed, detector, estimator,
        };
        command.SetAction(r => Run(r.GetValue(root), r.GetValue(config), r.GetValue(preset), r.GetValue(output)!, r.GetValue(random), r.GetValue(seed), Console.Out, Console.Error,
            r.GetValue(detector), r.GetValue(estimator)));
        return command;
    }

    internal static int Run(string? rainRoot, string? config, string? preset, string output, bool random, ulong seed, TextWriter o, TextWriter e,
        string? poseDetector = null, string? poseEstimator = null)
    {
        string? temp = null;
        try
        {
            return CliErrors.Run("export", e, () =>
            {
                string yaml;
                if (preset is not null)
                {
                    temp = Directory.CreateTempSubdirectory("rain-preset-").FullName;
                    yaml = RainPresets.Materialize(preset, temp);
                    random = true;
                }
                else if (rainRoot is not null)
                {
                    yaml = Path.Combine(rainRoot, config ?? Path.Combine("configs", "rain_morpher.yaml"));
                }
                else if (config is not null)
                {
                    yaml = config;
                }
                else
                {
                    e.WriteLine("rain export: give --rain-root DIR (a RAIN checkout), --config FILE, or --preset tiny|bench.");
                    return CliErrors.BadInput;
                }

                var rain = RainConfig.Load(yaml, rainRoot is null ? null : Path.GetFullPath(rainRoot));
                var pose = PoseModels(rain, preset is null, poseDetector, poseEstimator, e);
                var clock = Stopwatch.StartNew();
                var manifest = BundleExport.Write(rain, output, random ? seed : null, (done, total, name) => Progress(e, done, total, name), preset is null ? null : $"preset '{preset}'", pose);
                e.WriteLine();
                long bytes = Directory.EnumerateFiles(output).Sum(f => new FileInfo(f).Length);
                o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"wrote {output}: {manifest.Parts.Count} ONNX parts, {bytes / 1e6:F1} MB, {manifest.Width}x{manifest.Height}, p={manifest.FramesPerLevel} L={manifest.Levels}, timesteps [{string.Join(", ", manifest.Timesteps)}], {manifest.Source} ({clock.Elapsed.TotalSeconds:F1} s)"));
                if (manifest.PoseModels is { } pm)
                {
                    o.WriteLine($"pose models: detector {pose!.Value.Detector} ({string.Join("; ", pm.Detector.Inputs.Select(c => c.ToString()))}), " +
                        $"estimator {pose.Value.Estimator} ({string.Join("; ", pm.Estimator.Inputs.Select(c => c.ToString()))})");
                }
                else
                {
                    o.WriteLine("pose models: none (the bundle animates pose images; add --pose-detector and --pose-estimator for camera input)");
                }

                return 0;
            });
        }
        finally
        {
            if (temp is not null)
                Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>
    /// The pose models to copy in: each option overrides the yaml's path. Paths the yaml names for a RAIN checkout but that
    /// do not exist are reported and left out (the bundle still animates pose images); a model given on the command line
    /// must exist, and the two come as a pair.
    /// </summary>
    private static (string Detector, string Estimator)? PoseModels(RainConfig rain, bool fromYaml, string? detector, string? estimator, TextWriter e)
    {
        var (yamlDetector, yamlEstimator) = fromYaml ? PoseModelExport.FromConfig(rain) : (null, null);
        if (detector is null && estimator is null && (yamlDetector is null || yamlEstimator is null || !File.Exists(yamlDetector) || !File.Exists(yamlEstimator)))
        {
            var missing = new[] { (yamlDetector, PoseModelExport.DetectorKey), (yamlEstimator, PoseModelExport.EstimatorKey) }.Where(p => p.Item1 is not null && !File.Exists(p.Item1)).ToList();
            if (missing.Count > 0)
            {
                e.WriteLine($"rain export: {string.Join(", ", missing.Select(m => $"{m.Item2} names {m.Item1}, which does not exist"))}; " +
                    "exporting without pose models (give --pose-detector and --pose-estimator to add them).");
            }

            return null;
        }

        detector ??= yamlDetector;
        estimator ??= yamlEstimator;
        if (detector is null || estimator is null)
        {
            throw new ArgumentException($"the pose models come as a pair: give {(detector is null ? "--pose-detector" : "--pose-estimator")} too " +
                $"({(detector is null ? PoseModelExport.DetectorKey : PoseModelExport.EstimatorKey)} is not in {rain.Path}).");
        }

        return (Path.GetFullPath(detector), Path.GetFullPath(estimator));
    }

    /// <summary>
    /// A one-line console progress bar on stderr, redrawn in place; when stderr is redirected to a file (logs, CI) a
    /// plain line every tenth of the way instead, so the log stays readable.
    /// </summary>
    internal static void Progress(TextWriter e, int done, int total, string name)
    {
        const int Width = 30;
        int filled = (int)Math.Round(Width * Math.Min(1.0, done / (double)total));
        string bar = string.Create(CultureInfo.InvariantCulture, $"[{new string('#', filled)}{new string('.', Width - filled)}] {done,3}/{total} {name,-24}");
        if (!ReferenceEquals(e, Console.Error) || !Console.IsErrorRedirected)
            e.Write("\r" + bar);
        else if (done == total || done % Math.Max(1, total / 10) == 0)
            e.WriteLine(bar.TrimEnd());
    }
}

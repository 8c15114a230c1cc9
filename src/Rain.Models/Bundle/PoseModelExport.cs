using Rain.Engine.Bundle;
using Rain.Engine.Pose;
using Rain.Models.Config;
using Rain.Models.Weights;

namespace Rain.Models.Bundle;

/// <summary>
/// RAIN's two DWPose models in a bundle (<c>pose_models</c> in <c>bundle.json</c>): the YOLOX person detector and the
/// DWPose/RTMPose whole-body model, copied in as <c>pose_detector.onnx</c> and <c>pose_estimator.onnx</c> with their
/// contracts (read from the models) and sha256. They are checked by loading them as RAIN's pose front end, so a bundle
/// never carries a pose model the engine cannot run.
/// </summary>
public static class PoseModelExport
{
    /// <summary>The yaml key of the detector (<c>configs/rain_morpher.yaml</c>).</summary>
    public const string DetectorKey = "dwpose_detection_model_path";

    /// <summary>The yaml key of the pose model.</summary>
    public const string EstimatorKey = "dwpose_landmark_model_path";

    /// <summary>The detector's file name inside a bundle.</summary>
    public const string DetectorFile = "pose_detector.onnx";

    /// <summary>The pose model's file name inside a bundle.</summary>
    public const string EstimatorFile = "pose_estimator.onnx";

    /// <summary>The two model paths a RAIN yaml names (resolved against its RAIN root); null where a key is absent.</summary>
    public static (string? Detector, string? Estimator) FromConfig(RainConfig rain)
    {
        ArgumentNullException.ThrowIfNull(rain);
        return (RainConfig.Has(rain.RootMap, DetectorKey) ? rain.ResolvePath(DetectorKey) : null,
            RainConfig.Has(rain.RootMap, EstimatorKey) ? rain.ResolvePath(EstimatorKey) : null);
    }

    /// <summary>Copies <paramref name="detector"/> and <paramref name="estimator"/> into <paramref name="folder"/> and returns their manifest entry.</summary>
    /// <exception cref="ModelExportException">A file is missing, or the two do not load as RAIN's pose models (the message says why).</exception>
    public static PoseModelsManifest Write(string folder, string detector, string estimator)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(estimator);
        foreach (var (path, what) in new[] { (detector, "pose detector (YOLOX, e.g. yolox_s.onnx)"), (estimator, "pose estimator (DWPose, e.g. dw-ll_ucoco_384.onnx)") })
        {
            if (!File.Exists(path))
                throw new ModelExportException($"{path}: the {what} does not exist.");
        }

        Directory.CreateDirectory(folder);
        string det = Path.Combine(folder, DetectorFile), est = Path.Combine(folder, EstimatorFile);
        File.Copy(detector, det, overwrite: true);
        File.Copy(estimator, est, overwrite: true);
        try
        {
            // Loading them as the front end checks both interfaces exactly as the engine will, from the copies.
            using var frontEnd = PoseFrontEnd.Load(det, est);
        }
        catch (PoseModelException e)
        {
            File.Delete(det);
            File.Delete(est);
            throw new ModelExportException($"the pose models {detector} and {estimator} cannot be used: {e.Message.Replace(det, detector, StringComparison.Ordinal).Replace(est, estimator, StringComparison.Ordinal)}", e);
        }

        return new PoseModelsManifest { Detector = Part(det, DetectorFile), Estimator = Part(est, EstimatorFile) };
    }

    private static PartManifest Part(string path, string file)
    {
        var (inputs, outputs) = PoseModelFiles.Inspect(path);
        return new PartManifest { File = file, Sha256 = ModelBundle.Sha256Of(path), Inputs = inputs, Outputs = outputs };
    }
}

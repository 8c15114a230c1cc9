using System.Diagnostics;
using System.Text.Json;
using Rain.Engine.Bundle;
using Rain.Engine.Media;
using Rain.Engine.Pose;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Cli.Tests;

/// <summary>`rain poses` against the golden pose vectors, `rain export` with pose models, and their errors.</summary>
public sealed class PosesCommandTests(ITestOutputHelper output) : IDisposable
{
    private static readonly DwposeGolden G = DwposeGolden.Load();
    private readonly string _folder = Directory.CreateTempSubdirectory("rain-poses-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>The golden frames in a folder, named so that name order is frame order.</summary>
    private string Frames()
    {
        string frames = Path.Combine(_folder, "frames");
        if (Directory.Exists(frames))
            return frames;
        Directory.CreateDirectory(frames);
        for (int f = 0; f < DwposeGolden.Frames; f++)
            File.Copy(DwposeGolden.PathOf($"frames/frame_{f:D2}.png"), Path.Combine(frames, $"cam_{f:D2}.png"));
        File.WriteAllText(Path.Combine(frames, "notes.txt"), "not an image: skipped");
        return frames;
    }

    [Fact]
    public void GoldenFramesGiveTheGoldenPoseImagesAndDrawnFaces()
    {
        string outDir = Path.Combine(_folder, "out"), keypoints = Path.Combine(_folder, "faces.safetensors");
        Assert.Equal(0, Cli.Invoke(output, out string stdout, out _, "poses", "--input", Frames(), "--out", outDir, "--detector", DwposeGolden.Detector,
            "--estimator", DwposeGolden.Estimator, "--crop", "none", "--keypoints", keypoints, "--threads", "1"));
        Assert.Contains("wrote 8 pose images", stdout, StringComparison.Ordinal);
        Assert.Equal(DwposeGolden.Frames, Directory.GetFiles(outDir, "pose_*.png").Length);
        var faces = MiniSafetensors.Read(keypoints);
        Assert.Equal(DwposeGolden.Frames, faces.Names.Count);
        for (int f = 0; f < DwposeGolden.Frames; f++)
        {
            Assert.Equal(DwposeGolden.Image($"f{f:D2}/rendered").Pixels, ImageCodec.Load(Path.Combine(outDir, $"pose_{f:D5}.png")).Pixels);
            Assert.Equal("F64", faces.DType($"frame{f:D5}.face"));
            Assert.Equal([68, 2], faces.Shape($"frame{f:D5}.face"));
            Tolerance.AssertClose($"frame{f:D5}.face", G.D(f, "face_translated"), faces.Doubles($"frame{f:D5}.face"), 1e-12, output);
        }
    }

    [Fact]
    public void DampingAndSliderRetargetingGiveTheVariant()
    {
        string retarget = Path.Combine(_folder, "sliders.json"), outDir = Path.Combine(_folder, "variant");
        using (var config = JsonDocument.Parse(File.ReadAllBytes(DwposeGolden.PathOf("dwpose_config.json"))))
            File.WriteAllText(retarget, config.RootElement.GetProperty("variant").GetProperty("params").GetRawText());
        Assert.Equal(0, Cli.Invoke(output, "poses", "--input", Frames(), "--out", outDir, "--detector", DwposeGolden.Detector, "--estimator", DwposeGolden.Estimator,
            "--crop", "none", "--damping-step", "3", "--retarget", retarget, "--threads", "1"));
        Assert.Equal(DwposeGolden.Image("variant/f07/rendered").Pixels, ImageCodec.Load(Path.Combine(outDir, "pose_00007.png")).Pixels);
    }

    [SkippableFact]
    public void AVideoIsReadAtItsOwnSizeThroughFfmpeg()
    {
        string ffmpeg = Requires.Program("ffmpeg", "rain poses reads videos through ffmpeg");
        Requires.Program("ffprobe", "rain poses reads a video's size with ffprobe");
        // Golden frames 0 and 1 (both 320x240), then 5 and 7, in a lossless RGB video: the first two pose images are the golden ones;
        // all four equal the API's on the same frames.
        string list = Path.Combine(_folder, "list"), video = Path.Combine(_folder, "camera.mkv");
        Directory.CreateDirectory(list);
        int[] order = [0, 1, 5, 7];
        for (int i = 0; i < order.Length; i++)
            File.Copy(DwposeGolden.PathOf($"frames/frame_{order[i]:D2}.png"), Path.Combine(list, $"{i}.png"));
        using (var p = Process.Start(new ProcessStartInfo(ffmpeg, $"-hide_banner -loglevel error -y -framerate 16 -i \"{list}/%d.png\" -c:v ffv1 -pix_fmt bgr0 \"{video}\"")))
        {
            p!.WaitForExit();
            Assert.Equal(0, p.ExitCode);
        }

        string outDir = Path.Combine(_folder, "video-out");
        Assert.Equal(0, Cli.Invoke(output, "poses", "--input", video, "--out", outDir, "--detector", DwposeGolden.Detector, "--estimator", DwposeGolden.Estimator, "--crop", "none"));
        Assert.Equal(order.Length, Directory.GetFiles(outDir, "pose_*.png").Length);
        using var frontEnd = PoseFrontEnd.Load(DwposeGolden.Detector, DwposeGolden.Estimator, new PoseFrontEndOptions { CenterCrop = null });
        for (int i = 0; i < order.Length; i++)
        {
            var written = ImageCodec.Load(Path.Combine(outDir, $"pose_{i:D5}.png")).Pixels;
            Assert.Equal(frontEnd.Process(DwposeGolden.Frame(order[i])).Pixels, written);
            if (i < 2)
                Assert.Equal(DwposeGolden.Image($"f{i:D2}/rendered").Pixels, written);
        }
    }

    [Fact]
    public void ExportCopiesThePoseModelsFromTheYamlAndPosesRunsFromTheBundle()
    {
        // A RAIN checkout in miniature whose rain_morpher.yaml names weights/onnx/yolox_s.onnx and dw-mm_ucoco.onnx: the stand-ins.
        string root = Path.Combine(_folder, "rain");
        CopyTree(GoldenData.Root, root, skip: "dwpose");
        Directory.CreateDirectory(Path.Combine(root, "weights", "onnx"));
        File.Copy(DwposeGolden.Detector, Path.Combine(root, "weights", "onnx", "yolox_s.onnx"));
        File.Copy(DwposeGolden.Estimator, Path.Combine(root, "weights", "onnx", "dw-mm_ucoco.onnx"));
        string bundle = Path.Combine(_folder, "bundle");
        Assert.Equal(0, Cli.Invoke(output, out string stdout, out _, "export", "--rain-root", root, "--out", bundle));
        Assert.Contains("pose models: detector", stdout, StringComparison.Ordinal);
        var manifest = ModelBundle.Load(bundle).Manifest;
        Assert.NotNull(manifest.PoseModels);
        Assert.Equal(ModelBundle.Sha256Of(DwposeGolden.Detector), manifest.PoseModels.Detector.Sha256);
        Assert.Equal(ModelBundle.Sha256Of(DwposeGolden.Estimator), manifest.PoseModels.Estimator.Sha256);
        Assert.Equal("images float32 [1, 3, 640, 640]", manifest.PoseModels.Detector.Inputs.Single().ToString());
        Assert.Equal(["simcc_x float32 [1, 133, 576]", "simcc_y float32 [1, 133, 768]"], manifest.PoseModels.Estimator.Outputs.Select(c => c.ToString()));
        Assert.Equal(6 + 43, manifest.Parts.Count); // the pose models are not stream parts (no TensorRT plans for them)

        string outDir = Path.Combine(_folder, "from-bundle");
        Assert.Equal(0, Cli.Invoke(output, "poses", "--bundle", bundle, "--size", "512x512", "--input", Frames(), "--out", outDir, "--crop", "none", "--threads", "1"));
        for (int f = 0; f < DwposeGolden.Frames; f++)
            Assert.Equal(DwposeGolden.Image($"f{f:D2}/rendered").Pixels, ImageCodec.Load(Path.Combine(outDir, $"pose_{f:D5}.png")).Pixels);

        // Without --size the pose images take the bundle's size (128x64 here), so they fit its engine.
        string small = Path.Combine(_folder, "small");
        Assert.Equal(0, Cli.Invoke(output, "poses", "--bundle", bundle, "--input", Frames(), "--out", small, "--threads", "1"));
        var first = ImageCodec.Load(Path.Combine(small, "pose_00000.png"));
        Assert.Equal((128, 64), (first.Width, first.Height));

        // A manifest whose contract disagrees with the model is named.
        string manifestPath = Path.Combine(bundle, "bundle.json"), original = File.ReadAllText(manifestPath);
        var json = System.Text.Json.Nodes.JsonNode.Parse(original)!;
        json["pose_models"]!["detector"]!["inputs"]![0]!["name"] = "pixels";
        // Sealed again, as an export would: the check under test is the contract's, not the manifest's own hash.
        File.WriteAllText(manifestPath, System.Text.Json.JsonSerializer.Deserialize(json.ToJsonString(), Rain.Engine.Bundle.BundleJson.Default.BundleManifest)!.ToSealedJson());
        Assert.Equal(2, Cli.Invoke(output, out _, out string contract, "poses", "--bundle", bundle, "--input", Frames(), "--out", outDir));
        Assert.Contains("'pose_detector' (", contract, StringComparison.Ordinal);
        Assert.Contains("has inputs [images float32 [1, 3, 640, 640]]", contract, StringComparison.Ordinal);
        Assert.Contains("the manifest's contract says [pixels float32 [1, 3, 640, 640]]", contract, StringComparison.Ordinal);
        File.WriteAllText(manifestPath, original);

        // An altered pose model is caught by the bundle's hash check.
        File.AppendAllText(Path.Combine(bundle, "pose_detector.onnx"), "x");
        Assert.Equal(2, Cli.Invoke(output, out _, out string altered, "poses", "--bundle", bundle, "--input", Frames(), "--out", outDir));
        Assert.Contains("pose_detector.onnx: content hash mismatch (part 'pose_detector')", altered, StringComparison.Ordinal);
    }

    [Fact]
    public void ExportOptionsOverrideAndABundleWithoutPoseModelsSaysHowToAddThem()
    {
        // The golden checkout's yaml names pose models that are not there: the export goes on without them and says so.
        string plain = Path.Combine(_folder, "plain");
        Assert.Equal(0, Cli.Invoke(output, out string stdout, out string stderr, "export", "--rain-root", GoldenData.Root, "--out", plain));
        Assert.Contains("dwpose_detection_model_path names", stderr, StringComparison.Ordinal);
        Assert.Contains("exporting without pose models (give --pose-detector and --pose-estimator to add them)", stderr, StringComparison.Ordinal);
        Assert.Contains("pose models: none", stdout, StringComparison.Ordinal);
        Assert.Null(ModelBundle.Load(plain).Manifest.PoseModels);
        Assert.Equal(2, Cli.Invoke(output, out _, out string missing, "poses", "--bundle", plain, "--input", Frames(), "--out", Path.Combine(_folder, "x")));
        Assert.Contains("this bundle has no pose models", missing, StringComparison.Ordinal);
        Assert.Contains("--pose-detector yolox_s.onnx --pose-estimator dw-ll_ucoco_384.onnx", missing, StringComparison.Ordinal);
        var e = Assert.Throws<BundleException>(() => PoseFrontEnd.Load(ModelBundle.Load(plain)));
        Assert.StartsWith($"{Path.Combine(ModelBundle.Load(plain).Folder, "bundle.json")}: this bundle has no pose models", e.Message, StringComparison.Ordinal);

        // Swapped models are refused before the long export.
        Assert.Equal(2, Cli.Invoke(output, out _, out string swapped, "export", "--rain-root", GoldenData.Root, "--out", Path.Combine(_folder, "swapped"),
            "--pose-detector", DwposeGolden.Estimator, "--pose-estimator", DwposeGolden.Detector));
        Assert.Contains($"the pose models {DwposeGolden.Estimator} and {DwposeGolden.Detector} cannot be used: {DwposeGolden.Estimator}: the detector's input is input float32 [1, 3, 384, 288]", swapped, StringComparison.Ordinal);
        Assert.Equal(2, Cli.Invoke(output, out _, out string half, "export", "--rain-root", GoldenData.Root, "--out", Path.Combine(_folder, "half"), "--pose-detector", DwposeGolden.Detector));
        Assert.Contains("rain export: ", half, StringComparison.Ordinal);
        Assert.Contains("dw-mm_ucoco.onnx: the pose estimator (DWPose, e.g. dw-ll_ucoco_384.onnx) does not exist.", half, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--detector", "/nope/yolox_s.onnx", "--estimator", "EST" }, "rain poses: /nope/yolox_s.onnx: the detector (YOLOX) model does not exist.")]
    [InlineData(new[] { "--detector", "DET" }, "rain poses: give --detector DET.onnx and --estimator POSE.onnx")]
    [InlineData(new[] { "--detector", "DET", "--estimator", "EST", "--size", "512" }, "rain poses: --size: expected WxH (for example 512x512), found '512'.")]
    [InlineData(new[] { "--detector", "DET", "--estimator", "EST", "--crop", "0" }, "rain poses: --crop: CenterCrop must be in (0, 1], or null for no crop.")]
    [InlineData(new[] { "--detector", "DET", "--estimator", "EST", "--damping-step", "0" }, "rain poses: --damping-step: DampingStep must be 1 to 64 frames.")]
    [InlineData(new[] { "--detector", "DET", "--estimator", "EST", "--retarget", "/nope.json" }, "rain poses: Could not find file '/nope.json'.")]
    public void BadArgumentsExit2WithTheReason(string[] args, string message)
    {
        var full = new List<string> { "poses", "--input", Frames(), "--out", Path.Combine(_folder, "bad") };
        full.AddRange(args.Select(a => a switch { "DET" => DwposeGolden.Detector, "EST" => DwposeGolden.Estimator, _ => a }));
        Assert.Equal(2, Cli.Invoke(output, out _, out string stderr, [.. full]));
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ACorruptFrameIsNamed()
    {
        string frames = Frames();
        File.WriteAllBytes(Path.Combine(frames, "cam_03.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        Assert.Equal(2, Cli.Invoke(output, out _, out string stderr, "poses", "--input", frames, "--out", Path.Combine(_folder, "o"), "--detector", DwposeGolden.Detector,
            "--estimator", DwposeGolden.Estimator, "--crop", "none", "--threads", "1"));
        Assert.Contains($"rain poses: {Path.Combine(frames, "cam_03.png")}:", stderr, StringComparison.Ordinal);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(_folder, "o"), "pose_*.png").Length); // the frames before it are written
    }

    private static void CopyTree(string from, string to, string skip)
    {
        foreach (string dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(from, dir);
            if (!relative.StartsWith(skip, StringComparison.Ordinal))
                Directory.CreateDirectory(Path.Combine(to, relative));
        }

        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(from, file);
            if (!relative.StartsWith(skip, StringComparison.Ordinal))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, relative))!);
                File.Copy(file, Path.Combine(to, relative));
            }
        }
    }
}

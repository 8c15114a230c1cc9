using System.Text.Json.Nodes;
using Rain.Engine.Api;
using Rain.Engine.Bundle;
using Rain.Engine.Media;
using Rain.Engine.Streaming;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Engine.Tests.Api;

/// <summary>A missing, altered or mismatched bundle part, an unknown format version: a clear error naming the file.</summary>
public sealed class BundleValidationTests(GoldenBundle bundle, ITestOutputHelper output) : IClassFixture<GoldenBundle>
{
    [Fact]
    public void TheManifestCarriesTheGoldenGuidanceEmbeddingAndTimesteps()
    {
        var m = ModelBundle.Load(bundle.Folder).Manifest;
        var golden = GoldenData.Open("06_stream.safetensors");
        Tolerance.AssertClose("guidance_embedding", golden.Floats("timestep_cond"), m.GuidanceEmbedding, 1e-6, 1e-5, output);
        Assert.Equal(golden.Longs("timestep").Select(t => (int)t), m.Timesteps);
        Assert.Equal(6 + 43, m.Parts.Count); // six whole networks (reference_fold among them) and the 43 UNet parts
        Assert.Equal(43 + 42, m.UNetPlan.Steps.Count);
    }

    [Fact]
    public void TheGuidanceEmbeddingFollowsTheClosedForm()
    {
        // g = [sin(s·ν_k), cos(s·ν_k)], s = 1000·w, ν_k = exp(−k·ln(10000)/(D/2−1)), in float64 here.
        var g = GuidanceEmbedding.Compute(2.5f, 8);
        for (int k = 0; k < 4; k++)
        {
            double arg = 2500 * Math.Exp(-k * Math.Log(10000) / 3);
            Assert.Equal(Math.Sin(arg), g[k], 3e-4);
            Assert.Equal(Math.Cos(arg), g[4 + k], 3e-4);
        }
    }

    [Fact]
    public void AMissingPartIsNamed()
    {
        string copy = bundle.Copy("missing");
        File.Delete(Path.Combine(copy, "unet.part07.onnx.data"));
        var e = Assert.Throws<BundleException>(() => RainEngine.Load(copy));
        output.WriteLine(e.Message);
        Assert.Contains("unet.part07.onnx.data", e.Message, StringComparison.Ordinal);
        Assert.Contains("missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnAlteredPartFailsItsHashWithBothValues()
    {
        string copy = bundle.Copy("altered");
        string file = Path.Combine(copy, "pose_guider.onnx.data");
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(file, bytes);
        var e = Assert.Throws<BundleException>(() => RainEngine.Load(copy));
        output.WriteLine(e.Message);
        Assert.Contains("pose_guider.onnx.data", e.Message, StringComparison.Ordinal);
        Assert.Contains(ModelBundle.Sha256Of(file), e.Message, StringComparison.Ordinal);
        Assert.Contains("hash mismatch", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AContractThatDisagreesWithTheModelIsNamed()
    {
        string copy = bundle.Copy("contract");
        GoldenBundle.EditManifest(copy, json => json["parts"]!["taesdv_decoder"]!["inputs"]![0]!["shape"]![0] = 5);
        var e = Assert.Throws<BundleException>(() => RainEngine.Load(copy));
        output.WriteLine(e.Message);
        Assert.Contains("taesdv_decoder.onnx", e.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 4, 8, 16]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[5, 4, 8, 16]", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]  // before the reference fold: no reference_fold network, the UNet took the taps itself
    [InlineData(99)]
    public void AnUnsupportedFormatVersionIsRefused(int version)
    {
        string copy = bundle.Copy($"version{version}");
        string manifest = Path.Combine(copy, "bundle.json");
        var json = JsonNode.Parse(File.ReadAllText(manifest))!;
        json["format_version"] = version;
        File.WriteAllText(manifest, json.ToJsonString());
        var e = Assert.Throws<BundleException>(() => ModelBundle.Load(copy));
        Assert.Contains($"format version {version} is not supported", e.Message, StringComparison.Ordinal);
        Assert.Contains("rain export", e.Message, StringComparison.Ordinal);
        Assert.Contains("bundle.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACorruptReferenceImageIsAClearError()
    {
        byte[] png = ImageCodec.EncodePng(SessionTests.Pose(1));
        var e = Assert.Throws<ImageFormatException>(() => ImageCodec.Decode(png.AsSpan(0, png.Length / 2), "reference.png"));
        Assert.Contains("reference.png", e.Message, StringComparison.Ordinal);
    }

    // A JSON path with '/' between steps (part names hold dots): "parts/unet.part07/inputs/0/shape/1".
    private static void Set(JsonNode root, string path, JsonNode? value)
    {
        string[] steps = path.Split('/');
        JsonNode node = root;
        foreach (string step in steps[..^1])
            node = int.TryParse(step, out int i) && node is JsonArray a ? a[i]! : node[step]!;
        if (node is JsonArray array)
            array[int.Parse(steps[^1], System.Globalization.CultureInfo.InvariantCulture)] = value;
        else if (value is null && steps[^1].StartsWith('-'))
            node.AsObject().Remove(steps[^1][1..]);
        else
            node[steps[^1]] = value;
    }

    [Theory]
    [InlineData("unet_plan", "null", "'unet_plan' is null; expected an object")]
    [InlineData("parts/pose_guider", "null", "'parts['pose_guider']' is null; expected an object")]
    [InlineData("clip_image_size", "100000", "'clip_image_size' is 100000; expected an integer from 1 to 4096")]
    [InlineData("height", "\"64\"", "'height' is the string \"64\"; expected an integer")]
    [InlineData("frames_per_level", "0", "'frames_per_level' is 0; expected an integer from 1 to 32")]
    [InlineData("timesteps", "[999, 749]", "'timesteps' has 2 items; expected exactly 16")]
    [InlineData("timesteps/3", "1000", "'timesteps[3]' is 1000; expected an integer from 0 to 999")]
    [InlineData("scheduler/beta_start", "1.5", "'scheduler.beta_start' is 1.5; expected a number strictly between 0 and 1")]
    [InlineData("guidance_scale", "1e9", "'guidance_scale' is 1e9; expected a number from 0 to 50")]
    [InlineData("guidance_embedding/2", "\"NaN\"", "'guidance_embedding[2]' is the string \"NaN\"; expected a finite number")]
    [InlineData("parts/unet.part07/inputs/0/shape/1", "-3", "'parts['unet.part07'].inputs[0].shape[1]' is -3; expected an integer from 1 to 2147483647")]
    [InlineData("parts/unet.part07/inputs/0/dtype", "\"float16\"", "'parts['unet.part07'].inputs[0].dtype' is 'float16'; expected one of float32, uint8, int64")]
    [InlineData("parts/clip_vision/sha256", "\"abc\"", "'parts['clip_vision'].sha256' is 'abc'; expected 64 hexadecimal digits")]
    [InlineData("parts/clip_vision/file", "\"/etc/passwd\"", "'parts['clip_vision'].file' is '/etc/passwd'; expected a file name relative to the bundle folder")]
    [InlineData("parts/pose_guider/-data_file", null, "'parts['pose_guider'].data_file' is missing while data_sha256 is given")]
    [InlineData("unet_plan/steps/1/kind", "\"run_everything\"", "'unet_plan.steps[1].kind' is 'run_everything'; expected one of run_part, cross_noise_attention")]
    [InlineData("unet_plan/steps/1/heads", "7", "'unet_plan.steps[1].heads' is 7, which does not divide channels")]
    [InlineData("-manifest_sha256", null, "'manifest_sha256' is missing")]
    public void EveryFieldIsCheckedAndNamed(string path, string? json, string expected)
    {
        string copy = bundle.Copy("field");
        GoldenBundle.EditManifest(copy, m => Set(m, path, json is null ? null : JsonNode.Parse(json)), seal: false);
        var e = Assert.Throws<BundleException>(() => ModelBundle.Load(copy, verifyHashes: false));
        output.WriteLine(e.Message);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(Path.Combine(copy, "bundle.json") + ": ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AHandEditedManifestFailsItsOwnHash()
    {
        string copy = bundle.Copy("edited");
        GoldenBundle.EditManifest(copy, m => m["guidance_scale"] = 3.5, seal: false);
        var e = Assert.Throws<BundleException>(() => ModelBundle.Load(copy, verifyHashes: false));
        output.WriteLine(e.Message);
        Assert.Contains("altered after export", e.Message, StringComparison.Ordinal);

        // The same edit sealed as an export would seal it is trusted.
        GoldenBundle.EditManifest(copy, _ => { });
        Assert.Equal(3.5f, ModelBundle.Load(copy, verifyHashes: false).Manifest.GuidanceScale);
    }

    [Fact]
    public void AnExternalDataFileTheManifestStoppedListingIsRefusedRatherThanLoadedUnchecked()
    {
        string copy = bundle.Copy("data-file");
        GoldenBundle.EditManifest(copy, m =>
        {
            m["parts"]!["pose_guider"]!.AsObject().Remove("data_file");
            m["parts"]!["pose_guider"]!.AsObject().Remove("data_sha256");
        });
        var e = Assert.Throws<BundleException>(() => ModelBundle.Load(copy));
        output.WriteLine(e.Message);
        Assert.Contains("'pose_guider' lists no data_file, but pose_guider.onnx.data lies beside it", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RelationsBetweenFieldsAreCheckedAfterTheFields()
    {
        string copy = bundle.Copy("relations");
        GoldenBundle.EditManifest(copy, m => m["unet_plan"]!["steps"]![1]!["frames"] = 8);
        var e = Assert.Throws<BundleException>(() => ModelBundle.Load(copy, verifyHashes: false));
        Assert.Contains("'unet_plan.steps[1].frames' is 8, but the window holds frames_per_level × levels = 16", e.Message, StringComparison.Ordinal);

        GoldenBundle.EditManifest(copy, m =>
        {
            m["unet_plan"]!["steps"]![1]!["frames"] = 16;
            m["taps"]![0] = "nowhere";
        });
        e = Assert.Throws<BundleException>(() => ModelBundle.Load(copy, verifyHashes: false));
        Assert.Contains("tap 'nowhere'", e.Message, StringComparison.Ordinal);
    }
}

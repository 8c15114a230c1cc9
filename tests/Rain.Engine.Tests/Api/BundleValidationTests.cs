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
    public void The_manifest_carries_the_golden_guidance_embedding_and_timesteps()
    {
        var m = ModelBundle.Load(bundle.Folder).Manifest;
        var golden = GoldenData.Open("06_stream.safetensors");
        Tolerance.AssertClose("guidance_embedding", golden.Floats("timestep_cond"), m.GuidanceEmbedding, 1e-6, 1e-5, output);
        Assert.Equal(golden.Longs("timestep").Select(t => (int)t), m.Timesteps);
        Assert.Equal(5 + 43, m.Parts.Count);
        Assert.Equal(43 + 42, m.UNetPlan.Steps.Count);
    }

    [Fact]
    public void The_guidance_embedding_follows_the_closed_form()
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
    public void A_missing_part_is_named()
    {
        string copy = bundle.Copy("missing");
        File.Delete(Path.Combine(copy, "unet.part07.onnx.data"));
        var e = Assert.Throws<BundleException>(() => RainEngine.Load(copy));
        output.WriteLine(e.Message);
        Assert.Contains("unet.part07.onnx.data", e.Message, StringComparison.Ordinal);
        Assert.Contains("missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_altered_part_fails_its_hash_with_both_values()
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
    public void A_contract_that_disagrees_with_the_model_is_named()
    {
        string copy = bundle.Copy("contract");
        string manifest = Path.Combine(copy, "bundle.json");
        var json = JsonNode.Parse(File.ReadAllText(manifest))!;
        json["parts"]!["taesdv_decoder"]!["inputs"]![0]!["shape"]![0] = 5;
        File.WriteAllText(manifest, json.ToJsonString());
        var e = Assert.Throws<BundleException>(() => RainEngine.Load(copy));
        output.WriteLine(e.Message);
        Assert.Contains("taesdv_decoder.onnx", e.Message, StringComparison.Ordinal);
        Assert.Contains("[4, 4, 8, 16]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[5, 4, 8, 16]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unsupported_format_version_is_refused()
    {
        string copy = bundle.Copy("version");
        string manifest = Path.Combine(copy, "bundle.json");
        var json = JsonNode.Parse(File.ReadAllText(manifest))!;
        json["format_version"] = 99;
        File.WriteAllText(manifest, json.ToJsonString());
        var e = Assert.Throws<BundleException>(() => ModelBundle.Load(copy));
        Assert.Contains("format version 99", e.Message, StringComparison.Ordinal);
        Assert.Contains("bundle.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupt_reference_image_is_a_clear_error()
    {
        byte[] png = ImageCodec.EncodePng(SessionTests.Pose(1));
        var e = Assert.Throws<ImageFormatException>(() => ImageCodec.Decode(png.AsSpan(0, png.Length / 2), "reference.png"));
        Assert.Contains("reference.png", e.Message, StringComparison.Ordinal);
    }
}

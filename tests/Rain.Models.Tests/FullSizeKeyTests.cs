using System.Text.Json;
using Rain.Engine.Bundle;
using Rain.Models.Config;
using Rain.Models.Networks;
using Rain.Models.Onnx;
using Rain.Models.Weights;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Models.Tests;

/// <summary>
/// The builders bind the full-size RAIN key sets (tests/data/golden/fullsize_keys.json) on the real configurations:
/// every key consumed, every shape as expected, no weight data read (the sources have shapes only).
/// </summary>
public sealed class FullSizeKeyTests(ITestOutputHelper output)
{
    private static readonly JsonElement Modules = JsonDocument.Parse(File.ReadAllText(GoldenData.PathOf("fullsize_keys.json"))).RootElement;

    private static ShapeOnlyWeights Keys(string module) =>
        new($"fullsize_keys.json:{module}", Modules.GetProperty(module).GetProperty("keys").EnumerateArray()
            .Select(e => new KeyValuePair<string, long[]>(e[0].GetString()!, e[1].EnumerateArray().Select(d => d.GetInt64()).ToArray())));

    private static JsonConfig ConfigOf(string module) => JsonConfig.Parse($"fullsize_keys.json:{module}.config", Modules.GetProperty(module).GetProperty("config").GetRawText());

    /// <summary>RAIN's yaml with the full-size values (512², cond_proj_dim 512), otherwise the golden copy.</summary>
    private static MotionModuleConfig FullSizeMotion()
    {
        string dir = Directory.CreateTempSubdirectory("rain-yaml-").FullName;
        try
        {
            string yaml = File.ReadAllText(GoldenData.PathOf("configs/rain_morpher.yaml")).Replace("cond_proj_dim: 16", "cond_proj_dim: 512", StringComparison.Ordinal);
            string path = Path.Combine(dir, "rain_morpher.yaml");
            File.WriteAllText(path, yaml);
            return MotionModuleConfig.Load(RainConfig.Load(path));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private void Report(GraphBuilder g, ShapeOnlyWeights keys)
    {
        output.WriteLine($"{g.Name}: {g.Weights.Consumed.Count} of {keys.Keys.Count} keys consumed; outputs {string.Join(", ", g.Outputs.Select(o => $"{o} {WeightBinder.Format(g.Shape(o))}"))}");
    }

    [Fact]
    public void PoseGuiderBindsFullSizeKeys()
    {
        var keys = Keys("pose_guider");
        var g = PoseGuiderNetwork.Build(keys, 4, 512, 512);
        Report(g, keys);
        Assert.Equal(keys.Keys.Count, g.Weights.Consumed.Count);
        Assert.Equal([4L, 320, 64, 64], g.Shape("pose_cond_fea"));
    }

    [Fact]
    public void TaesdvDecoderBindsFullSizeKeysAndIgnoresTheEncoder()
    {
        var keys = Keys("taesdv");
        var g = TaesdvDecoderNetwork.Build(keys, 4, 64, 64);
        Report(g, keys);
        Assert.Equal(keys.Keys.Count(k => k.StartsWith("decoder.", StringComparison.Ordinal)), g.Weights.Consumed.Count);
        Assert.Equal([4L, 3, 512, 512], g.Shape("images"));
        Assert.Equal([1L, 64, 512, 512], g.Shape("omem9"));
    }

    [Fact]
    public void VaeEncoderBindsFullSizeKeys()
    {
        var keys = Keys("vae_sd_vae_ft_mse");
        var g = VaeEncoderNetwork.Build(ConfigOf("vae_sd_vae_ft_mse"), keys, 512, 512);
        Report(g, keys);
        Assert.Equal(keys.Keys.Count(k => k.StartsWith("encoder.", StringComparison.Ordinal) || k.StartsWith("quant_conv.", StringComparison.Ordinal)), g.Weights.Consumed.Count);
        Assert.Equal([1L, 4, 64, 64], g.Shape("latents"));
    }

    [Fact]
    public void ClipVisionBindsFullSizeKeys()
    {
        var keys = Keys("clip_image_encoder");
        var g = ClipVisionNetwork.Build(ConfigOf("clip_image_encoder"), keys);
        Report(g, keys);
        Assert.Equal(keys.Keys.Count - 1, g.Weights.Consumed.Count); // position_ids is an index buffer
        Assert.Equal([1L, 768], g.Shape("image_embeds"));
    }

    [Fact]
    public void ReferenceUnetBindsAll682KeysAndProducesTheSpecTapShapes()
    {
        var keys = Keys("reference_unet");
        var g = UNetNetwork.BuildReference(UNetConfig.Load(ConfigOf("reference_unet")), keys, 64, 64);
        Report(g, keys);
        Assert.Equal(682, g.Weights.Consumed.Count);
        Assert.Equal([1L, 4096, 320], g.Shape("d00"));
        Assert.Equal([1L, 1024, 640], g.Shape("d11"));
        Assert.Equal([1L, 256, 1280], g.Shape("d20"));
        Assert.Equal([1L, 64, 1280], g.Shape("m"));
        Assert.Equal([1L, 256, 1280], g.Shape("u12"));
        Assert.Equal([1L, 4096, 320], g.Shape("u32"));
    }

    [Fact]
    public void DenoisingUnetBindsAll1275EntriesAndCutsInto43Parts()
    {
        var keys = Keys("denoising_unet");
        var g = UNetNetwork.BuildDenoising(UNetConfig.Load(ConfigOf("denoising_unet")), FullSizeMotion(), keys, 16, 64, 64, cut: true);
        Report(g, keys);
        Assert.Equal(1275, g.Weights.Consumed.Count);
        Assert.Equal([16L, 4, 64, 64], g.Shape("model_output"));
        var (parts, plan) = GraphPartitioner.Split(g);
        Assert.Equal(43, parts.Count);
        var channels = plan.Steps.Where(s => s.StepKind == PlanStepKind.CrossNoiseAttention).GroupBy(s => (s.Tokens, s.Channels)).ToDictionary(x => x.Key, x => x.Count());
        Assert.Equal(10, channels[(4096, 320)]);
        Assert.Equal(10, channels[(1024, 640)]);
        Assert.Equal(10, channels[(256, 1280)]);
        Assert.Equal(12, channels[(64, 1280)]);
    }
}

using Rain.Models.Config;
using Rain.Models.Networks;
using Rain.Models.Weights;
using Rain.Testing;

namespace Rain.Models.Tests;

/// <summary>Inputs the exporter cannot use fail with a message naming the file, the key and both values.</summary>
public sealed class ExportErrorTests
{
    private static ShapeOnlyWeights Golden(string relative, Func<IEnumerable<KeyValuePair<string, long[]>>, IEnumerable<KeyValuePair<string, long[]>>> edit)
    {
        var file = GoldenData.Open(relative);
        return new ShapeOnlyWeights(relative, edit(file.Names.Select(n => new KeyValuePair<string, long[]>(n, file.Shape(n)))));
    }

    [Fact]
    public void MissingKeyNamesTheFileTheKeyAndTheExpectedShape()
    {
        var weights = Golden("weights/pose_guider.safetensors", keys => keys.Where(k => k.Key != "blocks.3.bias"));
        var e = Assert.Throws<ModelExportException>(() => PoseGuiderNetwork.Build(weights, 4, 64, 128));
        Assert.Equal("weights/pose_guider.safetensors: missing key 'blocks.3.bias' (expected shape [16]).", e.Message);
    }

    [Fact]
    public void UnexpectedKeyIsReported()
    {
        var weights = Golden("weights/taesdv.safetensors", keys => keys.Append(new("decoder.20.weight", [3L, 3, 3, 3])));
        var e = Assert.Throws<ModelExportException>(() => TaesdvDecoderNetwork.Build(weights, 4, 2, 3));
        Assert.Contains("weights/taesdv.safetensors: 1 unexpected key(s)", e.Message, StringComparison.Ordinal);
        Assert.Contains("'decoder.20.weight'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShapeMismatchNamesBothShapes()
    {
        const string Key = "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight";
        var weights = Golden("weights/reference_unet.safetensors", keys => keys.Select(k => k.Key == Key ? new(Key, [32L, 48]) : k));
        var e = Assert.Throws<ModelExportException>(() => UNetNetwork.BuildReference(UNetTests.Config, weights, 8, 16));
        Assert.Equal($"weights/reference_unet.safetensors: key '{Key}' has shape [32, 48], but the configuration implies [32, 32].", e.Message);
    }

    [Fact]
    public void ConfigValueTheArchitectureCannotTakeNamesFileKeyAndValue()
    {
        string json = File.ReadAllText(GoldenData.PathOf("configs/unet.json")).Replace("\"norm_num_groups\": 8", "\"norm_num_groups\": 7", StringComparison.Ordinal);
        var e = Assert.Throws<ModelExportException>(() => UNetConfig.Load(JsonConfig.Parse("configs/unet.json", json)));
        Assert.Equal("configs/unet.json: 'block_out_channels' = 32 is not supported: not divisible by norm_num_groups = 7.", e.Message);
    }

    [Fact]
    public void WidthThatTheMotionModules32GroupsCannotDivideIsRefused()
    {
        string json = File.ReadAllText(GoldenData.PathOf("configs/unet.json")).Replace("64\n  ]", "48\n  ]", StringComparison.Ordinal);
        var cfg = UNetConfig.Load(JsonConfig.Parse("configs/unet.json", json));
        Assert.Equal(48, cfg.BlockOutChannels[^1]);
        var e = Assert.Throws<ModelExportException>(() => UNetNetwork.BuildDenoising(cfg, UNetTests.Motion, new GoldenWeights("weights/denoising_unet.safetensors"), 16, 8, 16, cut: false));
        Assert.Equal("configs/unet.json: 'block_out_channels' has 48, but the motion modules' GroupNorm always uses 32 groups, which cannot divide it.", e.Message);
    }

    [Fact]
    public void YamlValueTheBuilderDoesNotImplementNamesTheYamlKey()
    {
        string dir = Directory.CreateTempSubdirectory("rain-yaml-").FullName;
        try
        {
            string path = Path.Combine(dir, "rain_morpher.yaml");
            File.WriteAllText(path, File.ReadAllText(GoldenData.PathOf("configs/rain_morpher.yaml")).Replace("num_transformer_block: 1", "num_transformer_block: 2", StringComparison.Ordinal));
            var e = Assert.Throws<ModelExportException>(() => MotionModuleConfig.Load(RainConfig.Load(path)));
            Assert.Equal($"{path}: 'motion_module_kwargs.num_transformer_block' = 2 is not supported: the builder implements one temporal transformer block.", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

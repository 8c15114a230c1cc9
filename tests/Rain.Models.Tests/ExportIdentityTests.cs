using Rain.Models.Config;
using Rain.Models.Networks;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Models.Tests;

/// <summary>Exports from the .pth/.bin files and from their .safetensors twins are byte-identical (through the product checkpoint reader).</summary>
public sealed class ExportIdentityTests(ITestOutputHelper output)
{
    [Fact]
    public void ExportsFromPthAndSafetensorsWeightsAreIdentical()
    {
        string scratch = Directory.CreateTempSubdirectory("rain-identity-").FullName;
        try
        {
            var pth = Export(Path.Combine(scratch, "pth"), torch: true);
            var safetensors = Export(Path.Combine(scratch, "st"), torch: false);
            var names = Directory.GetFiles(pth).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(names, Directory.GetFiles(safetensors).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.Contains("unet.part42.onnx", names);
            foreach (var name in names)
                Assert.True(File.ReadAllBytes(Path.Combine(pth, name!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(safetensors, name!))), $"{name} differs");
            // The bytes are not merely equal but right: the ReferenceNet exported from the .pth reproduces golden 03.
            var golden = GoldenData.Open("03_reference_unet.safetensors");
            var taps = OrtHarness.Run(Path.Combine(pth, "reference_unet.onnx"),
            [
                OrtHarness.Float("latents", golden.Floats("latents"), 1, 4, 8, 16),
                OrtHarness.Float("encoder_hidden_states", golden.Floats("clip_embeds"), 1, 1, 32),
            ]);
            foreach (var tap in UNetTests.Taps)
                Tolerance.AssertClose($"{tap} (from .pth)", golden.Floats(tap), taps[tap], 1e-4, 1e-3, output);
            output.WriteLine($"{names.Count} identical files: {string.Join(", ", names.Where(n => !n!.StartsWith("unet.part", StringComparison.Ordinal)))}, unet.part00..42");
        }
        finally
        {
            Directory.Delete(scratch, true);
        }
    }

    /// <summary>A RAIN root whose yaml and HF folders reference only one format, exported into root/out.</summary>
    private static string Export(string root, bool torch)
    {
        string weights = Path.Combine(root, "weights");
        Directory.CreateDirectory(Path.Combine(root, "configs"));
        Directory.CreateDirectory(Path.Combine(weights, "vae"));
        Directory.CreateDirectory(Path.Combine(weights, "image_encoder"));
        File.Copy(GoldenData.PathOf("configs/unet.json"), Path.Combine(root, "configs", "unet.json"));
        string yaml = File.ReadAllText(GoldenData.PathOf("configs/rain_morpher.yaml"));
        if (!torch)
            yaml = yaml.Replace(".pth\"", ".safetensors\"", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(root, "configs", "rain_morpher.yaml"), yaml);
        string ext = torch ? ".pth" : ".safetensors";
        foreach (var module in new[] { "reference_unet", "denoising_unet", "pose_guider", "taesdv" })
            File.CreateSymbolicLink(Path.Combine(weights, module + ext), GoldenData.PathOf($"weights/{module}{ext}"));
        foreach (var (folder, file) in new[] { ("vae", torch ? "diffusion_pytorch_model.bin" : "diffusion_pytorch_model.safetensors"), ("image_encoder", torch ? "pytorch_model.bin" : "model.safetensors") })
        {
            File.CreateSymbolicLink(Path.Combine(weights, folder, "config.json"), GoldenData.PathOf($"weights/{folder}/config.json"));
            File.CreateSymbolicLink(Path.Combine(weights, folder, file), GoldenData.PathOf($"weights/{folder}/{file}"));
        }

        string outFolder = Path.Combine(root, "out");
        var parts = RainExport.Write(RainConfig.Load(Path.Combine(root, "configs", "rain_morpher.yaml")), outFolder);
        Assert.Equal(6 + 43, parts.Count);
        return outFolder;
    }
}

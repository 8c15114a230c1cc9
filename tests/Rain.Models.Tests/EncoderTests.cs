using Rain.Models.Config;
using Rain.Models.Networks;
using Rain.Models.Onnx;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Models.Tests;

public sealed class EncoderTests(ITestOutputHelper output)
{
    [Fact]
    public void VaeEncoderMatchesGolden07()
    {
        var golden = GoldenData.Open("07_vae_encoder.safetensors");
        var config = JsonConfig.Load(GoldenData.PathOf("weights/vae/config.json"));
        var g = VaeEncoderNetwork.Build(config, new GoldenWeights("weights/vae/diffusion_pytorch_model.safetensors"), 64, 128);
        using var ort = new OrtHarness();
        string path = ort.Write(GraphPart.Whole(g));
        output.WriteLine(OnnxReport.Read(path).ToString());
        var result = OrtHarness.Run(path, [OrtHarness.Float("images", golden.Floats("images"), 1, 3, 64, 128)]);
        Tolerance.AssertClose("latents", golden.Floats("latents"), result["latents"], 1e-4, 1e-3, output);
    }

    [Fact]
    public void ClipVisionMatchesGolden07()
    {
        var golden = GoldenData.Open("07_clip_image_encoder.safetensors");
        var config = JsonConfig.Load(GoldenData.PathOf("weights/image_encoder/config.json"));
        var g = ClipVisionNetwork.Build(config, new GoldenWeights("weights/image_encoder/model.safetensors"));
        using var ort = new OrtHarness();
        string path = ort.Write(GraphPart.Whole(g));
        output.WriteLine(OnnxReport.Read(path).ToString());
        var result = OrtHarness.Run(path, [OrtHarness.Float("pixel_values", golden.Floats("pixel_values"), 1, 3, 32, 32)]);
        Tolerance.AssertClose("image_embeds", golden.Floats("image_embeds"), result["image_embeds"], 1e-4, 1e-3, output);
        Tolerance.AssertClose("last_hidden_state", golden.Floats("last_hidden_state"), result["last_hidden_state"], 1e-4, 1e-3, output);
    }
}

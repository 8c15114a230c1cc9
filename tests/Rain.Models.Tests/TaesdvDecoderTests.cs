using Rain.Models.Networks;
using Rain.Models.Onnx;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Models.Tests;

public sealed class TaesdvDecoderTests(ITestOutputHelper output)
{
    [Fact]
    public void TaesdvDecoderMatchesGolden05WithMemories()
    {
        var golden = GoldenData.Open("05_taesdv_decode_slice.safetensors");
        var g = TaesdvDecoderNetwork.Build(new GoldenWeights("weights/taesdv.safetensors"), frames: 4, height: 2, width: 3);
        using var ort = new OrtHarness();
        string path = ort.Write(GraphPart.Whole(g));
        output.WriteLine(OnnxReport.Read(path).ToString());

        // [N=1, T, C, h, w] is already frame-major.
        var inputs = new List<Microsoft.ML.OnnxRuntime.NamedOnnxValue> { OrtHarness.Float("latents", golden.Floats("latents_ntchw"), 4, 4, 2, 3) };
        for (int i = 0; i < 10; i++)
        {
            var s = golden.Shape($"pmem{i}").Select(d => (int)d).ToArray();
            inputs.Add(OrtHarness.Float($"pmem{i}", golden.Floats($"pmem{i}"), s));
        }

        var result = OrtHarness.Run(path, inputs);
        Tolerance.AssertClose("images", golden.Floats("images_ntchw"), result["images"], 1e-4, 1e-3, output);
        for (int i = 0; i < 10; i++)
            Tolerance.AssertClose($"omem{i}", golden.Floats($"omem{i}"), result[$"omem{i}"], 1e-4, 1e-3, output);
    }
}

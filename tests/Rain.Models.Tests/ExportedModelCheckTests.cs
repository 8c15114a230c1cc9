using Microsoft.ML.OnnxRuntime;
using Rain.Models.Config;
using Rain.Models.Networks;
using Rain.Models.Onnx;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Models.Tests;

/// <summary>Every file <see cref="RainExport"/> writes passes ONNX Runtime's model checks at load; opset and operators are reported.</summary>
public sealed class ExportedModelCheckTests(ITestOutputHelper output)
{
    private static readonly HashSet<string> StandardOps =
    [
        "Add", "Cast", "Clip", "Concat", "Conv", "Cos", "Div", "Erf", "Expand", "Identity", "InstanceNormalization", "LayerNormalization",
        "MatMul", "Mul", "Relu", "Reshape", "Resize", "Sigmoid", "Sin", "Slice", "Softmax", "Tanh", "Transpose",
    ];

    [Fact]
    public void EveryExportedPartLoadsInOnnxRuntimeWithOpset17AndStandardOperators()
    {
        using var ort = new OrtHarness();
        var parts = RainExport.Write(RainConfig.Load(GoldenData.PathOf("configs/rain_morpher.yaml")), ort.Folder, includeWholeUNet: true);
        Assert.Equal(7 + 43, parts.Count); // six whole networks, the whole UNet and its 43 parts
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpNumThreads = 1 };
        foreach (var part in parts)
        {
            string path = Path.Combine(ort.Folder, part.Name + ".onnx");
            using (var session = new InferenceSession(path, options))
            {
                Assert.Equal(part.Inputs.Select(i => i.Name), session.InputMetadata.Keys);
                Assert.Equal(part.Outputs.Select(o => o.Name), session.OutputMetadata.Keys);
                foreach (var o in part.Outputs)
                    Assert.Equal(o.Shape, session.OutputMetadata[o.Name].Dimensions.Select(d => (long)d));
            }

            var report = OnnxReport.Read(path);
            Assert.Equal([(string.Empty, 17L)], report.Opsets);
            Assert.All(report.OperatorCounts, op => Assert.Contains(op.Key, StandardOps));
            output.WriteLine(report.ToString());
        }
    }
}

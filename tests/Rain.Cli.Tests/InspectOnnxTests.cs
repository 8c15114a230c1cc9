using System.CommandLine;
using Rain.Models.Onnx;
using Rain.Models.Weights;

namespace Rain.Cli.Tests;

/// <summary><c>rain inspect --onnx FILE</c> on a model written by the graph builder.</summary>
public sealed class InspectOnnxTests
{
    [Fact]
    public void InspectOnnxPrintsOpsetIoAndOperators()
    {
        string dir = Directory.CreateTempSubdirectory("rain-inspect-").FullName;
        try
        {
            var g = new GraphBuilder("tiny", new WeightBinder(new ShapeOnlyWeights("none", [])));
            g.Output(g.Unary("Relu", "relu", g.Input("x", OnnxDataType.F32, 2, 3)), "y");
            string path = Path.Combine(dir, "tiny.onnx");
            OnnxModelWriter.Write(GraphPart.Whole(g), path);

            using var o = new StringWriter();
            using var e = new StringWriter();
            Assert.Equal(0, InspectCommand.RunOnnx(path, o, e));
            string text = o.ToString();
            Assert.Contains("tiny.onnx: IR 8, opset ai.onnx:17", text, StringComparison.Ordinal);
            Assert.Contains("inputs:  x [2, 3]", text, StringComparison.Ordinal);
            Assert.Contains("operators: Identity×1, Relu×1", text, StringComparison.Ordinal);

            // The command-line form parses (--onnx is a flag before the path).
            var parse = new RootCommand { InspectCommand.Create() }.Parse(["inspect", "--onnx", path]);
            Assert.Empty(parse.Errors);

            File.WriteAllText(Path.Combine(dir, "bad.onnx"), "not a model");
            Assert.Equal(2, InspectCommand.RunOnnx(Path.Combine(dir, "bad.onnx"), o, e));
            Assert.Contains("bad.onnx", e.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

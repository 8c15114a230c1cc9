using System.CommandLine;
using Rain.Models.Onnx;
using Rain.Models.Weights;

namespace Rain.Cli.Tests;

public sealed class InspectCommandTests
{
    [Fact]
    public void Inspect_prints_opset_and_operators_of_an_onnx_file()
    {
        string dir = Directory.CreateTempSubdirectory("rain-inspect-").FullName;
        var previous = Console.Out;
        try
        {
            var g = new GraphBuilder("tiny", new WeightBinder(new ShapeOnlyWeights("none", [])));
            g.Output(g.Unary("Relu", "relu", g.Input("x", OnnxDataType.F32, 2, 3)), "y");
            string path = Path.Combine(dir, "tiny.onnx");
            OnnxModelWriter.Write(GraphPart.Whole(g), path);

            using var captured = new StringWriter();
            Console.SetOut(captured);
            var root = new RootCommand { InspectCommand.Create() };
            int status = root.Parse(["inspect", "--onnx", path]).Invoke();

            Assert.Equal(0, status);
            string text = captured.ToString();
            Assert.Contains("tiny.onnx: IR 8, opset ai.onnx:17", text, StringComparison.Ordinal);
            Assert.Contains("inputs:  x [2, 3]", text, StringComparison.Ordinal);
            Assert.Contains("operators: Identity×1, Relu×1", text, StringComparison.Ordinal);
        }
        finally
        {
            Console.SetOut(previous);
            Directory.Delete(dir, true);
        }
    }
}

using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Rain.Models.Onnx;
using Rain.Models.Onnx.Proto;

namespace Rain.Models.Tests;

/// <summary>
/// The FLOP count of exported graphs against closed forms: a GEMM is 2·M·K·N; a convolution 2·|Y|·C_in/g·k_h·k_w with
/// the output size from the convolution arithmetic; shapes carried through Reshape, Transpose, Slice, Concat and Resize.
/// The propagated output shape is checked against ONNX Runtime's.
/// </summary>
public sealed class OnnxFlopsTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(4096, 320, 2560)]
    [InlineData(7, 13, 5)]
    public void AGemmIsTwoFlopsPerMultiplyAdd(int m, int k, int n)
    {
        var flops = OnnxFlops.Count(GemmModel.Build(m, k, n));
        Assert.Equal(2.0 * m * k * n, flops.MatMul);
        Assert.Equal(0, flops.Conv);
    }

    [Fact]
    public void ShapesRunThroughTheExportersOperatorsToAStridedPaddedGroupedConvolutionAndABatchedMatmul()
    {
        // x [2, 6, 9, 11] → Conv 3×3, stride 2, pads 1, groups 2, 8 out → [2, 8, 5, 6]; × 2 upsampling → [2, 8, 10, 12];
        // Slice H 1..9 → [2, 8, 8, 12]; Concat with itself on C → [2, 16, 8, 12]; Reshape [2, 16, 96]; Transpose → [2, 96, 16];
        // MatMul with [16, 3] → [2, 96, 3].
        var g = new GraphProto { Name = "t" };
        g.Input.Add(Value("x", 2, 6, 9, 11));
        g.Initializer.Add(Floats("w", [8, 3, 3, 3]));
        g.Initializer.Add(Floats("scales", [4], [1, 1, 2, 2]));
        g.Initializer.Add(Int64s("starts", 1));
        g.Initializer.Add(Int64s("ends", 9));
        g.Initializer.Add(Int64s("axes", 2));
        g.Initializer.Add(Int64s("shape", 2, 16, 96));
        g.Initializer.Add(Floats("b", [16, 3]));
        g.Node.Add(Node("Conv", ["x", "w"], "c", Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1), Int("group", 2)));
        g.Node.Add(Node("Resize", ["c", "", "scales"], "u", Str("mode", "nearest")));
        g.Node.Add(Node("Slice", ["u", "starts", "ends", "axes"], "s"));
        g.Node.Add(Node("Concat", ["s", "s"], "cat", Int("axis", 1)));
        g.Node.Add(Node("Reshape", ["cat", "shape"], "r"));
        g.Node.Add(Node("Transpose", ["r"], "t", Ints("perm", 0, 2, 1)));
        g.Node.Add(Node("MatMul", ["t", "b"], "y"));
        g.Output.Add(Value("y", 2, 96, 3));
        var model = new ModelProto { IrVersion = OnnxModelWriter.IrVersion, Graph = g };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxModelWriter.Opset });
        byte[] bytes = model.ToByteArray();

        var flops = OnnxFlops.Count(bytes);
        Assert.Equal(2.0 * (2 * 8 * 5 * 6) * (3 * 3 * 3), flops.Conv);
        Assert.Equal(2.0 * (2 * 96 * 3) * 16, flops.MatMul);

        // ONNX Runtime agrees on the shapes the count was made on.
        using var session = new InferenceSession(bytes);
        using var x = OrtValue.CreateTensorValueFromMemory(new float[2 * 6 * 9 * 11], [2, 6, 9, 11]);
        using var results = session.Run(new RunOptions(), ["x"], [x], ["y"]);
        Assert.Equal([2L, 96, 3], results[0].GetTensorTypeAndShape().Shape);
    }

    [Fact]
    public void AnOperatorItDoesNotKnowIsNamed()
    {
        var g = new GraphProto { Name = "t" };
        g.Input.Add(Value("x", 2, 3));
        g.Node.Add(Node("Gather", ["x", "x"], "y"));
        var model = new ModelProto { IrVersion = OnnxModelWriter.IrVersion, Graph = g };
        var e = Assert.Throws<InvalidDataException>(() => OnnxFlops.Count(model.ToByteArray()));
        Assert.Contains("operator Gather", e.Message, StringComparison.Ordinal);
    }

    private static NodeProto Node(string op, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = op.ToLowerInvariant() };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        n.Attribute.AddRange(attributes);
        return n;
    }

    private static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Str(string name, string value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    private static TensorProto Floats(string name, long[] dims, float[]? values = null)
    {
        var t = new TensorProto { Name = name, DataType = 1 };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(values ?? new float[dims.Aggregate(1L, (a, b) => a * b)]);
        return t;
    }

    private static TensorProto Int64s(string name, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = 7 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        return t;
    }

    private static ValueInfoProto Value(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.AddRange(dims.Select(d => new TensorShapeProto.Types.Dimension { DimValue = d }));
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }
}

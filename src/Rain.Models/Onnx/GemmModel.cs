using Google.Protobuf;
using Rain.Models.Onnx.Proto;

namespace Rain.Models.Onnx;

/// <summary>A one-node ONNX model, Y[M,N] = A[M,K]·B[K,N] with B a constant (seeded uniform, scaled by 1/√K): a GEMM-rate baseline.</summary>
public static class GemmModel
{
    /// <summary>The model's bytes; input "a" [M,K], output "y" [M,N], float32.</summary>
    public static byte[] Build(int m, int k, int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(m, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        return Model(m, k, n);
    }

    private static byte[] Model(int m, int k, int n)
    {
        var random = new Random(2);
        var weights = new float[(long)k * n];
        float scale = 1f / MathF.Sqrt(k);
        for (int i = 0; i < weights.Length; i++)
            weights[i] = (float)(random.NextDouble() - 0.5) * scale;
        var b = new TensorProto { Name = "b", DataType = 1, RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(weights.AsSpan())) };
        b.Dims.AddRange([k, n]);
        var graph = new GraphProto { Name = "gemm" };
        graph.Initializer.Add(b);
        var node = new NodeProto { OpType = "MatMul", Name = "matmul" };
        node.Input.AddRange(["a", "b"]);
        node.Output.Add("y");
        graph.Node.Add(node);
        graph.Input.Add(Value("a", m, k));
        graph.Output.Add(Value("y", m, n));
        var model = new ModelProto { IrVersion = OnnxModelWriter.IrVersion, ProducerName = "Rain.Models", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxModelWriter.Opset });
        return model.ToByteArray();
    }

    private static ValueInfoProto Value(string name, long rows, long columns)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = rows });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = columns });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }
}

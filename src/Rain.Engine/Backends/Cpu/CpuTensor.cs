using Microsoft.ML.OnnxRuntime;
using Rain.Engine.Bundle;

namespace Rain.Engine.Backends.Cpu;

/// <summary>
/// A preallocated host tensor of a fixed contract, wrapped once as an <see cref="OrtValue"/> over the same memory, so
/// ONNX Runtime reads and writes the managed array in place and nothing is allocated per run.
/// </summary>
internal sealed class CpuTensor : IDisposable
{
    public CpuTensor(TensorContract contract)
    {
        Contract = contract;
        int count = checked((int)contract.ElementCount);
        switch (contract.DType)
        {
            case "float32":
                Floats = new float[count];
                Value = OrtValue.CreateTensorValueFromMemory(Floats, contract.Shape);
                break;
            case "uint8":
                Bytes = new byte[count];
                Value = OrtValue.CreateTensorValueFromMemory(Bytes, contract.Shape);
                break;
            case "int64":
                Longs = new long[count];
                Value = OrtValue.CreateTensorValueFromMemory(Longs, contract.Shape);
                break;
            default:
                throw new BundleException($"tensor {contract}: element type '{contract.DType}' is not supported (float32, uint8, int64).");
        }
    }

    public TensorContract Contract { get; }

    public float[]? Floats { get; }

    public byte[]? Bytes { get; }

    public long[]? Longs { get; }

    public OrtValue Value { get; }

    /// <summary>The float32 data (throws for other element types).</summary>
    public float[] F => Floats ?? throw new InvalidOperationException($"tensor {Contract} is not float32.");

    public long Bytes64 => Contract.ElementCount * (Floats is not null ? 4 : Longs is not null ? 8 : 1);

    public void Dispose() => Value.Dispose();
}

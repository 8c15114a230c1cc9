using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Rain.Engine.Bundle;

namespace Rain.Engine.Backends.Cpu;

/// <summary>
/// A preallocated host tensor of a fixed contract, wrapped once as an <see cref="OrtValue"/> over the same memory, so
/// ONNX Runtime reads and writes it in place and nothing is allocated per run. The memory is a pinned array (it never
/// moves) and starts on a 64-byte boundary: ONNX Runtime's kernels pick code paths by alignment, so an unaligned buffer
/// would make results differ in the last bits from one allocation to the next.
/// </summary>
internal sealed class CpuTensor : IDisposable
{
    private const int Alignment = 64;
    private readonly byte[] _storage;
    private readonly int _offset, _bytes;

    public unsafe CpuTensor(TensorContract contract)
    {
        Contract = contract;
        (TensorElementType type, int size) = contract.DType switch
        {
            "float32" => (TensorElementType.Float, 4),
            "uint8" => (TensorElementType.UInt8, 1),
            "int64" => (TensorElementType.Int64, 8),
            _ => throw new BundleException($"tensor {contract}: element type '{contract.DType}' is not supported (float32, uint8, int64)."),
        };
        _bytes = checked((int)contract.ElementCount * size);
        _storage = GC.AllocateArray<byte>(_bytes + Alignment, pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_storage));
        _offset = (int)((Alignment - (address % Alignment)) % Alignment);
        Value = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, contract.Shape, address + _offset, _bytes);
    }

    public TensorContract Contract { get; }

    public OrtValue Value { get; }

    /// <summary>The float32 data (empty view for other element types is an error).</summary>
    public Span<float> F => Contract.DType == "float32" ? MemoryMarshal.Cast<byte, float>(Raw) : throw new InvalidOperationException($"tensor {Contract} is not float32.");

    /// <summary>The uint8 data.</summary>
    public Span<byte> U8 => Contract.DType == "uint8" ? Raw : throw new InvalidOperationException($"tensor {Contract} is not uint8.");

    /// <summary>The int64 data.</summary>
    public Span<long> I64 => Contract.DType == "int64" ? MemoryMarshal.Cast<byte, long>(Raw) : throw new InvalidOperationException($"tensor {Contract} is not int64.");

    public long Bytes64 => _bytes;

    private Span<byte> Raw => _storage.AsSpan(_offset, _bytes);

    public void Dispose() => Value.Dispose();
}

namespace Rain.Testing.Checkpoints;

/// <summary>A tensor to write: safetensors dtype name ("F32", "BOOL", ...), shape and little-endian bytes.</summary>
public sealed record WriterTensor(string Name, string DType, long[] Shape, ReadOnlyMemory<byte> Data)
{
    /// <summary>Bytes per element of a safetensors dtype name.</summary>
    public static int SizeOf(string dtype) => dtype switch
    {
        "F64" or "I64" => 8,
        "F32" or "I32" => 4,
        "F16" or "BF16" or "I16" => 2,
        _ => 1,
    };

    /// <summary>The torch typed-storage class for a safetensors dtype name.</summary>
    public static string TorchStorage(string dtype) => dtype switch
    {
        "F64" => "DoubleStorage",
        "F32" => "FloatStorage",
        "F16" => "HalfStorage",
        "BF16" => "BFloat16Storage",
        "I64" => "LongStorage",
        "I32" => "IntStorage",
        "I16" => "ShortStorage",
        "I8" => "CharStorage",
        "U8" => "ByteStorage",
        "BOOL" => "BoolStorage",
        _ => throw new ArgumentException($"no torch storage for {dtype}"),
    };

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

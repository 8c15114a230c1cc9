namespace Rain.Engine.Tensors;

/// <summary>
/// One tensor of a checkpoint: its name, element type, shape and size in bytes as stored. Obtained from
/// <see cref="ICheckpoint.Tensors"/>; immutable.
/// </summary>
public sealed class TensorInfo
{
    private readonly long[] _shape;

    internal TensorInfo(string name, TensorDType dtype, long[] shape, long elementCount, long dataOffset)
    {
        Name = name;
        DType = dtype;
        _shape = shape;
        ElementCount = elementCount;
        ByteLength = elementCount * dtype.SizeOf();
        DataOffset = dataOffset;
    }

    /// <summary>The state-dict key.</summary>
    public string Name { get; }

    /// <summary>The element type the file stores.</summary>
    public TensorDType DType { get; }

    /// <summary>The shape (empty for a scalar).</summary>
    public IReadOnlyList<long> Shape => _shape;

    /// <summary>Product of <see cref="Shape"/>.</summary>
    public long ElementCount { get; }

    /// <summary>Bytes the tensor occupies as stored (<see cref="ElementCount"/> × element size).</summary>
    public long ByteLength { get; }

    /// <summary>Absolute offset of the first byte in the checkpoint file.</summary>
    internal long DataOffset { get; }

    /// <summary>The shape as "[a, b, c]".</summary>
    public string ShapeText => "[" + string.Join(", ", _shape) + "]";

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {DType.ToSafetensorsName()} {ShapeText}";
}

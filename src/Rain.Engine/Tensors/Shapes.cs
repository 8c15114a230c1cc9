namespace Rain.Engine.Tensors;

/// <summary>Overflow-checked shape arithmetic shared by the readers.</summary>
internal static class Shapes
{
    /// <summary>The element count of <paramref name="shape"/> and its byte length, or a format error on a negative dimension or overflow.</summary>
    public static (long Elements, long Bytes) Measure(string path, string entry, ReadOnlySpan<long> shape, TensorDType dtype)
    {
        long elements = 1;
        foreach (long d in shape)
        {
            if (d < 0)
                throw new CheckpointFormatException(path, entry, $"shape [{string.Join(", ", shape.ToArray())}] has a negative dimension.");
            if (d != 0 && elements > long.MaxValue / d)
                throw new CheckpointFormatException(path, entry, $"shape [{string.Join(", ", shape.ToArray())}] has more elements than a 64-bit count holds.");
            elements *= d;
        }

        int size = dtype.SizeOf();
        if (elements > long.MaxValue / size)
            throw new CheckpointFormatException(path, entry, $"shape [{string.Join(", ", shape.ToArray())}] of {dtype} needs more bytes than a 64-bit length holds.");
        return (elements, elements * size);
    }
}

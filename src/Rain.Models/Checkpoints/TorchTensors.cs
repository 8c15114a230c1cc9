using Rain.Engine.Tensors;

namespace Rain.Models.Checkpoints;

/// <summary>Places a rebuilt torch tensor inside its storage's bytes, checking it fits (shared by the zip and legacy readers).</summary>
internal static class TorchTensors
{
    /// <summary>
    /// The tensor <paramref name="name"/> as a <see cref="TensorInfo"/>, given its storage's bytes: <paramref name="storageBytes"/>
    /// long, starting at the offset <paramref name="dataOffset"/> returns (called only once the tensor is known to fit).
    /// </summary>
    public static TensorInfo Locate(string path, string name, TensorRef t, string storageEntry, Func<long> dataOffset, long storageBytes)
    {
        var storage = t.Storage;
        int size = storage.DType.SizeOf();
        if (storage.ElementCount > storageBytes / size)
            throw new CheckpointFormatException(path, storageEntry, $"the pickle declares {storage.ElementCount} {storage.DType} elements ({storage.ElementCount * (long)size} bytes), the storage holds {storageBytes} bytes.");
        var (elements, _) = Shapes.Measure(path, name, t.Size, storage.DType);
        CheckContiguous(path, name, t);
        if (elements > 0 && t.StorageOffset > storage.ElementCount - elements)
            throw new CheckpointFormatException(path, name, $"shape [{string.Join(", ", t.Size)}] at storage offset {t.StorageOffset} needs {t.StorageOffset + elements} elements, storage '{storage.Key}' has {storage.ElementCount}.");
        long data = dataOffset() + (elements > 0 ? t.StorageOffset * size : 0);
        return new TensorInfo(name, storage.DType, t.Size, elements, data);
    }

    // Row-major strides, ignoring dimensions of size 1 (their stride is arbitrary) and empty tensors.
    private static void CheckContiguous(string path, string name, TensorRef t)
    {
        if (t.Size.Contains(0))
            return;
        long expected = 1;
        for (int d = t.Size.Length - 1; d >= 0; d--)
        {
            if (t.Size[d] != 1 && t.Stride[d] != expected)
                throw new CheckpointFormatException(path, name, $"strides [{string.Join(", ", t.Stride)}] of shape [{string.Join(", ", t.Size)}] are not contiguous (row-major); only contiguous tensors are read. Save `{{k: v.contiguous() for k, v in sd.items()}}` instead.");
            expected *= t.Size[d];
        }
    }
}

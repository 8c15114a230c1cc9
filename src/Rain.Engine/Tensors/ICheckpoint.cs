namespace Rain.Engine.Tensors;

/// <summary>
/// A read-only, memory-mapped view of a checkpoint's tensors (a safetensors file or a torch.save file). Opening
/// validates every tensor's position and size against the file, so reads of a listed tensor do not fail (short of
/// a tensor over 2 GB, which one span cannot hold); data is only touched when a tensor is read. Reads may run on
/// several threads at once; disposal must not overlap them. Obtain one from <see cref="SafetensorsReader.Open"/> (or,
/// at export time, from Rain.Models' <c>Checkpoint.Open</c>, which also reads torch.save files).
/// </summary>
public interface ICheckpoint : IDisposable
{
    /// <summary>The file the tensors come from.</summary>
    string Path { get; }

    /// <summary>"safetensors", "torch-zip" or "torch-legacy".</summary>
    string Format { get; }

    /// <summary>Every tensor, in the file's order (the state dict's order for .pth, the header's for safetensors).</summary>
    IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>Free-form string metadata (safetensors <c>__metadata__</c>; empty for torch files).</summary>
    IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Looks a tensor up by name.</summary>
    bool TryGet(string name, out TensorInfo tensor);

    /// <summary>
    /// The tensor's bytes as stored (little-endian), without copying. The span points into the file mapping and is
    /// valid only until this checkpoint is disposed. Throws <see cref="KeyNotFoundException"/> for an unknown name.
    /// </summary>
    ReadOnlySpan<byte> ReadRaw(string name);

    /// <summary>Converts the tensor to float32 into <paramref name="destination"/> (length ≥ element count).</summary>
    void ReadFloat32(string name, Span<float> destination);

    /// <summary>The tensor converted to a new float32 array.</summary>
    float[] ReadFloat32(string name);
}

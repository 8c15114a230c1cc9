namespace Rain.Engine.Tensors;

/// <summary>
/// The format-independent half of a checkpoint: a mapped file plus validated tensor positions. Format readers
/// (<see cref="SafetensorsReader"/>, Rain.Models' <c>TorchZipReader</c>) only produce the tensor list.
/// </summary>
internal sealed class MappedCheckpoint : ICheckpoint
{
    private static readonly IReadOnlyDictionary<string, string> NoMetadata = new Dictionary<string, string>();
    private readonly MappedFile _file;
    private readonly Dictionary<string, TensorInfo> _byName;
    private readonly Action<TensorInfo>? _verify;

    /// <param name="file">The mapped file (owned from now on).</param>
    /// <param name="format">Format name.</param>
    /// <param name="tensors">Validated tensor positions.</param>
    /// <param name="metadata">Free-form metadata.</param>
    /// <param name="verify">Checks a tensor's stored bytes before they are first handed out (a zip's CRC-32); may run on several threads.</param>
    public MappedCheckpoint(MappedFile file, string format, IReadOnlyList<TensorInfo> tensors, IReadOnlyDictionary<string, string>? metadata, Action<TensorInfo>? verify = null)
    {
        _file = file;
        _verify = verify;
        Format = format;
        Tensors = tensors;
        Metadata = metadata ?? NoMetadata;
        _byName = new Dictionary<string, TensorInfo>(tensors.Count, StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (!_byName.TryAdd(t.Name, t))
                throw new CheckpointFormatException(file.Path, t.Name, "the tensor name occurs twice.");
        }
    }

    public string Path => _file.Path;

    public string Format { get; }

    public IReadOnlyList<TensorInfo> Tensors { get; }

    public IReadOnlyDictionary<string, string> Metadata { get; }

    public bool TryGet(string name, out TensorInfo tensor) => _byName.TryGetValue(name, out tensor!);

    public ReadOnlySpan<byte> ReadRaw(string name)
    {
        var t = Get(name);
        if (t.ByteLength > int.MaxValue)
            throw new CheckpointFormatException(Path, name, $"the tensor has {t.ByteLength} bytes; one span holds at most {int.MaxValue}.");
        _verify?.Invoke(t);
        return _file.Span(t.DataOffset, (int)t.ByteLength);
    }

    public void ReadFloat32(string name, Span<float> destination)
    {
        var t = Get(name);
        if (destination.Length < t.ElementCount)
            throw new ArgumentException($"{name} has {t.ElementCount} elements; the destination holds {destination.Length}.", nameof(destination));
        Float32Conversion.Convert(t.DType, ReadRaw(name), destination);
    }

    public float[] ReadFloat32(string name)
    {
        var t = Get(name);
        if (t.ElementCount > Array.MaxLength)
            throw new CheckpointFormatException(Path, name, $"the tensor has {t.ElementCount} elements, more than one array holds.");
        var result = GC.AllocateUninitializedArray<float>((int)t.ElementCount);
        ReadFloat32(name, result);
        return result;
    }

    public void Dispose() => _file.Dispose();

    private TensorInfo Get(string name) =>
        _byName.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'.");
}

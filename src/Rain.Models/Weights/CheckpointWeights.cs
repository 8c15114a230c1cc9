using Rain.Engine.Tensors;
using Rain.Models.Checkpoints;

namespace Rain.Models.Weights;

/// <summary>An <see cref="IWeightSource"/> over a product checkpoint (.pth / .bin / .safetensors / Hugging Face folder).</summary>
public sealed class CheckpointWeights : IWeightSource, IDisposable
{
    private readonly ICheckpoint _checkpoint;
    private readonly string[] _keys;

    /// <summary>Opens a checkpoint (see <see cref="Checkpoint.Open"/>); dispose to release the file.</summary>
    public CheckpointWeights(string path)
    {
        _checkpoint = Checkpoint.Open(path);
        _keys = _checkpoint.Tensors.Select(t => t.Name).ToArray();
    }

    /// <inheritdoc />
    public string Origin => _checkpoint.Path;

    /// <inheritdoc />
    public IReadOnlyCollection<string> Keys => _keys;

    /// <inheritdoc />
    public bool TryGetShape(string key, out long[] shape)
    {
        bool found = _checkpoint.TryGet(key, out var info);
        shape = found ? [.. info.Shape] : [];
        return found;
    }

    /// <inheritdoc />
    public float[] Read(string key) => _checkpoint.ReadFloat32(key);

    /// <inheritdoc />
    public void Dispose() => _checkpoint.Dispose();
}

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

    /// <summary>Reads a tensor as float32 (a zip storage's CRC-32 checked on first read), refusing NaN and ±∞: corrupt weights are never exported.</summary>
    /// <exception cref="ModelExportException">The tensor holds a non-finite value.</exception>
    /// <exception cref="CheckpointFormatException">The stored bytes fail their CRC-32.</exception>
    public float[] Read(string key)
    {
        var values = _checkpoint.ReadFloat32(key);
        int bad = FiniteCheck.IndexOfNonFinite(values);
        if (bad >= 0)
            throw new ModelExportException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{_checkpoint.Path}: tensor '{key}' holds a non-finite value ({values[bad]} at element {bad}); the weights are corrupt, so nothing was exported (`rain inspect` lists every such tensor)."));
        return values;
    }

    /// <inheritdoc />
    public void Dispose() => _checkpoint.Dispose();
}

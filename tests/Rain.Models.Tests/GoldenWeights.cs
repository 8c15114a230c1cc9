using Rain.Models.Weights;
using Rain.Testing;

namespace Rain.Models.Tests;

/// <summary>An <see cref="IWeightSource"/> over the test reader, for golden weights until the product checkpoint reader is merged.</summary>
internal sealed class GoldenWeights(string relative) : IWeightSource
{
    private readonly MiniSafetensors _file = GoldenData.Open(relative);

    public string Origin { get; } = relative;

    public IReadOnlyCollection<string> Keys => _file.Names;

    public bool TryGetShape(string key, out long[] shape)
    {
        shape = _file.Contains(key) ? _file.Shape(key) : [];
        return _file.Contains(key);
    }

    public float[] Read(string key) => _file.Floats(key);
}

namespace Rain.Models.Weights;

/// <summary>
/// A key→shape map with no data: lets the builders check a checkpoint's key set (for example the full-size RAIN key
/// lists) against a configuration without reading or allocating any weights. <see cref="Read"/> refuses.
/// </summary>
public sealed class ShapeOnlyWeights : IWeightSource
{
    private readonly Dictionary<string, long[]> _shapes;

    /// <summary>Creates the source from (key, shape) pairs.</summary>
    public ShapeOnlyWeights(string origin, IEnumerable<KeyValuePair<string, long[]>> shapes)
    {
        Origin = origin;
        _shapes = new Dictionary<string, long[]>(shapes, StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public string Origin { get; }

    /// <inheritdoc />
    public IReadOnlyCollection<string> Keys => _shapes.Keys;

    /// <inheritdoc />
    public bool TryGetShape(string key, out long[] shape) => _shapes.TryGetValue(key, out shape!);

    /// <inheritdoc />
    public float[] Read(string key) =>
        throw new InvalidOperationException($"{Origin}: '{key}' has a shape but no data (a shape-only key set cannot be exported).");
}

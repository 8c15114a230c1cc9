namespace Rain.Models.Weights;

/// <summary>
/// Binds the keys a network builder asks for to a <see cref="IWeightSource"/>: checks presence and shape when the
/// graph is built, records which keys were consumed, and at the end reports keys the architecture does not use.
/// </summary>
public sealed class WeightBinder
{
    private readonly HashSet<string> _consumed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _ignored = new(StringComparer.Ordinal);

    /// <summary>Creates a binder over a source.</summary>
    public WeightBinder(IWeightSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Source = source;
    }

    /// <summary>The bound source.</summary>
    public IWeightSource Source { get; }

    /// <summary>Keys consumed so far.</summary>
    public IReadOnlyCollection<string> Consumed => _consumed;

    /// <summary>True when the source holds the key.</summary>
    public bool Has(string key) => Source.TryGetShape(key, out _);

    /// <summary>The stored shape of a key that must exist (used where RAIN hard-codes sizes the config lacks).</summary>
    public long[] ShapeOf(string key) =>
        Source.TryGetShape(key, out var shape)
            ? shape
            : throw new ModelExportException($"{Source.Origin}: missing key '{key}'.");

    /// <summary>Marks a key consumed after checking that it exists with exactly <paramref name="expected"/>.</summary>
    public void Bind(string key, long[] expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        if (Source is RandomWeights random)
            random.Declare(key, expected);
        if (!Source.TryGetShape(key, out var actual))
            throw new ModelExportException($"{Source.Origin}: missing key '{key}' (expected shape {Format(expected)}).");
        if (!actual.AsSpan().SequenceEqual(expected))
            throw new ModelExportException($"{Source.Origin}: key '{key}' has shape {Format(actual)}, but the configuration implies {Format(expected)}.");
        if (!_consumed.Add(key))
            throw new InvalidOperationException($"{Source.Origin}: key '{key}' bound twice.");
    }

    /// <summary>Accepts a key the networks do not compute with (for example a persistent index buffer) if it is present.</summary>
    public void Ignore(string key) => _ignored.Add(key);

    /// <summary>Throws when the source holds keys that were neither consumed nor ignored.</summary>
    public void EnsureAllConsumed()
    {
        var unexpected = Source.Keys.Where(k => !_consumed.Contains(k) && !_ignored.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0)
        {
            string list = string.Join(", ", unexpected.Take(8).Select(k => $"'{k}'"));
            throw new ModelExportException(
                $"{Source.Origin}: {unexpected.Count} unexpected key(s) the configured architecture does not use: {list}{(unexpected.Count > 8 ? ", …" : "")}.");
        }
    }

    /// <summary>Formats a shape as [a, b, c].</summary>
    public static string Format(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}

using Rain.Engine.Tensors;

namespace Rain.Models.Checkpoints;

/// <summary>A tensor present on both sides whose shape or dtype differs.</summary>
/// <param name="Expected">What the key set says.</param>
/// <param name="Actual">What the checkpoint holds.</param>
public sealed record TensorDifference(ExpectedTensor Expected, TensorInfo Actual);

/// <summary>
/// A checkpoint's tensors compared with a <see cref="RainKeySet"/>: missing and unexpected keys and shape
/// mismatches make it a mismatch; dtype differences (a float16 release of float32 weights) are only reported.
/// </summary>
public sealed class KeySetComparison
{
    private KeySetComparison(RainKeySet expected, List<ExpectedTensor> missing, List<TensorInfo> unexpected, List<TensorDifference> shapes, List<TensorDifference> dtypes, int matched)
    {
        Expected = expected;
        Missing = missing;
        Unexpected = unexpected;
        ShapeMismatches = shapes;
        DTypeDifferences = dtypes;
        Matched = matched;
    }

    /// <summary>The key set compared against.</summary>
    public RainKeySet Expected { get; }

    /// <summary>Expected tensors the checkpoint lacks (buffers included; see <see cref="ExpectedTensor.IsBuffer"/>).</summary>
    public IReadOnlyList<ExpectedTensor> Missing { get; }

    /// <summary>Checkpoint tensors the key set does not name.</summary>
    public IReadOnlyList<TensorInfo> Unexpected { get; }

    /// <summary>Tensors on both sides with different shapes.</summary>
    public IReadOnlyList<TensorDifference> ShapeMismatches { get; }

    /// <summary>Tensors on both sides with the same shape but a different dtype (not a mismatch).</summary>
    public IReadOnlyList<TensorDifference> DTypeDifferences { get; }

    /// <summary>Tensors present on both sides with equal shapes.</summary>
    public int Matched { get; }

    /// <summary>True when every key is present on both sides with the same shape.</summary>
    public bool IsMatch => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatches.Count == 0;

    /// <summary>Compares <paramref name="tensors"/> (e.g. <see cref="ICheckpoint.Tensors"/>) with <paramref name="expected"/>.</summary>
    public static KeySetComparison Compare(IReadOnlyList<TensorInfo> tensors, RainKeySet expected)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(expected);
        var actual = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        foreach (var t in tensors)
            actual.TryAdd(t.Name, t);
        var names = expected.Tensors.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        List<ExpectedTensor> missing = [];
        List<TensorDifference> shapes = [], dtypes = [];
        int matched = 0;
        foreach (var e in expected.Tensors)
        {
            if (!actual.TryGetValue(e.Name, out var a))
                missing.Add(e);
            else if (!e.Shape.SequenceEqual(a.Shape))
                shapes.Add(new TensorDifference(e, a));
            else
            {
                matched++;
                if (e.DType != a.DType)
                    dtypes.Add(new TensorDifference(e, a));
            }
        }

        var unexpected = tensors.Where(t => !names.Contains(t.Name)).ToList();
        return new KeySetComparison(expected, missing, unexpected, shapes, dtypes, matched);
    }
}

using System.Diagnostics;

namespace Rain.Engine.Api;

/// <summary>Percentiles of a set of durations, in milliseconds.</summary>
/// <param name="Count">Samples summarised.</param>
/// <param name="Mean">Arithmetic mean.</param>
/// <param name="P50">Median (nearest-rank).</param>
/// <param name="P95">95th percentile (nearest-rank).</param>
/// <param name="P99">99th percentile (nearest-rank).</param>
/// <param name="Max">Largest sample.</param>
public readonly record struct LatencySummary(int Count, double Mean, double P50, double P95, double P99, double Max)
{
    /// <summary>"p50 … p95 … p99 … ms" for reports.</summary>
    public override string ToString() =>
        FormattableString.Invariant($"n={Count} mean={Mean:F2} p50={P50:F2} p95={P95:F2} p99={P99:F2} max={Max:F2} ms");
}

/// <summary>
/// A fixed-capacity recorder of durations (the most recent <see cref="Capacity"/> samples). Recording never allocates,
/// so it can sit on the per-step path; summarising sorts a copy. Thread-safe.
/// </summary>
public sealed class LatencyRecorder
{
    private readonly double[] _samples;
    private readonly Lock _lock = new();
    private long _total;

    /// <summary>Creates a recorder keeping the last <paramref name="capacity"/> samples.</summary>
    public LatencyRecorder(int capacity = 65536)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _samples = new double[capacity];
    }

    /// <summary>Samples kept at most.</summary>
    public int Capacity => _samples.Length;

    /// <summary>Samples recorded since creation (including those no longer kept).</summary>
    public long Total
    {
        get
        {
            lock (_lock)
                return _total;
        }
    }

    /// <summary>Records a duration in milliseconds.</summary>
    public void Record(double milliseconds)
    {
        lock (_lock)
        {
            _samples[_total % _samples.Length] = milliseconds;
            _total++;
        }
    }

    /// <summary>Records the time since <paramref name="startTimestamp"/> (a <see cref="Stopwatch.GetTimestamp"/> value).</summary>
    public void RecordSince(long startTimestamp) => Record(Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds);

    /// <summary>Percentiles over the kept samples (nearest-rank); all zero when empty.</summary>
    public LatencySummary Summarize()
    {
        double[] copy;
        lock (_lock)
        {
            int n = (int)Math.Min(_total, _samples.Length);
            copy = _samples.AsSpan(0, n).ToArray();
        }

        return Summarize(copy);
    }

    /// <summary>Nearest-rank percentiles of <paramref name="samples"/> (sorted in place).</summary>
    public static LatencySummary Summarize(double[] samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Length == 0)
            return default;
        Array.Sort(samples);
        return new LatencySummary(samples.Length, samples.Average(), Rank(samples, 0.50), Rank(samples, 0.95), Rank(samples, 0.99), samples[^1]);
    }

    private static double Rank(double[] sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
}

namespace Rain.Engine.Pose;

/// <summary>
/// RAIN's face cache and damping (<c>src/dwpose/__init__.py:81-94</c>, spec §7): every coordinate that is exactly −1
/// (invisible) takes the value of the previous frame's entry; the filled face is appended; the face drawn is the
/// weighted mean of the last n = min(frames, damping) entries with weights i / (n(n+1)/2), oldest first.
/// <b>[quirk]</b>s kept: the fill is per coordinate, not per point; a point never seen stays −1; a point missing in an
/// older entry is averaged in as −1 for the next n−1 frames after it appears. RAIN's list grows for the life of the
/// process; only the last max(damping, 1) entries are ever read, so this keeps exactly those (a ring).
/// </summary>
internal sealed class FaceCache
{
    public const int Values = 2 * FaceTranslation.FacePoints;

    private readonly double[] _ring;
    private readonly double[] _weights;
    private int _count, _next;

    public FaceCache(int damping)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(damping, 1);
        Damping = damping;
        _ring = new double[damping * Values];
        _weights = new double[damping];
    }

    public int Damping { get; }

    /// <summary>Entries held (at most <see cref="Damping"/>).</summary>
    public int Count => _count;

    /// <summary>Forgets every entry (RAIN never does; a new, unrelated stream may want to).</summary>
    public void Clear() => (_count, _next) = (0, 0);

    /// <summary>
    /// One frame: <paramref name="face"/> (68 (x, y), −1 where invisible) is filled from the newest entry and appended;
    /// <paramref name="filled"/> receives the filled face, <paramref name="damped"/> the damped one.
    /// </summary>
    public void Push(ReadOnlySpan<double> face, Span<double> filled, Span<double> damped)
    {
        if (face.Length != Values || filled.Length != Values || damped.Length != Values)
            throw new ArgumentException($"faces are {Values} values.");
        if (_count > 0)
        {
            var last = Entry(_count - 1);
            for (int i = 0; i < Values; i++)
                filled[i] = face[i] == -1 ? last[i] : face[i];
        }
        else
        {
            face.CopyTo(filled);
        }

        filled.CopyTo(_ring.AsSpan(_next * Values, Values));
        _next = (_next + 1) % Damping;
        _count = Math.Min(_count + 1, Damping);

        int n = _count;
        // np.arange(1, n + 1) / ((n + 1) * n / 2.0): the denominator is exact, each weight one division.
        double denominator = (n + 1) * n / 2.0;
        for (int i = 0; i < n; i++)
            _weights[i] = (i + 1) / denominator;
        // np.sum(cache[-n:] * window, axis=0): multiply first, then add oldest to newest (the first term as is).
        var oldest = Entry(0);
        for (int v = 0; v < Values; v++)
            damped[v] = oldest[v] * _weights[0];
        for (int i = 1; i < n; i++)
        {
            var e = Entry(i);
            double w = _weights[i];
            for (int v = 0; v < Values; v++)
                damped[v] += e[v] * w;
        }
    }

    /// <summary>The i-th held entry, 0 = oldest.</summary>
    private ReadOnlySpan<double> Entry(int i)
    {
        int slot = ((_next - _count + i) % Damping + Damping) % Damping;
        return _ring.AsSpan(slot * Values, Values);
    }
}

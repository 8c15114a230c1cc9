namespace Rain.Engine.Pose;

/// <summary>
/// One step of RAIN's face retargeting (<c>src/modeling/translation.py</c>, spec §8.2): the landmark group
/// G = face[<see cref="LeftIndex"/> … <see cref="RightIndex"/>−1] is centred on its mean, rotated into its own axis frame
/// (when <see cref="XAxis"/> is set), scaled, shifted by a multiple of a reference length, rotated back and put back.
/// Immutable; checked by <see cref="Validate"/> (which <see cref="RetargetOptions"/> calls for every entry).
/// </summary>
public sealed record FaceTranslation
{
    /// <summary>Number of face landmarks (the 300-W / iBUG 68-point layout DWPose outputs).</summary>
    public const int FacePoints = 68;

    /// <summary>First landmark of the group (<c>lindex</c>).</summary>
    public required int LeftIndex { get; init; }

    /// <summary>One past the last landmark of the group (<c>rindex</c>, exclusive).</summary>
    public required int RightIndex { get; init; }

    /// <summary>Scale along the group's x-axis (<c>horizontal_scale</c>, default 1).</summary>
    public double HorizontalScale { get; init; } = 1.0;

    /// <summary>Scale along the group's y-axis (<c>vertical_scale</c>, default 1).</summary>
    public double VerticalScale { get; init; } = 1.0;

    /// <summary>Shift along the group's x-axis in units of the reference length (<c>horizontal_transition</c>, default 0).</summary>
    public double HorizontalTransition { get; init; }

    /// <summary>Shift along the group's y-axis in units of the reference length (<c>vertical_transition</c>, default 0).</summary>
    public double VerticalTransition { get; init; }

    /// <summary>
    /// The group's x-axis runs from G[A] to G[B] (indices relative to the group; <c>xaxis</c>). Null: the image axes
    /// (no rotation).
    /// </summary>
    public (int A, int B)? XAxis { get; init; }

    /// <summary>
    /// The reference length is the distance between face[P] and face[Q] (absolute face indices, measured on the face as
    /// the earlier translations left it; <c>relative_length</c>). Null: length 1.
    /// </summary>
    public (int P, int Q)? RelativeLength { get; init; }

    /// <summary>Checks indices and values; <paramref name="name"/> prefixes the message (for example <c>translations[3]</c>).</summary>
    /// <exception cref="ArgumentException">An index outside the face or the group, or a value that is not finite.</exception>
    public void Validate(string name = "translation")
    {
        if (LeftIndex < 0 || RightIndex > FacePoints || LeftIndex >= RightIndex)
            throw new ArgumentException($"{name}: lindex {LeftIndex} / rindex {RightIndex} must satisfy 0 <= lindex < rindex <= {FacePoints}.");
        int size = RightIndex - LeftIndex;
        if (XAxis is (int a, int b) && (a < 0 || a >= size || b < 0 || b >= size))
            throw new ArgumentException($"{name}: xaxis [{a}, {b}] must index the group of {size} landmarks (0..{size - 1}).");
        if (RelativeLength is (int p, int q) && (p < 0 || p >= FacePoints || q < 0 || q >= FacePoints))
            throw new ArgumentException($"{name}: relative_length [{p}, {q}] must index the face (0..{FacePoints - 1}).");
        Finite(HorizontalScale, "horizontal_scale");
        Finite(VerticalScale, "vertical_scale");
        Finite(HorizontalTransition, "horizontal_transition");
        Finite(VerticalTransition, "vertical_transition");

        void Finite(double v, string field)
        {
            if (!double.IsFinite(v))
                throw new ArgumentException($"{name}: {field} must be a finite number; found {v}.");
        }
    }

    /// <summary>
    /// Applies the translation to <paramref name="face"/> (68 (x, y) pairs, normalised coordinates) in place, exactly as
    /// RAIN does in float64: reference length, group mean (summed in row order), rotation into the axis frame,
    /// x·scale + transition·L, rotation back (cos θ and −sin θ, RAIN's cos(−θ), sin(−θ)), mean added back. No fused
    /// multiply-add: every product is rounded before it is added, as numpy does.
    /// </summary>
    internal void Apply(Span<double> face)
    {
        double l = 1.0;
        if (RelativeLength is (int p, int q))
        {
            double dx = face[2 * p] - face[2 * q], dy = face[(2 * p) + 1] - face[(2 * q) + 1];
            l = Math.Sqrt((dx * dx) + (dy * dy));
        }

        var g = face.Slice(2 * LeftIndex, 2 * (RightIndex - LeftIndex));
        int n = RightIndex - LeftIndex;
        double sx = g[0], sy = g[1];
        for (int i = 1; i < n; i++)
        {
            sx += g[2 * i];
            sy += g[(2 * i) + 1];
        }

        double cx = sx / n, cy = sy / n;
        double s = 0, k = 1;
        bool rotate = XAxis is not null;
        if (XAxis is (int a, int b))
        {
            double theta = Math.Atan2(g[(2 * b) + 1] - g[(2 * a) + 1], g[2 * b] - g[2 * a]);
            s = Math.Sin(theta);
            k = Math.Cos(theta);
        }

        double hs = HorizontalScale, vs = VerticalScale, ht = HorizontalTransition * l, vt = VerticalTransition * l;
        for (int i = 0; i < n; i++)
        {
            double x = g[2 * i] - cx, y = g[(2 * i) + 1] - cy;
            if (rotate)
            {
                // (dx, dy) @ [[cos, −sin], [sin, cos]]: each product rounded, then added (numpy's matmul of 2×2 has no FMA).
                double rx = (x * k) + (y * s), ry = (-(x * s)) + (y * k);
                (x, y) = (rx, ry);
            }

            x = (x * hs) + ht;
            y = (y * vs) + vt;
            if (rotate)
            {
                // @ [[cos(−θ), −sin(−θ)], [sin(−θ), cos(−θ)]] with cos(−θ) = cos θ and sin(−θ) = −sin θ bitwise.
                double rx = (x * k) + (y * -s), ry = (-(x * -s)) + (y * k);
                (x, y) = (rx, ry);
            }

            g[2 * i] = cx + x;
            g[(2 * i) + 1] = cy + y;
        }
    }
}

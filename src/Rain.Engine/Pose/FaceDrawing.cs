namespace Rain.Engine.Pose;

/// <summary>
/// RAIN's face drawing (<c>draw_facepose</c> with patterns, spec §8): the face length l on the damped landmarks, the
/// retargeting translations, then one filled circle of radius max(trunc(3·l), 1) per pattern at the mean of its
/// landmarks, on a black canvas. This is the only way Rain.Engine draws a face: the pose front end and
/// <c>rain demo</c> both use it. <b>[quirk]</b>s kept from RAIN: the radius is in pixels and does not scale with the
/// canvas; a centre in pixel row or column 0 is not drawn (the test is x &gt; 0.01 on the truncated integer); centres
/// past the right or bottom edge are drawn and clipped; a landmark still at (−1, −1) enters every mean like any other.
/// Not thread-safe (it keeps a scratch copy of the face); one instance per stream.
/// </summary>
public sealed class FaceDrawing
{
    /// <summary>RAIN's 26 patterns (<c>src/morpher.py:299-326</c>, spec §9.2): landmark indices and colour, the colour's
    /// numbers written as given into channels 0, 1, 2 (RAIN writes them in OpenCV's BGR habit but the canvas is used as
    /// RGB, so (0, 255, 255) is cyan: swapped nowhere, as in RAIN).</summary>
    internal static readonly (int A, int B, byte C0, byte C1, byte C2)[] Patterns =
    [
        (1, 2, 0, 255, 255), (4, -1, 0, 255, 255), (8, -1, 0, 255, 255), (12, -1, 0, 255, 255), (15, 14, 0, 255, 255),
        (17, -1, 128, 0, 255), (18, 19, 128, 0, 255), (20, -1, 128, 0, 255),
        (23, -1, 255, 0, 128), (24, 25, 255, 0, 128), (26, -1, 255, 0, 128),
        (60, -1, 0, 0, 255), (62, -1, 0, 0, 255), (64, -1, 0, 0, 255), (66, -1, 0, 0, 255),
        (33, 30, 255, 0, 255),
        (36, 37, 255, 128, 128), (37, 38, 255, 128, 128), (38, 39, 255, 128, 128), (40, 39, 255, 128, 128), (41, -1, 255, 128, 128),
        (42, 43, 128, 128, 255), (43, 44, 128, 128, 255), (44, 45, 128, 128, 255), (46, -1, 128, 128, 255), (47, 42, 128, 128, 255),
    ];

    /// <summary>Number of patterns (circles at most) per face.</summary>
    public const int PatternCount = 26;

    private readonly double[] _face = new double[2 * FaceTranslation.FacePoints];
    private readonly int[] _centers = new int[2 * PatternCount];
    private readonly bool[] _drawn = new bool[PatternCount];

    /// <summary>The face as last drawn: 68 (x, y) pairs, normalised, after the translations (the golden's <c>face_translated</c>).</summary>
    public ReadOnlySpan<double> Translated => _face;

    /// <summary>The last face length l (normalised units, before the translations).</summary>
    public double FaceLength { get; private set; }

    /// <summary>The last circle radius in pixels.</summary>
    public int Radius { get; private set; }

    /// <summary>Circles drawn for the last face (patterns whose centre passed the ≥ 1 px test).</summary>
    public int CirclesDrawn { get; private set; }

    /// <summary>The pattern centres in pixels of the last face: (x, y) per pattern, truncated toward zero.</summary>
    internal ReadOnlySpan<int> Centers => _centers;

    /// <summary>Whether each pattern's circle was drawn for the last face.</summary>
    internal ReadOnlySpan<bool> Drawn => _drawn;

    /// <summary>
    /// Clears <paramref name="canvas"/> (width×height RGB, rows <paramref name="stride"/> bytes apart) to black and draws
    /// <paramref name="face"/> (68 (x, y) pairs normalised by width and height, as the face cache leaves them) through
    /// <paramref name="retarget"/>'s translations and RAIN's 26 patterns.
    /// </summary>
    /// <exception cref="ArgumentException">The face is not 136 values, or the canvas is too small.</exception>
    public void Draw(ReadOnlySpan<double> face, RetargetOptions retarget, Span<byte> canvas, int width, int height, int stride)
    {
        ArgumentNullException.ThrowIfNull(retarget);
        if (face.Length != _face.Length)
            throw new ArgumentException($"a face is {FaceTranslation.FacePoints} (x, y) pairs ({_face.Length} values); got {face.Length}.", nameof(face));
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        Media.PilResizePlan.CheckSpan(canvas.Length, width, height, stride, nameof(canvas));
        FaceLength = Length(face);
        Radius = RadiusOf(FaceLength);
        face.CopyTo(_face);
        foreach (var t in retarget.Span)
            t.Apply(_face);
        for (int y = 0; y < height; y++)
            canvas.Slice(y * stride, width * 3).Clear();
        int drawn = 0;
        for (int i = 0; i < PatternCount; i++)
        {
            var (a, b, c0, c1, c2) = Patterns[i];
            // np.mean over one or two points: (x)/1, or (a + b)/2 with the sum first.
            double cx = b < 0 ? _face[2 * a] : (_face[2 * a] + _face[2 * b]) / 2;
            double cy = b < 0 ? _face[(2 * a) + 1] : (_face[(2 * a) + 1] + _face[(2 * b) + 1]) / 2;
            int px = Trunc(cx * width), py = Trunc(cy * height);
            _centers[2 * i] = px;
            _centers[(2 * i) + 1] = py;
            _drawn[i] = px > 0.01 && py > 0.01;
            if (_drawn[i])
            {
                Circle.Fill(canvas, width, height, stride, px, py, Radius, c0, c1, c2);
                drawn++;
            }
        }

        CirclesDrawn = drawn;
    }

    /// <summary>l = ‖p27 − p8‖ / 0.3 (sqrt of the sum of squares, as numpy; not hypot).</summary>
    internal static double Length(ReadOnlySpan<double> face)
    {
        double dx = face[2 * 27] - face[2 * 8], dy = face[(2 * 27) + 1] - face[(2 * 8) + 1];
        return Math.Sqrt((dx * dx) + (dy * dy)) / 0.3;
    }

    /// <summary>Largest radius drawn: 3·l beyond it means a face thousands of frames wide (garbage landmarks), and
    /// OpenCV's integer circle would overflow; capping keeps the frame time bounded.</summary>
    internal const int MaxRadius = 1 << 16;

    /// <summary>max(int(3·l), 1), capped at <see cref="MaxRadius"/>.</summary>
    internal static int RadiusOf(double l) => Math.Min(Math.Max(Trunc(3 * l), 1), MaxRadius);

    /// <summary>Python's <c>int(x)</c> for a float: truncation toward zero; values beyond int's range saturate (RAIN would
    /// draw nothing visible for them either), NaN becomes 0 (RAIN raises there; a front end must keep running).</summary>
    internal static int Trunc(double x) => double.IsNaN(x) ? 0 : x >= int.MaxValue ? int.MaxValue : x <= int.MinValue ? int.MinValue : (int)x;
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Rain.Engine.Pose;

/// <summary>One row of class-aware NMS output (RAIN's <c>dets</c>): box in detection-space pixels, score, class.</summary>
internal readonly record struct Detection(double X1, double Y1, double X2, double Y2, double Score, int Class);

/// <summary>
/// YOLOX post-processing as RAIN runs it (<c>src/dwpose/onnxdet.py</c>, spec §3.3–§3.5): grid decoding of the raw
/// [1, N, 85] output, scores = objectness × class probability (float32), class-aware NMS (score &gt; 0.1f, IoU with the
/// "+1" pixel convention, suppress above 0.45f, all float32), then the person boxes (class 0, score &gt; 0.3 in float64)
/// and the largest of them by area — not the highest score. <b>[quirk]</b> NMS orders equal scores like RAIN's reversed
/// stable argsort: the later row first (numpy's order is only defined that way up to 16 candidates; beyond, this keeps
/// the same rule). The candidate list grows on demand (bounded by N·80) and is reused, so a steady stream allocates
/// nothing. Not thread-safe.
/// </summary>
internal sealed class YoloxDecoder
{
    public const int Columns = 85;
    public const int Classes = 80;
    private const float ScoreThreshold = 0.1f;
    private const float NmsThreshold = 0.45f;

    private static readonly int[] Strides = [8, 16, 32];

    private readonly int _inputWidth, _inputHeight;
    private long[] _candidates = new long[256];
    private Candidate[] _boxes = new Candidate[256];
    private Detection[] _detections = new Detection[64];
    private bool[] _suppressed = new bool[256];
    private int _candidateCount, _detectionCount;

    /// <summary>A decoder for a detector of <paramref name="inputWidth"/>×<paramref name="inputHeight"/> (strides 8, 16, 32).</summary>
    public YoloxDecoder(int inputWidth, int inputHeight)
    {
        (_inputWidth, _inputHeight) = (inputWidth, inputHeight);
        foreach (int s in Strides)
            Rows += (inputHeight / s) * (inputWidth / s);
    }

    /// <summary>Rows (anchors) the raw output must have: 8400 for 640×640.</summary>
    public int Rows { get; }

    /// <summary>The NMS output of the last frame, in RAIN's order (classes ascending, score descending).</summary>
    public ReadOnlySpan<Detection> Detections => _detections.AsSpan(0, _detectionCount);

    /// <summary>
    /// Decodes <paramref name="output"/> (Rows×85) and returns the index into <see cref="Detections"/> of the largest person
    /// box, or −1 when no class-0 box scores above 0.3. <paramref name="ratio"/> is the letterbox ratio r.
    /// </summary>
    public int Run(ReadOnlySpan<float> output, double ratio)
    {
        if (output.Length != Rows * Columns)
            throw new ArgumentException($"the detector output holds {output.Length} values; a YOLOX model at {_inputWidth}x{_inputHeight} gives [1, {Rows}, {Columns}].", nameof(output));
        _candidateCount = 0;
        _detectionCount = 0;
        Collect(output);
        // One key per candidate orders them as RAIN does (see CandidateKey); sorting longs allocates nothing.
        var keys = _candidates.AsSpan(0, _candidateCount);
        keys.Sort();
        if (_boxes.Length < keys.Length)
            _boxes = new Candidate[Math.Max(keys.Length, _boxes.Length * 2)];
        var candidates = _boxes.AsSpan(0, keys.Length);
        float r = (float)ratio;
        for (int i = 0; i < keys.Length; i++)
        {
            int cls = (int)(keys[i] >> 46), row = 16383 - (int)(keys[i] & 16383);
            var (x1, y1, x2, y2) = Box(output, row, r);
            candidates[i] = new Candidate(row, cls, Score(output, row, cls), x1, y1, x2, y2);
        }

        for (int start = 0; start < candidates.Length;)
        {
            int end = start + 1;
            while (end < candidates.Length && candidates[end].Class == candidates[start].Class)
                end++;
            Nms(candidates[start..end]);
            start = end;
        }

        return Choose(Detections);
    }

    /// <summary>The person box RAIN uses: the largest-area class-0 detection with score &gt; 0.3 (first on ties), or −1.</summary>
    internal static int Choose(ReadOnlySpan<Detection> detections)
    {
        int best = -1;
        double bestArea = 0;
        for (int i = 0; i < detections.Length; i++)
        {
            var d = detections[i];
            if (!(d.Score > 0.3 && d.Class == 0))
                continue;
            double area = (d.X2 - d.X1) * (d.Y2 - d.Y1);
            if (best < 0 || area > bestArea)
                (best, bestArea) = (i, area);
        }

        return best;
    }

    /// <summary>Grid cell and stride of raw row <paramref name="row"/>.</summary>
    internal (int Gx, int Gy, int Stride) Cell(int row)
    {
        foreach (int s in Strides)
        {
            int g = _inputWidth / s, cells = g * (_inputHeight / s);
            if (row < cells)
                return (row % g, row / g, s);
            row -= cells;
        }

        throw new ArgumentOutOfRangeException(nameof(row));
    }

    /// <summary>
    /// Decodes one raw row: (cx, cy, w, h) in detector pixels, each rounded to float32 as numpy stores it ((t + g)·stride
    /// and exp(t)·stride, with numpy's own float32 exp: see <see cref="NumpyExp"/>).
    /// </summary>
    internal (float Cx, float Cy, float W, float H) DecodeRow(ReadOnlySpan<float> output, int row)
    {
        var (gx, gy, stride) = Cell(row);
        var r = output.Slice(row * Columns, 4);
        return ((float)((r[0] + (double)gx) * stride), (float)((r[1] + (double)gy) * stride), NumpyExp(r[2]) * stride, NumpyExp(r[3]) * stride);
    }

    /// <summary>
    /// <c>np.exp</c> on float32 as numpy 1.24 computes it on x86-64 with AVX2+FMA3 or AVX-512F (its SIMD kernel): not
    /// correctly rounded (up to 2.5 ulp), so a correctly rounded exp gives other boxes about half the time and moves every
    /// later stage by ~1e-8. The algorithm: inputs ≥ 88.7228… give ∞, ≤ −103.972… give 0; k = rint(x·log2 e) by the
    /// 1.5·2²³ trick; Cody–Waite reduction y = x + k·c1 + k·c2 with fused multiply-adds; exp(y) ≈ P₅(y)/Q₂(y) by Horner
    /// with fused multiply-adds; the result scaled by 2^k.
    /// </summary>
    internal static float NumpyExp(float x)
    {
        const float XMax = 88.72283935546875f, XMin = -103.97208404541015625f;
        const float Magic = 12582912f; // 0x1.8p23
        const float Log2E = 1.442695040888963407359924681001892137f;
        const float C1 = -6.93145752e-1f, C2 = -1.42860677e-6f;
        const float P0 = 9.999999999980870924916e-01f, P1 = 7.257664613233124478488e-01f, P2 = 2.473615434895520810817e-01f;
        const float P3 = 5.114512081637298353406e-02f, P4 = 6.757896990527504603057e-03f, P5 = 5.082762527590693718096e-04f;
        const float Q0 = 1.0f, Q1 = -2.742335390411667452936e-01f, Q2 = 2.159509375685829852307e-02f;
        if (float.IsNaN(x))
            return float.NaN;
        if (x >= XMax)
            return float.PositiveInfinity;
        if (x <= XMin)
            return 0f;
        float k = x * Log2E;
        k = (k + Magic) - Magic;
        float y = MathF.FusedMultiplyAdd(k, C1, x);
        y = MathF.FusedMultiplyAdd(k, C2, y);
        float num = MathF.FusedMultiplyAdd(P5, y, P4);
        num = MathF.FusedMultiplyAdd(num, y, P3);
        num = MathF.FusedMultiplyAdd(num, y, P2);
        num = MathF.FusedMultiplyAdd(num, y, P1);
        num = MathF.FusedMultiplyAdd(num, y, P0);
        float den = MathF.FusedMultiplyAdd(Q2, y, Q1);
        den = MathF.FusedMultiplyAdd(den, y, Q0);
        return MathF.ScaleB(num / den, (int)k);
    }

    /// <summary>Box (x1, y1, x2, y2) of a decoded row divided by the ratio (float32), in detection-space pixels, not clipped.</summary>
    internal (float X1, float Y1, float X2, float Y2) Box(ReadOnlySpan<float> output, int row, float ratio)
    {
        var (cx, cy, w, h) = DecodeRow(output, row);
        return ((cx - (w / 2f)) / ratio, (cy - (h / 2f)) / ratio, (cx + (w / 2f)) / ratio, (cy + (h / 2f)) / ratio);
    }

    /// <summary>score[c] = objectness × class probability, float32.</summary>
    internal static float Score(ReadOnlySpan<float> output, int row, int cls) => output[(row * Columns) + 4] * output[(row * Columns) + 5 + cls];

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Collect(ReadOnlySpan<float> output)
    {
        ref float o = ref MemoryMarshal.GetReference(output);
        var threshold = Vector256.Create(ScoreThreshold);
        var threshold512 = Vector512.Create(ScoreThreshold);
        for (int row = 0; row < Rows; row++)
        {
            // 80 classes = 5 (or 10) vectors; most rows have no score above 0.1, so test first and look closer only on a hit.
            ref float r = ref Unsafe.Add(ref o, row * Columns);
            ref float p = ref Unsafe.Add(ref r, 5);
            if (Vector512.IsHardwareAccelerated)
            {
                var obj = Vector512.Create(Unsafe.Add(ref r, 4));
                var any = Vector512.GreaterThan(obj * Vector512.LoadUnsafe(ref p), threshold512);
                for (int c = 16; c < Classes; c += 16)
                    any |= Vector512.GreaterThan(obj * Vector512.LoadUnsafe(ref p, (nuint)c), threshold512);
                if (any == Vector512<float>.Zero)
                    continue;
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                var obj = Vector256.Create(Unsafe.Add(ref r, 4));
                var any = Vector256<float>.Zero;
                for (int c = 0; c < Classes; c += 8)
                    any |= Vector256.GreaterThan(obj * Vector256.LoadUnsafe(ref p, (nuint)c), threshold);
                if (any == Vector256<float>.Zero)
                    continue;
            }

            for (int c = 0; c < Classes; c++)
            {
                float score = Score(output, row, c);
                if (score > ScoreThreshold)
                    Add(CandidateKey(row, c, score));
            }
        }
    }

    /// <summary>
    /// RAIN's order as one ascending integer: class ascending (bits 46…), then score descending (a positive float's bits
    /// order like its value; the complement reverses them; bits 14…45), then the later row first (the reversed stable
    /// argsort's tie order; bits 0…13). Rows are below 2¹⁴ and classes below 2⁷, so the key fits 53 bits.
    /// </summary>
    internal static long CandidateKey(int row, int cls, float score) =>
        ((long)cls << 46) | ((long)(uint.MaxValue - BitConverter.SingleToUInt32Bits(score)) << 14) | (long)(16383 - row);

    private void Add(long key)
    {
        if (_candidateCount == _candidates.Length)
            Array.Resize(ref _candidates, _candidates.Length * 2);
        _candidates[_candidateCount++] = key;
    }

    /// <summary>RAIN's greedy NMS over one class's candidates (already ordered), appending the kept boxes.</summary>
    private void Nms(ReadOnlySpan<Candidate> order)
    {
        if (_suppressed.Length < order.Length)
            _suppressed = new bool[Math.Max(order.Length, _suppressed.Length * 2)];
        var suppressed = _suppressed.AsSpan(0, order.Length);
        suppressed.Clear();
        for (int i = 0; i < order.Length; i++)
        {
            if (suppressed[i])
                continue;
            var a = order[i];
            Emit(a);
            float areaA = (a.X2 - a.X1 + 1) * (a.Y2 - a.Y1 + 1);
            for (int j = i + 1; j < order.Length; j++)
            {
                if (suppressed[j])
                    continue;
                var b = order[j];
                float w = MathF.Max(0f, MathF.Min(a.X2, b.X2) - MathF.Max(a.X1, b.X1) + 1);
                float h = MathF.Max(0f, MathF.Min(a.Y2, b.Y2) - MathF.Max(a.Y1, b.Y1) + 1);
                float inter = w * h;
                float areaB = (b.X2 - b.X1 + 1) * (b.Y2 - b.Y1 + 1);
                float iou = inter / (areaA + areaB - inter);
                if (!(iou <= NmsThreshold))
                    suppressed[j] = true;
            }
        }
    }

    private void Emit(in Candidate c)
    {
        if (_detectionCount == _detections.Length)
            Array.Resize(ref _detections, _detections.Length * 2);
        _detections[_detectionCount++] = new Detection(c.X1, c.Y1, c.X2, c.Y2, c.Score, c.Class);
    }

    private readonly record struct Candidate(int Row, int Class, float Score, float X1, float Y1, float X2, float Y2);
}

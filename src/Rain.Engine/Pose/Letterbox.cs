using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Rain.Engine.Pose;

/// <summary>
/// YOLOX's letterbox (<c>src/dwpose/onnxdet.py:80-96</c>, spec §3.1) for one image size, straight into the detector's
/// float32 CHW input: resize by r = min(H_in/h, W_in/w) to trunc(w·r)×trunc(h·r) with OpenCV's 8-bit INTER_LINEAR
/// (bit-exact: float32 source positions, 11-bit weights, the (b·(T≫4))≫16 vertical pass), paste at the top left of a
/// canvas of 114, channels kept, no normalisation. OpenCV's substitution of INTER_AREA for an exact 2× reduction on
/// both axes ((sum + 2) ≫ 2) is reproduced too. The padding is written once; each frame only writes the resized region.
/// Not thread-safe.
/// </summary>
internal sealed class Letterbox
{
    /// <summary>YOLOX's padding value.</summary>
    public const float Pad = 114f;

    private const double DblEpsilon = 2.220446049250313e-16;

    private readonly int[] _xofs, _xofs1, _a0, _a1, _yofs0, _yofs1, _b0, _b1;
    private readonly int[] _rowA, _rowB;
    private readonly bool _area;

    // AVX-512 VBMI: per block of 16 outputs, the first source byte and two 64-byte permutes (taps s and s+1) that put
    // the block's R, G and B source bytes in lanes 0-15, 16-31, 32-47; null without VBMI or where a block spans > 64 bytes.
    private readonly int[] _blockBase = [];
    private readonly Vector512<byte>[] _blockTap0 = [], _blockTap1 = [];
    private readonly bool[] _blockPermutes = [];
    private int _rowAIndex = -1, _rowBIndex = -1;
    private bool _padded;

    public Letterbox(int sourceWidth, int sourceHeight, int canvasWidth, int canvasHeight)
    {
        (SourceWidth, SourceHeight, CanvasWidth, CanvasHeight) = (sourceWidth, sourceHeight, canvasWidth, canvasHeight);
        Ratio = Math.Min((double)canvasHeight / sourceHeight, (double)canvasWidth / sourceWidth);
        ResizedWidth = (int)(sourceWidth * Ratio);
        ResizedHeight = (int)(sourceHeight * Ratio);
        if (ResizedWidth < 1 || ResizedHeight < 1)
            throw new ArgumentException($"a {sourceWidth}x{sourceHeight} image letterboxed into {canvasWidth}x{canvasHeight} would be {ResizedWidth}x{ResizedHeight} pixels.");
        double scaleX = 1.0 / ((double)ResizedWidth / sourceWidth), scaleY = 1.0 / ((double)ResizedHeight / sourceHeight);
        int iscaleX = (int)Math.Round(scaleX, MidpointRounding.ToEven), iscaleY = (int)Math.Round(scaleY, MidpointRounding.ToEven);
        _area = Math.Abs(scaleX - iscaleX) < DblEpsilon && Math.Abs(scaleY - iscaleY) < DblEpsilon && iscaleX == 2 && iscaleY == 2;
        (_xofs, _xofs1, _a0, _a1) = (new int[ResizedWidth], new int[ResizedWidth], new int[ResizedWidth], new int[ResizedWidth]);
        (_yofs0, _yofs1, _b0, _b1) = (new int[ResizedHeight], new int[ResizedHeight], new int[ResizedHeight], new int[ResizedHeight]);
        for (int dx = 0; dx < ResizedWidth; dx++)
        {
            float fx = (float)(((dx + 0.5) * scaleX) - 0.5);
            int sx = (int)MathF.Floor(fx);
            fx -= sx;
            if (sx < 0)
                (sx, fx) = (0, 0f);
            if (sx >= sourceWidth - 1)
                (sx, fx) = (sourceWidth - 1, 0f);
            _xofs[dx] = 3 * sx;
            _xofs1[dx] = 3 * Math.Min(sx + 1, sourceWidth - 1);
            _a0[dx] = Weight(1f - fx);
            _a1[dx] = Weight(fx);
        }

        for (int dy = 0; dy < ResizedHeight; dy++)
        {
            float fy = (float)(((dy + 0.5) * scaleY) - 0.5);
            int sy = (int)MathF.Floor(fy);
            fy -= sy;
            _yofs0[dy] = Math.Clamp(sy, 0, sourceHeight - 1);
            _yofs1[dy] = Math.Clamp(sy + 1, 0, sourceHeight - 1);
            _b0[dy] = Weight(1f - fy);
            _b1[dy] = Weight(fy);
        }

        if (Media.BytePermute.IsSupported)
            (_blockBase, _blockTap0, _blockTap1, _blockPermutes) = Blocks();
        _rowA = new int[3 * ResizedWidth];
        _rowB = new int[3 * ResizedWidth];
    }

    private (int[] Base, Vector512<byte>[] Tap0, Vector512<byte>[] Tap1, bool[] Ok) Blocks()
    {
        int blocks = ResizedWidth / 16;
        var (bases, tap0, tap1, ok) = (new int[blocks], new Vector512<byte>[blocks], new Vector512<byte>[blocks], new bool[blocks]);
        Span<byte> c0 = stackalloc byte[64], c1 = stackalloc byte[64];
        for (int b = 0; b < blocks; b++)
        {
            int x0 = 16 * b;
            bases[b] = _xofs[x0];
            ok[b] = true;
            c0.Clear();
            c1.Clear();
            for (int k = 0; k < 16; k++)
            {
                for (int c = 0; c < 3; c++)
                {
                    int o0 = _xofs[x0 + k] + c - bases[b], o1 = _xofs1[x0 + k] + c - bases[b];
                    ok[b] &= o0 is >= 0 and < 64 && o1 is >= 0 and < 64;
                    c0[(16 * c) + k] = (byte)o0;
                    c1[(16 * c) + k] = (byte)o1;
                }
            }

            (tap0[b], tap1[b]) = (Vector512.Create<byte>(c0), Vector512.Create<byte>(c1));
        }

        return (bases, tap0, tap1, ok);
    }

    public int SourceWidth { get; }

    public int SourceHeight { get; }

    public int CanvasWidth { get; }

    public int CanvasHeight { get; }

    /// <summary>r: detector pixels per source pixel; boxes are divided by it (as float32) to return to the source.</summary>
    public double Ratio { get; }

    public int ResizedWidth { get; }

    public int ResizedHeight { get; }

    /// <summary>Writes the letterboxed image of <paramref name="source"/> into <paramref name="chw"/> (3×CanvasHeight×CanvasWidth).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(ReadOnlySpan<byte> source, int stride, Span<float> chw)
    {
        Media.PilResizePlan.CheckSpan(source.Length, SourceWidth, SourceHeight, stride, nameof(source));
        int plane = CanvasWidth * CanvasHeight;
        if (chw.Length != 3 * plane)
            throw new ArgumentException($"the detector input holds {3 * plane} values; got {chw.Length}.", nameof(chw));
        if (!_padded)
        {
            chw.Fill(Pad);
            _padded = true;
        }

        if (_area)
        {
            AreaHalf(source, stride, chw);
            return;
        }

        _rowAIndex = _rowBIndex = -1;
        for (int dy = 0; dy < ResizedHeight; dy++)
        {
            var t0 = Row(source, stride, _yofs0[dy], keep: -1);
            var t1 = Row(source, stride, _yofs1[dy], keep: _yofs0[dy]);
            for (int c = 0; c < 3; c++)
                Vertical(t0.Slice(c * ResizedWidth, ResizedWidth), t1.Slice(c * ResizedWidth, ResizedWidth), _b0[dy], _b1[dy], chw.Slice((c * plane) + (dy * CanvasWidth), ResizedWidth));
        }
    }

    /// <summary>Forces the padding to be written again on the next <see cref="Run"/> (the caller reused the buffer).</summary>
    public void InvalidatePadding() => _padded = false;

    /// <summary>float32 weight → OpenCV's 11-bit fixed point (<c>saturate_cast&lt;short&gt;(w·2048)</c>, round half to even).</summary>
    private static int Weight(float w) => (int)MathF.Round(w * 2048f, MidpointRounding.ToEven);

    /// <summary>
    /// The horizontal pass of source row <paramref name="y"/> (planar: R, G, B rows of ResizedWidth ints), cached in one of
    /// two buffers (as OpenCV keeps its rows); the buffer holding row <paramref name="keep"/> is not evicted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ReadOnlySpan<int> Row(ReadOnlySpan<byte> source, int stride, int y, int keep)
    {
        if (y == _rowAIndex)
            return _rowA;
        if (y == _rowBIndex)
            return _rowB;
        bool useA = _rowAIndex == keep ? false : _rowBIndex == keep || _rowAIndex < _rowBIndex;
        var target = useA ? _rowA : _rowB;
        if (useA)
            _rowAIndex = y;
        else
            _rowBIndex = y;
        int w = ResizedWidth;
        var row = source.Slice(y * stride);
        int x = 0;
        if (_blockPermutes.Length > 0)
            x = Permuted(row, target);
        else if (Media.ByteGather.IsSupported && y < SourceHeight - 1)
            x = Gathered(row, target);

        for (; x < w; x++)
        {
            int o0 = _xofs[x], o1 = _xofs1[x], a0 = _a0[x], a1 = _a1[x];
            target[x] = (row[o0] * a0) + (row[o1] * a1);
            target[w + x] = (row[o0 + 1] * a0) + (row[o1 + 1] * a1);
            target[(2 * w) + x] = (row[o0 + 2] * a0) + (row[o1 + 2] * a1);
        }

        return target;
    }

    /// <summary>The horizontal pass 16 outputs at a time with two byte permutes per block (AVX-512 VBMI); returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe int Permuted(ReadOnlySpan<byte> row, int[] target)
    {
        int w = ResizedWidth, b = 0;
        fixed (byte* p = row)
        fixed (int* a0 = _a0, a1 = _a1, t = target)
        {
            for (; b < _blockBase.Length; b++)
            {
                // A 64-byte load must stay inside the caller's buffer (the last row's last block may not).
                if (!_blockPermutes[b] || _blockBase[b] + 64 > row.Length)
                    break;
                var v = Vector512.Load(p + _blockBase[b]);
                var s0 = Avx512Vbmi.PermuteVar64x8(v, _blockTap0[b]);
                var s1 = Avx512Vbmi.PermuteVar64x8(v, _blockTap1[b]);
                int x0 = 16 * b;
                var w0 = Vector512.Load(a0 + x0);
                var w1 = Vector512.Load(a1 + x0);
                ((Avx512F.ConvertToVector512Int32(s0.GetLower().GetLower()) * w0) + (Avx512F.ConvertToVector512Int32(s1.GetLower().GetLower()) * w1)).Store(t + x0);
                ((Avx512F.ConvertToVector512Int32(s0.GetLower().GetUpper()) * w0) + (Avx512F.ConvertToVector512Int32(s1.GetLower().GetUpper()) * w1)).Store(t + w + x0);
                ((Avx512F.ConvertToVector512Int32(s0.GetUpper().GetLower()) * w0) + (Avx512F.ConvertToVector512Int32(s1.GetUpper().GetLower()) * w1)).Store(t + (2 * w) + x0);
            }
        }

        return 16 * b;
    }

    /// <summary>The horizontal pass 8 outputs at a time with AVX2 byte gathers; not for the source's last row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe int Gathered(ReadOnlySpan<byte> row, int[] target)
    {
        int w = ResizedWidth, x = 0;
        fixed (byte* p = row)
        fixed (int* o0 = _xofs, o1 = _xofs1, a0 = _a0, a1 = _a1, t = target)
        {
            for (; x <= w - 8; x += 8)
            {
                var off0 = Vector256.Load(o0 + x);
                var off1 = Vector256.Load(o1 + x);
                var w0 = Vector256.Load(a0 + x);
                var w1 = Vector256.Load(a1 + x);
                for (int c = 0; c < 3; c++)
                {
                    var vc = Vector256.Create(c);
                    var v = (Media.ByteGather.Load(p, off0 + vc) * w0) + (Media.ByteGather.Load(p, off1 + vc) * w1);
                    v.Store(t + (c * w) + x);
                }
            }
        }

        return x;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Vertical(ReadOnlySpan<int> t0, ReadOnlySpan<int> t1, int b0, int b1, Span<float> output)
    {
        int x = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vb0 = Vector512.Create(b0);
            var vb1 = Vector512.Create(b1);
            var two = Vector512.Create(2);
            fixed (int* p0 = t0, p1 = t1)
            fixed (float* o = output)
            {
                for (; x <= output.Length - 16; x += 16)
                {
                    var v = (((vb0 * (Vector512.Load(p0 + x) >> 4)) >> 16) + ((vb1 * (Vector512.Load(p1 + x) >> 4)) >> 16) + two) >> 2;
                    Vector512.ConvertToSingle(v).Store(o + x);
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vb0 = Vector256.Create(b0);
            var vb1 = Vector256.Create(b1);
            var two = Vector256.Create(2);
            for (; x <= output.Length - 8; x += 8)
            {
                var s0 = Vector256.Create(t0.Slice(x, 8)) >> 4;
                var s1 = Vector256.Create(t1.Slice(x, 8)) >> 4;
                var v = (((vb0 * s0) >> 16) + ((vb1 * s1) >> 16) + two) >> 2;
                Vector256.ConvertToSingle(v).CopyTo(output[x..]);
            }
        }

        for (; x < output.Length; x++)
            output[x] = (((b0 * (t0[x] >> 4)) >> 16) + ((b1 * (t1[x] >> 4)) >> 16) + 2) >> 2;
    }

    private void AreaHalf(ReadOnlySpan<byte> source, int stride, Span<float> chw)
    {
        int plane = CanvasWidth * CanvasHeight;
        for (int dy = 0; dy < ResizedHeight; dy++)
        {
            var r0 = source.Slice(2 * dy * stride);
            var r1 = source.Slice(((2 * dy) + 1) * stride);
            for (int dx = 0; dx < ResizedWidth; dx++)
            {
                int o = 6 * dx;
                for (int c = 0; c < 3; c++)
                    chw[(c * plane) + (dy * CanvasWidth) + dx] = (r0[o + c] + r0[o + 3 + c] + r1[o + c] + r1[o + 3 + c] + 2) >> 2;
            }
        }
    }
}

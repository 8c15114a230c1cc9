using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Rain.Engine.Pose;

/// <summary>The affine crop of the person box for the pose model (spec §4.1–§4.3), all in float64 like RAIN.</summary>
internal readonly record struct CropGeometry(double CenterX, double CenterY, double PaddedW, double PaddedH, double ScaleW, double ScaleH)
{
    /// <summary>Box → centre, padded scale (×1.25), and the scale fixed to the model's aspect w_in/h_in.</summary>
    public static CropGeometry Of(double x1, double y1, double x2, double y2, int inputWidth, int inputHeight)
    {
        double cx = (x1 + x2) * 0.5, cy = (y1 + y2) * 0.5;
        double sw = (x2 - x1) * 1.25, sh = (y2 - y1) * 1.25;
        double aspect = (double)inputWidth / inputHeight;
        var (fw, fh) = sw > sh * aspect ? (sw, sw / aspect) : (sh * aspect, sh);
        return new CropGeometry(cx, cy, sw, sh, fw, fh);
    }

    /// <summary>
    /// The 2×3 matrix RAIN hands to warpAffine (src → dst): <c>cv2.getAffineTransform</c> of the three point pairs, whose
    /// source points are rounded to float32 when stored. Their layout gives a closed form (spec §4.3); OpenCV's 6×6
    /// solve differs from it by ~1e-14 (and differs between OpenCV builds itself), which changes no crop pixel.
    /// </summary>
    public void WarpMatrix(int inputWidth, int inputHeight, Span<double> m)
    {
        float s0x = (float)CenterX, s0y = (float)CenterY;
        float s1x = (float)(CenterX + 0.0), s1y = (float)(CenterY + (ScaleW * -0.5));
        // _get_3rd_point in float32: d = S0 − S1, S2 = S1 + (−d.y, d.x).
        float dy = s0y - s1y;
        float s2x = s1x + -dy; // S2.y = S1.y + d.x is not needed by the closed form
        double half = inputWidth / 2.0;
        double kx = half / ((double)s1x - s2x), ky = half / ((double)s0y - s1y);
        m[0] = kx;
        m[1] = 0;
        m[2] = half - (kx * s0x);
        m[3] = 0;
        m[4] = ky;
        m[5] = (inputHeight / 2.0) - (ky * s0y);
    }
}

/// <summary>
/// OpenCV's <c>warpAffine</c> (INTER_LINEAR, BORDER_CONSTANT 0) for 8-bit RGB into a fixed output size, bit-exact
/// (spec §4.3): the matrix is inverted in float64 as OpenCV does, every output pixel's source position is computed in
/// fixed point (1024 sub-steps, 32 interpolation steps) and four taps are blended with integer weights that sum to
/// 32768. RAIN's crops are axis-aligned, so every row then starts at the same x position and every column at the same
/// y position; for those the blend factors into a horizontal pass per source row and a vectorised vertical pass, which
/// is the same integer sum in another order (exact). Any other matrix takes the per-pixel path. Buffers are made once;
/// not thread-safe.
/// </summary>
internal sealed class WarpAffine
{
    private readonly int _width, _height;
    private readonly int[] _adelta, _bdelta, _x0, _y0;
    private readonly int[] _offsets, _weights; // [tap · 3·width + 3x + c]: source byte offsets and weights of the two x taps
    private readonly Media.BytePermute? _permute;
    private readonly int[] _rowA, _rowB;
    private int _rowAIndex, _rowBIndex;

    public WarpAffine(int width, int height)
    {
        (_width, _height) = (width, height);
        (_adelta, _bdelta, _x0, _y0) = (new int[width], new int[width], new int[height], new int[height]);
        (_offsets, _weights) = (new int[6 * width], new int[6 * width]);
        _permute = Media.BytePermute.IsSupported ? new Media.BytePermute(_offsets, _weights, 2, 3 * width) : null;
        (_rowA, _rowB) = (new int[3 * width], new int[3 * width]);
    }

    /// <summary>Tests: take the per-pixel path even for an axis-aligned matrix (both paths must give the same bytes).</summary>
    internal bool ForcePerPixel { get; set; }

    /// <summary>Whether the last <see cref="Run"/> took the factored (axis-aligned) path.</summary>
    public bool LastWasSeparable { get; private set; }

    /// <summary>Warps <paramref name="src"/> by <paramref name="matrix"/> (src → dst, 2×3) into <paramref name="dst"/> (width×height RGB, packed).</summary>
    public void Run(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, int srcStride, ReadOnlySpan<double> matrix, Span<byte> dst)
    {
        if (dst.Length < _width * _height * 3)
            throw new ArgumentException($"the crop is {_width}x{_height} RGB; the buffer has {dst.Length} bytes.", nameof(dst));
        double m00 = matrix[0], m01 = matrix[1], m02 = matrix[2], m10 = matrix[3], m11 = matrix[4], m12 = matrix[5];
        // OpenCV's in-place inversion, sequential and using the updated values.
        double d = (m00 * m11) - (m01 * m10);
        d = d != 0 ? 1.0 / d : 0;
        double a11 = m11 * d, a22 = m00 * d;
        m00 = a11;
        m01 *= -d;
        m10 *= -d;
        m11 = a22;
        double b1 = (-m00 * m02) - (m01 * m12);
        double b2 = (-m10 * m02) - (m11 * m12);
        m02 = b1;
        m12 = b2;

        bool separable = true;
        for (int x = 0; x < _width; x++)
        {
            _adelta[x] = Round(m00 * x * 1024);
            _bdelta[x] = Round(m10 * x * 1024);
            separable &= _bdelta[x] == 0;
        }

        for (int y = 0; y < _height; y++)
        {
            _x0[y] = Round(((m01 * y) + m02) * 1024) + 16;
            _y0[y] = Round(((m11 * y) + m12) * 1024) + 16;
            separable &= _x0[y] == _x0[0];
        }

        separable &= !ForcePerPixel;
        LastWasSeparable = separable;
        if (separable)
            Separable(src, srcWidth, srcHeight, srcStride, dst);
        else
            PerPixel(src, srcWidth, srcHeight, srcStride, dst);
    }

    /// <summary>OpenCV's <c>saturate_cast&lt;int&gt;(double)</c> (cvRound, SSE2 <c>cvtsd2si</c>): round half to even; NaN and
    /// values outside int give int.MinValue, the instruction's "integer indefinite".</summary>
    private static int Round(double v)
    {
        double r = Math.Round(v, MidpointRounding.ToEven);
        return r >= -2147483648.0 && r <= 2147483647.0 ? (int)r : int.MinValue;
    }

    private static int Clamp16(int v) => Math.Clamp(v, short.MinValue, short.MaxValue);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PerPixel(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, int srcStride, Span<byte> dst)
    {
        ref byte s = ref MemoryMarshal.GetReference(src);
        for (int y = 0; y < _height; y++)
        {
            int x0 = _x0[y], y0 = _y0[y];
            var row = dst.Slice(y * _width * 3, _width * 3);
            for (int x = 0; x < _width; x++)
            {
                int xx = (x0 + _adelta[x]) >> 5, yy = (y0 + _bdelta[x]) >> 5;
                int ix = Clamp16(xx >> 5), iy = Clamp16(yy >> 5);
                int fx = xx & 31, fy = yy & 31;
                int w00 = (32 - fy) * (32 - fx) * 32, w01 = (32 - fy) * fx * 32, w10 = fy * (32 - fx) * 32, w11 = fy * fx * 32;
                int o = 3 * x;
                if ((uint)ix < (uint)(srcWidth - 1) && (uint)iy < (uint)(srcHeight - 1))
                {
                    ref byte p0 = ref Unsafe.Add(ref s, (iy * srcStride) + (3 * ix));
                    ref byte p1 = ref Unsafe.Add(ref p0, srcStride);
                    for (int c = 0; c < 3; c++)
                    {
                        int v = (w00 * Unsafe.Add(ref p0, c)) + (w01 * Unsafe.Add(ref p0, c + 3)) + (w10 * Unsafe.Add(ref p1, c)) + (w11 * Unsafe.Add(ref p1, c + 3));
                        row[o + c] = (byte)((v + 16384) >> 15);
                    }
                }
                else
                {
                    for (int c = 0; c < 3; c++)
                    {
                        int v = (w00 * Tap(src, srcWidth, srcHeight, srcStride, ix, iy, c)) + (w01 * Tap(src, srcWidth, srcHeight, srcStride, ix + 1, iy, c))
                            + (w10 * Tap(src, srcWidth, srcHeight, srcStride, ix, iy + 1, c)) + (w11 * Tap(src, srcWidth, srcHeight, srcStride, ix + 1, iy + 1, c));
                        row[o + c] = (byte)((v + 16384) >> 15);
                    }
                }
            }
        }
    }

    private static int Tap(ReadOnlySpan<byte> src, int width, int height, int stride, int x, int y, int c) =>
        (uint)x < (uint)width && (uint)y < (uint)height ? src[(y * stride) + (3 * x) + c] : 0;

    /// <summary>
    /// Axis-aligned: column x always reads source columns ix, ix+1 with weights (32 − fx)·32, fx·32 and row y reads
    /// rows iy, iy+1 with 32 − fy, fy, so w_ab·p = (row weight)·(column weight)·p and the sum regroups into
    /// H(row) = Σ column weight · p, out = (A·H(iy) + B·H(iy+1) + 16384) ≫ 15. Taps outside the image get weight 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Separable(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, int srcStride, Span<byte> dst)
    {
        int x0 = _x0[0];
        for (int x = 0; x < _width; x++)
        {
            int xx = (x0 + _adelta[x]) >> 5;
            int ix = Clamp16(xx >> 5), fx = xx & 31;
            bool in0 = (uint)ix < (uint)srcWidth, in1 = (uint)(ix + 1) < (uint)srcWidth;
            for (int c = 0; c < 3; c++)
            {
                // A tap outside the image reads offset 0 with weight 0 (and the tap beside it, so a block's span stays small).
                int j = (3 * x) + c;
                _offsets[j] = (3 * Math.Clamp(ix, 0, srcWidth - 1)) + c;
                _weights[j] = in0 ? 32 - fx : 0;
                _offsets[(3 * _width) + j] = (3 * Math.Clamp(ix + 1, 0, srcWidth - 1)) + c;
                _weights[(3 * _width) + j] = in1 ? fx : 0;
            }
        }

        _permute?.Update(_offsets);

        _rowAIndex = _rowBIndex = int.MinValue;
        int bytes = 3 * _width;
        for (int y = 0; y < _height; y++)
        {
            int yy = _y0[y] >> 5;
            int iy = Clamp16(yy >> 5), fy = yy & 31;
            var h0 = Row(src, srcWidth, srcHeight, srcStride, iy, keep: int.MinValue);
            var h1 = Row(src, srcWidth, srcHeight, srcStride, iy + 1, keep: iy);
            int a = (32 - fy) * 32, b = fy * 32;
            var o = dst.Slice(y * bytes, bytes);
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var va = Vector256.Create(a);
                var vb = Vector256.Create(b);
                var half = Vector256.Create(16384);
                for (; i <= bytes - 8; i += 8)
                {
                    var v = ((va * Vector256.Create(h0.Slice(i, 8))) + (vb * Vector256.Create(h1.Slice(i, 8))) + half) >> 15;
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(o.Slice(i, 8), Vector256.Narrow(Vector256.Narrow(v, v).AsUInt16(), Vector256<ushort>.Zero).AsUInt64().GetElement(0));
                }
            }

            for (; i < bytes; i++)
                o[i] = (byte)(((a * h0[i]) + (b * h1[i]) + 16384) >> 15);
        }
    }

    /// <summary>H of source row <paramref name="y"/> (zeros outside the image), cached in two buffers; the one holding <paramref name="keep"/> stays.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe ReadOnlySpan<int> Row(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, int srcStride, int y, int keep)
    {
        if (y == _rowAIndex)
            return _rowA;
        if (y == _rowBIndex)
            return _rowB;
        bool useA = _rowAIndex != keep && (_rowBIndex == keep || _rowAIndex < _rowBIndex);
        var target = useA ? _rowA : _rowB;
        if (useA)
            _rowAIndex = y;
        else
            _rowBIndex = y;
        int bytes = 3 * _width;
        if ((uint)y >= (uint)srcHeight)
        {
            Array.Clear(target);
            return target;
        }

        var row = src.Slice(y * srcStride);
        int j = 0, w3 = 3 * _width;
        fixed (byte* p = row)
        fixed (int* offsets = _offsets, weights = _weights, t = target)
        {
            if (_permute is not null)
                j = _permute.Sums(p, row.Length, t);

            // The gather reads 4 bytes per tap: fine on every row but the last (its bytes past the row may be past the buffer).
            if (Media.ByteGather.IsSupported && y < srcHeight - 1)
            {
                for (; j <= bytes - 8; j += 8)
                {
                    var v = (Media.ByteGather.Load(p, Vector256.Load(offsets + j)) * Vector256.Load(weights + j))
                        + (Media.ByteGather.Load(p, Vector256.Load(offsets + w3 + j)) * Vector256.Load(weights + w3 + j));
                    v.Store(t + j);
                }
            }

            for (; j < bytes; j++)
                t[j] = (p[offsets[j]] * weights[j]) + (p[offsets[w3 + j]] * weights[w3 + j]);
        }

        return target;
    }
}

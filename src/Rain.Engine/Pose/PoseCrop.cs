using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
/// OpenCV's <c>warpAffine</c> (INTER_LINEAR, BORDER_CONSTANT 0) for 8-bit RGB, bit-exact (spec §4.3): the matrix is
/// inverted in float64 as OpenCV does, then every output pixel's source position is computed in fixed point (1024
/// sub-steps, 32 interpolation steps) and four taps are blended with integer weights that sum to 32768.
/// </summary>
internal static class WarpAffine
{
    public static void Run(ReadOnlySpan<byte> src, int srcWidth, int srcHeight, int srcStride, ReadOnlySpan<double> matrix, Span<byte> dst, int dstWidth, int dstHeight, Span<int> columnScratch)
    {
        if (columnScratch.Length < 2 * dstWidth)
            throw new ArgumentException("scratch too small", nameof(columnScratch));
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

        var adelta = columnScratch[..dstWidth];
        var bdelta = columnScratch.Slice(dstWidth, dstWidth);
        for (int x = 0; x < dstWidth; x++)
        {
            adelta[x] = Round(m00 * x * 1024);
            bdelta[x] = Round(m10 * x * 1024);
        }

        ref byte s = ref MemoryMarshal.GetReference(src);
        for (int y = 0; y < dstHeight; y++)
        {
            int x0 = Round(((m01 * y) + m02) * 1024) + 16;
            int y0 = Round(((m11 * y) + m12) * 1024) + 16;
            var row = dst.Slice(y * dstWidth * 3, dstWidth * 3);
            for (int x = 0; x < dstWidth; x++)
            {
                int xx = (x0 + adelta[x]) >> 5, yy = (y0 + bdelta[x]) >> 5;
                int ix = Math.Clamp(xx >> 5, short.MinValue, short.MaxValue), iy = Math.Clamp(yy >> 5, short.MinValue, short.MaxValue);
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

    /// <summary>OpenCV's <c>saturate_cast&lt;int&gt;(double)</c> (cvRound, SSE2 <c>cvtsd2si</c>): round half to even; NaN and
    /// values outside int give int.MinValue, the instruction's "integer indefinite".</summary>
    private static int Round(double v)
    {
        double r = Math.Round(v, MidpointRounding.ToEven);
        return r >= -2147483648.0 && r <= 2147483647.0 ? (int)r : int.MinValue;
    }

    private static int Tap(ReadOnlySpan<byte> src, int width, int height, int stride, int x, int y, int c) =>
        (uint)x < (uint)width && (uint)y < (uint)height ? src[(y * stride) + (3 * x) + c] : 0;
}

namespace Rain.Engine.Media;

/// <summary>Resampling filters of PIL's <c>Image.resize</c> that RAIN's preprocessing uses.</summary>
public enum ResampleFilter
{
    /// <summary>Cubic convolution with a = −0.5, support 2 (PIL <c>BICUBIC</c>; CLIP's processor).</summary>
    Bicubic,

    /// <summary>Lanczos-3, support 3 (PIL <c>LANCZOS</c>; diffusers' VaeImageProcessor).</summary>
    Lanczos,
}

/// <summary>
/// Resizing 8-bit RGB images the way PIL (Pillow) does for <c>Image.resize</c>, so the engine feeds the networks the
/// pixels RAIN's Python preprocessing produces. The algorithm, per axis:
/// <list type="bullet">
/// <item>scale = in/out, filter scale = max(scale, 1), support = filter support · filter scale;</item>
/// <item>output sample i is centred at (i + ½)·scale and takes inputs x in [⌊centre − support + ½⌋, ⌊centre + support + ½⌋)
/// clipped to the image, with weights filter((x − centre + ½)/filter scale), normalised to sum 1;</item>
/// <item>weights are converted to fixed point with 22 fractional bits (rounding half away from zero), the sum starts
/// at ½ (2²¹) and the result is shifted down and clipped to 0..255;</item>
/// <item>the horizontal pass runs first, its 8-bit result feeds the vertical pass; a pass whose size does not change is
/// skipped.</item>
/// </list>
/// </summary>
public static class PilResize
{
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Resizes <paramref name="image"/> to <paramref name="width"/>×<paramref name="height"/>.</summary>
    public static RgbImage Resize(RgbImage image, int width, int height, ResampleFilter filter)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var current = image;
        if (width != image.Width)
            current = Pass(current, width, filter, horizontal: true);
        if (height != image.Height)
            current = Pass(current, height, filter, horizontal: false);
        return ReferenceEquals(current, image) ? new RgbImage(image.Width, image.Height, (byte[])image.Pixels.Clone()) : current;
    }

    /// <summary>The fixed-point weights of one axis: for each output index, the first input index and its weights.</summary>
    internal static (int[] Start, int[][] Weights) Coefficients(int inSize, int outSize, ResampleFilter filter)
    {
        double support = filter == ResampleFilter.Bicubic ? 2.0 : 3.0;
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        support *= filterScale;
        var start = new int[outSize];
        var weights = new int[outSize][];
        for (int i = 0; i < outSize; i++)
        {
            double center = (i + 0.5) * scale;
            double inverse = 1.0 / filterScale;
            int xmin = Math.Max((int)(center - support + 0.5), 0);
            int xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
            var w = new double[xmax];
            double sum = 0;
            for (int x = 0; x < xmax; x++)
            {
                w[x] = Kernel((x + xmin - center + 0.5) * inverse, filter);
                sum += w[x];
            }

            var k = new int[xmax];
            for (int x = 0; x < xmax; x++)
            {
                double normalised = sum != 0 ? w[x] / sum : 0;
                double fixedPoint = normalised * (1 << PrecisionBits);
                k[x] = fixedPoint < 0 ? (int)(-0.5 + fixedPoint) : (int)(0.5 + fixedPoint);
            }

            start[i] = xmin;
            weights[i] = k;
        }

        return (start, weights);
    }

    internal static double Kernel(double x, ResampleFilter filter)
    {
        if (filter == ResampleFilter.Bicubic)
        {
            const double a = -0.5;
            x = Math.Abs(x);
            if (x < 1.0)
                return (((a + 2.0) * x) - (a + 3.0)) * x * x + 1;
            if (x < 2.0)
                return (((((x - 5) * x) + 8) * x) - 4) * a;
            return 0.0;
        }

        if (x > -3.0 && x < 3.0)
            return Sinc(x) * Sinc(x / 3.0);
        return 0.0;
    }

    private static double Sinc(double x)
    {
        if (x == 0.0)
            return 1.0;
        x *= Math.PI;
        return Math.Sin(x) / x;
    }

    private static RgbImage Pass(RgbImage src, int outSize, ResampleFilter filter, bool horizontal)
    {
        int inSize = horizontal ? src.Width : src.Height;
        var (start, weights) = Coefficients(inSize, outSize, filter);
        int w = horizontal ? outSize : src.Width, h = horizontal ? src.Height : outSize;
        var dst = new byte[w * h * 3];
        byte[] s = src.Pixels;
        int srcWidth = src.Width;
        Parallel.For(0, h, y =>
        {
            for (int x = 0; x < w; x++)
            {
                int i = horizontal ? x : y;
                int first = start[i];
                int[] k = weights[i];
                for (int c = 0; c < 3; c++)
                {
                    int acc = 1 << (PrecisionBits - 1);
                    for (int t = 0; t < k.Length; t++)
                    {
                        int sx = horizontal ? first + t : x, sy = horizontal ? y : first + t;
                        acc += s[(((sy * srcWidth) + sx) * 3) + c] * k[t];
                    }

                    dst[(((y * w) + x) * 3) + c] = Clip8(acc >> PrecisionBits);
                }
            }
        });
        return new RgbImage(w, h, dst);
    }

    private static byte Clip8(int v) => v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)v;
}

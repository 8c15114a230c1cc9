namespace Rain.Engine.Media;

/// <summary>Resampling filters of PIL's <c>Image.resize</c> that RAIN's preprocessing uses.</summary>
public enum ResampleFilter
{
    /// <summary>Triangle filter, support 1 (PIL <c>BILINEAR</c>; torchvision's <c>Resize</c> on PIL images, which RAIN's pose
    /// front end uses). Upscaling equals half-pixel-centre bilinear; downscaling widens the triangle (anti-aliasing).</summary>
    Bilinear,

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
    /// <summary>Fractional bits of the fixed-point weights (PIL's <c>PRECISION_BITS</c>).</summary>
    internal const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Resizes <paramref name="image"/> to <paramref name="width"/>×<paramref name="height"/> (a new image; the input is not changed).</summary>
    public static RgbImage Resize(RgbImage image, int width, int height, ResampleFilter filter)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var result = new RgbImage(width, height);
        new PilResizePlan(image.Width, image.Height, width, height, filter).Resize(image.Pixels, image.Width * 3, result.Pixels, width * 3);
        return result;
    }

    /// <summary>The fixed-point weights of one axis: for each output index, the first input index and its weights.</summary>
    internal static (int[] Start, int[][] Weights) Coefficients(int inSize, int outSize, ResampleFilter filter)
    {
        double support = filter switch { ResampleFilter.Bilinear => 1.0, ResampleFilter.Bicubic => 2.0, _ => 3.0 };
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
        if (filter == ResampleFilter.Bilinear)
        {
            x = Math.Abs(x);
            return x < 1.0 ? 1.0 - x : 0.0;
        }

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
}

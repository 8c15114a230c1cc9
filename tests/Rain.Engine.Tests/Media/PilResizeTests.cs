using Rain.Engine.Media;

namespace Rain.Engine.Tests.Media;

public sealed class PilResizeTests
{
    private static RgbImage Row(params byte[] grey) =>
        new(grey.Length, 1, grey.SelectMany(v => new[] { v, v, v }).ToArray());

    [Fact]
    public void BicubicUpscaleOfAStepMatchesHandComputedPillowValues()
    {
        // in = 2, out = 4, scale ½: output 1 takes inputs 0 and 1 with cubic weights K(−¼) = 0.8671875 and
        // K(¾) = 0.2265625, normalised to 0.79286 / 0.20714; 255·0.20714 = 52.82 → 53 after the 22-bit fixed point
        // and the +½ rounding. Output 0 overshoots below 0 and is clipped. The result is symmetric.
        var result = PilResize.Resize(Row(0, 255), 4, 1, ResampleFilter.Bicubic);
        Assert.Equal(new byte[] { 0, 53, 202, 255 }, Enumerable.Range(0, 4).Select(x => result[x, 0, 0]));
    }

    [Fact]
    public void CubicKernelHasItsClosedFormValues()
    {
        Assert.Equal(1.0, PilResize.Kernel(0, ResampleFilter.Bicubic));
        Assert.Equal(0.8671875, PilResize.Kernel(-0.25, ResampleFilter.Bicubic), 12);
        Assert.Equal(-0.0703125, PilResize.Kernel(1.25, ResampleFilter.Bicubic), 12);
        Assert.Equal(0.0, PilResize.Kernel(2.0, ResampleFilter.Bicubic));
        Assert.Equal(1.0, PilResize.Kernel(0, ResampleFilter.Lanczos));
        Assert.Equal(0.0, PilResize.Kernel(1, ResampleFilter.Lanczos), 12);
        // sinc(½)·sinc(⅙) = (2/π)·(3/π)·sin(π/6)·... = (sin(π/2)/(π/2))·(sin(π/6)/(π/6))
        Assert.Equal(2 / Math.PI * (0.5 / (Math.PI / 6)), PilResize.Kernel(0.5, ResampleFilter.Lanczos), 12);
    }

    [Theory]
    [InlineData(ResampleFilter.Bicubic, 17, 9, 5, 23)]
    [InlineData(ResampleFilter.Lanczos, 64, 48, 512, 512)]
    [InlineData(ResampleFilter.Lanczos, 300, 200, 7, 3)]
    public void ConstantImagesStayConstant(ResampleFilter filter, int w, int h, int outW, int outH)
    {
        var pixels = new byte[w * h * 3];
        for (int i = 0; i < pixels.Length; i += 3)
            (pixels[i], pixels[i + 1], pixels[i + 2]) = (200, 17, 99);
        var result = PilResize.Resize(new RgbImage(w, h, pixels), outW, outH, filter);
        Assert.Equal((outW, outH), (result.Width, result.Height));
        for (int i = 0; i < result.Pixels.Length; i += 3)
            Assert.Equal((200, 17, 99), (result.Pixels[i], result.Pixels[i + 1], result.Pixels[i + 2]));
    }

    [Fact]
    public void WeightsAreNormalisedAndStayWithinTheImage()
    {
        foreach (var (inSize, outSize) in new[] { (512, 224), (224, 512), (7, 3), (3, 7), (1000, 1) })
        {
            foreach (var filter in new[] { ResampleFilter.Bicubic, ResampleFilter.Lanczos })
            {
                var (start, weights) = PilResize.Coefficients(inSize, outSize, filter);
                for (int i = 0; i < outSize; i++)
                {
                    Assert.InRange(start[i], 0, inSize - 1);
                    Assert.InRange(start[i] + weights[i].Length, 1, inSize);
                    // Fixed-point weights sum to 2^22 up to one rounding per tap.
                    Assert.InRange(weights[i].Sum(), (1 << 22) - weights[i].Length, (1 << 22) + weights[i].Length);
                }
            }
        }
    }

    [Fact]
    public void DownscaleAgreesWithAFloat64ConvolutionWithinOneLevel()
    {
        // An independent float64 separable convolution over a ramp; PIL's fixed point and intermediate 8-bit rounding
        // may differ from it by at most one level per pass.
        int w = 40, h = 30, outW = 13, outH = 11;
        var pixels = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    pixels[(((y * w) + x) * 3) + c] = (byte)((x * 5) + (y * 2) + (c * 10));
        var result = PilResize.Resize(new RgbImage(w, h, pixels), outW, outH, ResampleFilter.Bicubic);
        for (int oy = 0; oy < outH; oy++)
        {
            for (int ox = 0; ox < outW; ox++)
            {
                double expected = 0;
                var wx = Weights(w, outW, ox);
                var wy = Weights(h, outH, oy);
                foreach (var (sy, ky) in wy)
                    foreach (var (sx, kx) in wx)
                        expected += ky * kx * pixels[((sy * w) + sx) * 3];
                Assert.InRange(result[ox, oy, 0], Math.Round(expected) - 2, Math.Round(expected) + 2);
            }
        }
    }

    private static List<(int Index, double Weight)> Weights(int inSize, int outSize, int i)
    {
        double scale = (double)inSize / outSize, fs = Math.Max(1, scale), center = (i + 0.5) * scale;
        var list = new List<(int, double)>();
        for (int x = 0; x < inSize; x++)
        {
            double t = Math.Abs((x + 0.5 - center) / fs);
            double k = t < 1 ? (1.5 * t * t * t) - (2.5 * t * t) + 1 : t < 2 ? (-0.5 * t * t * t) + (2.5 * t * t) - (4 * t) + 2 : 0;
            if (k != 0)
                list.Add((x, k));
        }

        double sum = list.Sum(p => p.Item2);
        return list.Select(p => (p.Item1, p.Item2 / sum)).ToList();
    }
}

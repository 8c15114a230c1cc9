using Rain.Engine.Media;

namespace Rain.Engine.Tests.Media;

public sealed class PreprocessTests
{
    private static RgbImage Solid(int w, int h, byte r, byte g, byte b)
    {
        var p = new byte[w * h * 3];
        for (int i = 0; i < p.Length; i += 3)
            (p[i], p[i + 1], p[i + 2]) = (r, g, b);
        return new RgbImage(w, h, p);
    }

    [Fact]
    public void ClipPixelsNormaliseWithClipMeanAndStd()
    {
        var pixels = Preprocess.ClipPixels(Solid(300, 200, 255, 128, 0));
        Assert.Equal(3 * 224 * 224, pixels.Length);
        float[] expected = [(1f - 0.48145466f) / 0.26862954f, ((float)(128 / 255.0) - 0.4578275f) / 0.26130258f, (0f - 0.40821073f) / 0.27577711f];
        for (int c = 0; c < 3; c++)
            Assert.All(pixels.AsSpan(c * 224 * 224, 224 * 224).ToArray(), v => Assert.Equal(expected[c], v));
    }

    [Fact]
    public void ClipCropsTheCentreOfTheResizedImage()
    {
        // 448×224: resized to 448×224 (short side already 224, so no resampling at all), then the centre 224 columns.
        var p = new byte[448 * 224 * 3];
        for (int y = 0; y < 224; y++)
            for (int x = 0; x < 448; x++)
                p[(((y * 448) + x) * 3) + 0] = (byte)(x < 112 || x >= 336 ? 0 : 255);
        var pixels = Preprocess.ClipPixels(new RgbImage(448, 224, p));
        float white = (1f - 0.48145466f) / 0.26862954f;
        Assert.All(pixels.AsSpan(0, 224 * 224).ToArray(), v => Assert.Equal(white, v));
    }

    [Fact]
    public void VaePixelsMapToMinusOneToOne()
    {
        var pixels = Preprocess.VaePixels(Solid(100, 50, 0, 255, 51), 128, 64);
        Assert.Equal(3 * 128 * 64, pixels.Length);
        int plane = 128 * 64;
        Assert.All(pixels.AsSpan(0, plane).ToArray(), v => Assert.Equal(-1f, v));
        Assert.All(pixels.AsSpan(plane, plane).ToArray(), v => Assert.Equal(1f, v));
        Assert.All(pixels.AsSpan(2 * plane, plane).ToArray(), v => Assert.Equal((2f * (51 / 255f)) - 1f, v));
    }

    [Fact]
    public void PosePixelsAreDividedBy255AndRefuseOtherSizes()
    {
        var dest = new float[3 * 64 * 128];
        Preprocess.PosePixels(Solid(128, 64, 255, 0, 3), 128, 64, dest);
        Assert.Equal(1f, dest[0]);
        Assert.Equal(0f, dest[64 * 128]);
        Assert.Equal(3 / 255f, dest[2 * 64 * 128]);
        var e = Assert.Throws<ArgumentException>(() => Preprocess.PosePixels(Solid(64, 64, 0, 0, 0), 128, 64, dest));
        Assert.Contains("must be 128x64 (the stream size); got 64x64", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FramesAreClampedAndRounded()
    {
        float[] planar = [-0.5f, 0.5f, 2f, float.NaN, 1f / 255f * 2.5f, 0.999f];
        var img = Preprocess.FrameToRgb(planar, 2, 1); // planes: R = [−0.5, 0.5], G = [2, NaN], B = [2.5/255, 0.999]
        Assert.Equal(0, img[0, 0, 0]);   // −0.5 clamps to 0
        Assert.Equal(128, img[1, 0, 0]); // 127.5 rounds half to even → 128
        Assert.Equal(255, img[0, 0, 1]); // 2 clamps to 1
        Assert.Equal(0, img[1, 0, 1]);   // NaN → 0
        Assert.Equal(2, img[0, 0, 2]);   // 2.5 → 2 (half to even)
        Assert.Equal(255, img[1, 0, 2]); // 254.745 → 255
    }
}

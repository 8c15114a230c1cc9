namespace Rain.Kernels.Tests;

/// <summary>The CPU reference of the frame conversion kernels against hand-computed values.</summary>
public sealed class FrameConversionTests
{
    [Fact]
    public void PoseImagesBecomePlanarHalvesOfByteOver255()
    {
        // One image of 1×2 pixels: (0, 128, 255) and (1, 2, 51), interleaved.
        byte[] rgb = [0, 128, 255, 1, 2, 51];
        var planar = new Half[6];
        FrameConversion.Rgb8ToPlanar(rgb, planar, 1, 1, 2);
        // Planes: R = (0, 1/255), G = (128/255, 2/255), B = (1, 51/255 = 0.2).
        Assert.Equal([(Half)0f, (Half)(1f / 255f), (Half)(128f / 255f), (Half)(2f / 255f), Half.One, (Half)0.2f], planar);
        Assert.Equal(0x3804, BitConverter.HalfToUInt16Bits(planar[2])); // 128/255 = 0.50196 → 0x3804 (0.501953125)
    }

    [Theory]
    [InlineData(0f, 0)]
    [InlineData(1f, 255)]
    [InlineData(-0.25f, 0)]
    [InlineData(3f, 255)]
    [InlineData(float.NaN, 0)]
    [InlineData(0.5f, 128)]               // 127.5 → 128 (half to even)
    [InlineData(0.0078125f, 2)]           // 1.9921875 → 2
    [InlineData(0.2f, 51)]
    public void FramesAreClampedScaledAndRoundedHalfToEven(float value, int expected)
    {
        Assert.Equal((byte)expected, FrameConversion.ToByte(value));
    }

    [Fact]
    public void EveryByteSurvivesTheRoundTripThroughHalf()
    {
        // The echo decoder of the GPU step test relies on this: fp16 keeps byte/255 within 1/510.
        var rgb = Enumerable.Range(0, 256 * 3).Select(i => (byte)(i / 3)).ToArray();
        var planar = new Half[rgb.Length];
        var back = new byte[rgb.Length];
        FrameConversion.Rgb8ToPlanar(rgb, planar, 1, 16, 16);
        FrameConversion.PlanarToRgb8(planar, back, 1, 16, 16);
        Assert.Equal(rgb, back);
    }

    [Fact]
    public void PlanarFramesBecomeInterleavedBytes()
    {
        // Two images of 1×1: planes (R, G, B) = (0, 0.5, 1) and (−1, NaN, 0.2).
        Half[] planar = [Half.Zero, (Half)0.5f, Half.One, (Half)(-1f), Half.NaN, (Half)0.2f];
        var rgb = new byte[6];
        FrameConversion.PlanarToRgb8(planar, rgb, 2, 1, 1);
        Assert.Equal([0, 128, 255, 0, 0, 51], rgb);
    }

    [Fact]
    public void ReferenceRejectsWrongLengths()
    {
        var e = Assert.Throws<ArgumentException>(() => FrameConversion.Rgb8ToPlanar(new byte[12], new Half[11], 1, 2, 2));
        Assert.Contains("12", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheTensorRtIoReferencesAgreeWithTheCpuEngine()
    {
        // The kernels are held to these references by the kernel table; here the references are held to the CPU
        // engine's own conversions: the uint8 planar transpose (as CpuStreamer does it) and Preprocess.FrameToRgb.
        const int images = 3, height = 7, width = 13;
        int plane = height * width, count = images * plane * 3;
        var random = new Random(8);
        var rgb = new byte[count];
        random.NextBytes(rgb);
        var expectedU8 = new byte[count];
        for (int i = 0; i < images; i++)
        {
            for (int p = 0; p < plane; p++)
            {
                for (int c = 0; c < 3; c++)
                    expectedU8[(i * 3 * plane) + (c * plane) + p] = rgb[(((i * plane) + p) * 3) + c];
            }
        }

        var referenceU8 = new byte[count];
        FrameConversion.Rgb8ToPlanar(rgb, referenceU8, images, height, width);
        Assert.Equal(expectedU8, referenceU8);

        float[] specials = [-1f, 2f, float.NaN, -0f, 127.5f / 255f, 0.5f / 255f, 1f, 0f, float.PositiveInfinity, float.NegativeInfinity, 254.5f / 255f];
        var planar = new float[count];
        for (int i = 0; i < count; i++)
            planar[i] = i % 4 == 0 ? specials[i / 4 % specials.Length] : (random.NextSingle() * 1.2f) - 0.1f;
        var expectedRgb = new byte[count];
        for (int i = 0; i < images; i++)
            Rain.Engine.Media.Preprocess.FrameToRgb(planar.AsSpan(i * 3 * plane, 3 * plane), width, height, expectedRgb.AsSpan(i * 3 * plane, 3 * plane));
        var referenceRgb = new byte[count];
        FrameConversion.PlanarToRgb8((ReadOnlySpan<float>)planar, referenceRgb, images, height, width);
        Assert.Equal(expectedRgb, referenceRgb);
    }
}

using Rain.Engine.Media;
using Rain.Testing;

namespace Rain.Engine.Tests.Media;

public sealed class ImageCodecTests
{
    [Fact]
    public void PngRoundTripIsExact()
    {
        var p = new byte[37 * 19 * 3];
        for (int i = 0; i < p.Length; i++)
            p[i] = (byte)(i * 7);
        var image = new RgbImage(37, 19, p);
        var back = ImageCodec.Decode(ImageCodec.EncodePng(image), "roundtrip.png");
        Assert.Equal((37, 19), (back.Width, back.Height));
        Assert.Equal(p, back.Pixels);
    }

    [Fact]
    public void CorruptAndTruncatedFilesGetClearErrors()
    {
        var e = Assert.Throws<ImageFormatException>(() => ImageCodec.Decode("not an image at all"u8, "pose_0001.png"));
        Assert.Contains("pose_0001.png: not an image", e.Message, StringComparison.Ordinal);

        var png = ImageCodec.EncodePng(new RgbImage(64, 64));
        var truncated = png.AsSpan(0, png.Length / 2).ToArray();
        var t = Assert.Throws<ImageFormatException>(() => ImageCodec.Decode(truncated, "half.png"));
        Assert.StartsWith("half.png:", t.Message, StringComparison.Ordinal);

        var missing = Assert.Throws<ImageFormatException>(() => ImageCodec.Load("/nonexistent/ref.png"));
        Assert.Contains("/nonexistent/ref.png: cannot be read", missing.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(16384, 16384)]
    [InlineData(4097, 4096)]
    [InlineData(100_000, 8)]
    public void ASmallFileClaimingAHugeImageIsRefusedFromItsHeaderBeforeDecoding(int width, int height)
    {
        byte[] bomb = PngBomb.Create(width, height);
        Assert.InRange(bomb.Length, 1, 2048);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ImageFormatException>(() => ImageCodec.Decode(bomb, "bomb.png"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains($"bomb.png: the header claims {width}x{height} pixels", e.Message, StringComparison.Ordinal);
        Assert.Contains("16384 pixels per side and 16.8 megapixels", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < 1 << 20, $"refusing a {bomb.Length}-byte bomb allocated {allocated} bytes");
    }

    [Fact]
    public void AnImageAtTheLimitDecodesAndAPoseOfAnotherSizeIsRefusedBeforeDecoding()
    {
        // 4096 × 4096 is the documented limit: the bomb header at exactly the limit is decoded (its rows are missing, so it
        // ends as truncated data, not as a size refusal).
        var atLimit = Assert.Throws<ImageFormatException>(() => ImageCodec.Decode(PngBomb.Create(4096, 4096), "limit.png"));
        Assert.DoesNotContain("claims", atLimit.Message, StringComparison.Ordinal);

        // A pose must be the bundle's size exactly: a header claiming another size costs nothing to refuse.
        long before = GC.GetAllocatedBytesForCurrentThread();
        var pose = Assert.Throws<ImageFormatException>(() => ImageCodec.Decode(PngBomb.Create(4096, 4096), "pose.png", 128, 64));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        Assert.Contains("pose.png: the image is 4096x4096; it must be 128x64", pose.Message, StringComparison.Ordinal);
        var exact = ImageCodec.Decode(ImageCodec.EncodePng(new RgbImage(128, 64)), "ok.png", 128, 64);
        Assert.Equal((128, 64), (exact.Width, exact.Height));
    }

    [Fact]
    public void RgbImageRejectsMismatchedBuffers()
    {
        var e = Assert.Throws<ArgumentException>(() => new RgbImage(4, 4, new byte[47]));
        Assert.Contains("needs 48 bytes; got 47", e.Message, StringComparison.Ordinal);
    }
}

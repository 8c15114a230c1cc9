using Rain.Engine.Media;

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

    [Fact]
    public void RgbImageRejectsMismatchedBuffers()
    {
        var e = Assert.Throws<ArgumentException>(() => new RgbImage(4, 4, new byte[47]));
        Assert.Contains("needs 48 bytes; got 47", e.Message, StringComparison.Ordinal);
    }
}

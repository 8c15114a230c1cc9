using Rain.Engine.Media;

namespace Rain.Native;

/// <summary>Strided C images to and from the engine's packed <see cref="RgbImage"/>, every size and stride checked first.</summary>
internal static unsafe class Pixels
{
    /// <summary>Largest side accepted for any image crossing the ABI (a reference of any size is resized by the engine).</summary>
    public const int MaxSide = 16384;

    /// <summary>Copies a strided RGB image into a new packed image.</summary>
    public static RgbImage Copy(byte* rgb, int width, int height, int stride, string name)
    {
        Check(rgb, width, height, stride, name);
        var image = new RgbImage(width, height);
        int row = width * 3;
        for (int y = 0; y < height; y++)
            new ReadOnlySpan<byte>(rgb + ((long)y * stride), row).CopyTo(image.Pixels.AsSpan(y * row, row));
        return image;
    }

    /// <summary>Writes a packed image into a strided C buffer.</summary>
    public static void Write(RgbImage image, byte* rgb, int stride, string name)
    {
        Check(rgb, image.Width, image.Height, stride, name);
        int row = image.Width * 3;
        for (int y = 0; y < image.Height; y++)
            image.Pixels.AsSpan(y * row, row).CopyTo(new Span<byte>(rgb + ((long)y * stride), row));
    }

    private static void Check(byte* rgb, int width, int height, int stride, string name)
    {
        if (rgb is null)
            throw new ArgumentException($"{name} is NULL.");
        if (width < 1 || height < 1 || width > MaxSide || height > MaxSide)
            throw new ArgumentException($"{name}: {width}x{height} is not a valid image size (each side 1 to {MaxSide}).");
        if (stride < width * 3)
            throw new ArgumentException($"{name}: stride {stride} is smaller than a row of {width} RGB pixels ({width * 3} bytes).");
    }
}

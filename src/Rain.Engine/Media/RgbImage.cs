namespace Rain.Engine.Media;

/// <summary>
/// An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B (no padding). The engine's host-side image:
/// reference images and pose images come in as this, output frames go out as this.
/// </summary>
public sealed class RgbImage
{
    /// <summary>Wraps <paramref name="pixels"/> (not copied); its length must be width·height·3.</summary>
    /// <exception cref="ArgumentException">A size is not positive or the buffer length does not match.</exception>
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.LongLength != (long)width * height * 3)
            throw new ArgumentException($"An RGB image of {width}x{height} needs {(long)width * height * 3} bytes; got {pixels.LongLength}.", nameof(pixels));
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>Creates a black image.</summary>
    public RgbImage(int width, int height)
        : this(width, height, new byte[checked(width * height * 3)])
    {
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>The pixels, interleaved RGB, row-major.</summary>
    public byte[] Pixels { get; }

    /// <summary>The channel <paramref name="c"/> (0 = R, 1 = G, 2 = B) of pixel (x, y).</summary>
    public byte this[int x, int y, int c] => Pixels[(((y * Width) + x) * 3) + c];
}

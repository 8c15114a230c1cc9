using SkiaSharp;

namespace Rain.Engine.Media;

/// <summary>The image file could not be read: missing, corrupt, or in a format the decoder does not know.</summary>
public sealed class ImageFormatException : RainException
{
    /// <summary>Creates the exception.</summary>
    public ImageFormatException(string message)
        : base(RainErrorCategory.InvalidInput, message)
    {
    }

    /// <summary>Creates the exception with an inner cause.</summary>
    public ImageFormatException(string message, Exception inner)
        : base(RainErrorCategory.InvalidInput, message, inner)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ImageFormatException()
        : base(RainErrorCategory.InvalidInput, "The image cannot be read.")
    {
    }
}

/// <summary>
/// Decoding PNG/JPEG (and the other formats Skia reads) to <see cref="RgbImage"/> and encoding PNG, with SkiaSharp. Memory
/// is bounded before any pixel is decoded: the header's size is checked first (at most <see cref="MaxPixels"/> pixels and
/// <see cref="MaxSide"/> per side; exactly the expected size when one is given, as for poses), so a small file claiming a
/// huge image — a decompression bomb — is refused having cost only its own bytes.
/// </summary>
public static class ImageCodec
{
    /// <summary>Largest image side accepted.</summary>
    public const int MaxSide = 16384;

    /// <summary>Largest image accepted, in pixels: 16.7 megapixels (4096 × 4096; a 12-megapixel photo fits), about 120 MB while decoding.</summary>
    public const int MaxPixels = 4096 * 4096;

    /// <summary>Largest image file read (a 16-megapixel PNG stored without compression is 64 MB).</summary>
    public const long MaxFileBytes = 256L << 20;

    /// <summary>
    /// Decodes an image file to RGB. Alpha is dropped without compositing and grey or palette images are expanded,
    /// as PIL's <c>convert("RGB")</c> does, which is what RAIN applies to its inputs.
    /// </summary>
    /// <exception cref="ImageFormatException">The file is missing, corrupt, too large or not an image.</exception>
    public static RgbImage Load(string path) => Decode(ReadFile(path), path);

    /// <summary>Decodes an image file that must be exactly <paramref name="width"/>×<paramref name="height"/> (a pose image): any other size is refused from the header, before decoding.</summary>
    /// <exception cref="ImageFormatException">The file is missing, corrupt, not an image, or of another size.</exception>
    public static RgbImage Load(string path, int width, int height) => Decode(ReadFile(path), path, width, height);

    /// <summary>Decodes image bytes; <paramref name="name"/> names the source in errors.</summary>
    /// <exception cref="ImageFormatException">The bytes are not a decodable image or it is too large.</exception>
    public static RgbImage Decode(ReadOnlySpan<byte> bytes, string name) => Decode(bytes, name, 0, 0);

    /// <summary>Decodes image bytes that must be exactly <paramref name="width"/>×<paramref name="height"/> (0 × 0: any size within the limits).</summary>
    /// <exception cref="ImageFormatException">The bytes are not a decodable image, too large, or of another size.</exception>
    public static RgbImage Decode(ReadOnlySpan<byte> bytes, string name, int width, int height)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new ImageFormatException($"{name}: not an image Rain.Engine can decode (PNG, JPEG, BMP, GIF, WebP); {bytes.Length} bytes.");
        var info = codec.Info;
        if (width > 0 && (info.Width != width || info.Height != height))
            throw new ImageFormatException($"{name}: the image is {info.Width}x{info.Height}; it must be {width}x{height} (the bundle's size).");
        if (info.Width < 1 || info.Height < 1 || info.Width > MaxSide || info.Height > MaxSide || (long)info.Width * info.Height > MaxPixels)
            throw new ImageFormatException($"{name}: the header claims {info.Width}x{info.Height} pixels; images are limited to {MaxSide} pixels per side and {MaxPixels / 1_000_000.0:F1} megapixels ({bytes.Length} bytes read, nothing decoded).");
        var target = new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[target.BytesSize];
        unsafe
        {
            fixed (byte* p = rgba)
            {
                var result = codec.GetPixels(target, (nint)p);
                if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
                    throw new ImageFormatException($"{name}: decoding failed ({result}).");
                if (result == SKCodecResult.IncompleteInput)
                    throw new ImageFormatException($"{name}: the image data is truncated.");
            }
        }

        var rgb = new byte[info.Width * info.Height * 3];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            rgb[i] = rgba[j];
            rgb[i + 1] = rgba[j + 1];
            rgb[i + 2] = rgba[j + 2];
        }

        return new RgbImage(info.Width, info.Height, rgb);
    }

    private static byte[] ReadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            if (stream.Length > MaxFileBytes)
                throw new ImageFormatException($"{path}: {stream.Length} bytes; image files are limited to {MaxFileBytes >> 20} MB.");
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ImageFormatException($"{path}: cannot be read ({e.Message}).", e);
        }
    }

    /// <summary>Encodes <paramref name="image"/> as PNG bytes.</summary>
    public static byte[] EncodePng(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var rgba = new byte[info.BytesSize];
        byte[] src = image.Pixels;
        for (int i = 0, j = 0; i < src.Length; i += 3, j += 4)
        {
            rgba[j] = src[i];
            rgba[j + 1] = src[i + 1];
            rgba[j + 2] = src[i + 2];
            rgba[j + 3] = 255;
        }

        unsafe
        {
            // The bitmap borrows rgba's memory: it must stay pinned until Skia has encoded it (encoding after the fixed
            // block read memory the GC was free to move, and crashed the process now and then).
            fixed (byte* p = rgba)
            {
                bitmap.InstallPixels(info, (nint)p, info.RowBytes);
                using var encoded = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                return encoded.ToArray();
            }
        }
    }

    /// <summary>Writes <paramref name="image"/> as a PNG file.</summary>
    public static void SavePng(RgbImage image, string path) => File.WriteAllBytes(path, EncodePng(image));
}

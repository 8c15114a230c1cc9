using SkiaSharp;

namespace Rain.Engine.Media;

/// <summary>The image file could not be read: missing, corrupt, or in a format the decoder does not know.</summary>
public sealed class ImageFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ImageFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with an inner cause.</summary>
    public ImageFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ImageFormatException()
    {
    }
}

/// <summary>Decoding PNG/JPEG (and the other formats Skia reads) to <see cref="RgbImage"/> and encoding PNG, with SkiaSharp.</summary>
public static class ImageCodec
{
    /// <summary>Largest image side accepted when decoding (guards against decompression bombs).</summary>
    public const int MaxSide = 16384;

    /// <summary>
    /// Decodes an image file to RGB. Alpha is dropped without compositing and grey or palette images are expanded,
    /// as PIL's <c>convert("RGB")</c> does, which is what RAIN applies to its inputs.
    /// </summary>
    /// <exception cref="ImageFormatException">The file is missing, corrupt, too large or not an image.</exception>
    public static RgbImage Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageFormatException($"{path}: cannot be read ({e.Message}).", e);
        }

        return Decode(bytes, path);
    }

    /// <summary>Decodes image bytes; <paramref name="name"/> names the source in errors.</summary>
    /// <exception cref="ImageFormatException">The bytes are not a decodable image or it is too large.</exception>
    public static RgbImage Decode(ReadOnlySpan<byte> bytes, string name)
    {
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new ImageFormatException($"{name}: not an image Rain.Engine can decode (PNG, JPEG, BMP, GIF, WebP); {bytes.Length} bytes.");
        var info = codec.Info;
        if (info.Width < 1 || info.Height < 1 || info.Width > MaxSide || info.Height > MaxSide)
            throw new ImageFormatException($"{name}: image size {info.Width}x{info.Height} is outside 1..{MaxSide} pixels per side.");
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

using Rain.Engine.Media;
using SkiaSharp;

namespace Rain.Serve;

/// <summary>Animated frames as JPEG for the page (SkiaSharp, as the engine's PNG encoder).</summary>
internal static class JpegEncoder
{
    public static byte[] Encode(RgbImage image, int quality)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize];
        byte[] src = image.Pixels;
        for (int i = 0, j = 0; i < src.Length; i += 3, j += 4)
        {
            rgba[j] = src[i];
            rgba[j + 1] = src[i + 1];
            rgba[j + 2] = src[i + 2];
            rgba[j + 3] = 255;
        }

        using var bitmap = new SKBitmap(info);
        unsafe
        {
            // Pinned until Skia has encoded it (the bitmap borrows the array's memory).
            fixed (byte* p = rgba)
            {
                bitmap.InstallPixels(info, (nint)p, info.RowBytes);
                using var encoded = bitmap.Encode(SKEncodedImageFormat.Jpeg, quality);
                return encoded.ToArray();
            }
        }
    }
}

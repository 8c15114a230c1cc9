using SkiaSharp;

namespace Rain.Engine.Media;

/// <summary>
/// Draws face landmarks the way RAIN's DWPose front end does with <c>face_only=True</c>: filled circles on a black
/// canvas, one colour per landmark group. Landmarks use the 68-point layout (jaw 0–16, brows 17–26, nose 27–35, eyes
/// 36–47, lips 48–67) in pixel coordinates; points outside the canvas are skipped.
/// </summary>
public static class PoseRenderer
{
    /// <summary>Landmark groups of the 68-point layout: first index and count.</summary>
    public static IReadOnlyList<(int First, int Count)> Groups { get; } =
        [(0, 17), (17, 5), (22, 5), (27, 4), (31, 5), (36, 6), (42, 6), (48, 12), (60, 8)];

    private static readonly SKColor[] Palette =
    [
        new(255, 0, 0), new(255, 170, 0), new(170, 255, 0), new(0, 255, 0), new(0, 255, 170),
        new(0, 170, 255), new(0, 0, 255), new(170, 0, 255), new(255, 0, 170),
    ];

    /// <summary>Renders <paramref name="landmarks"/> (68 points, x then y) onto a black <paramref name="width"/>×<paramref name="height"/> canvas.</summary>
    public static RgbImage Render(ReadOnlySpan<(float X, float Y)> landmarks, int width, int height, float radius = 3f)
    {
        if (landmarks.Length != 68)
            throw new ArgumentException($"The face layout has 68 landmarks; got {landmarks.Length}.", nameof(landmarks));
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var surface = SKSurface.Create(info) ?? throw new InvalidOperationException($"Skia could not create a {width}x{height} surface.");
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.Black);
        using var paint = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Fill };
        for (int g = 0; g < Groups.Count; g++)
        {
            paint.Color = Palette[g % Palette.Length];
            var (first, count) = Groups[g];
            for (int i = first; i < first + count; i++)
            {
                var (x, y) = landmarks[i];
                if (x >= 0 && y >= 0 && x < width && y < height)
                    canvas.DrawCircle(x, y, radius, paint);
            }
        }

        return Snapshot(surface, width, height);
    }

    internal static RgbImage Snapshot(SKSurface surface, int width, int height)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize];
        unsafe
        {
            fixed (byte* p = rgba)
            {
                if (!surface.ReadPixels(info, (nint)p, info.RowBytes, 0, 0))
                    throw new InvalidOperationException("Skia could not read the rendered pixels back.");
            }
        }

        var rgb = new byte[width * height * 3];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            rgb[i] = rgba[j];
            rgb[i + 1] = rgba[j + 1];
            rgb[i + 2] = rgba[j + 2];
        }

        return new RgbImage(width, height, rgb);
    }
}

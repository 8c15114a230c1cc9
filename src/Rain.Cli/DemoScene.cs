using SkiaSharp;
using Rain.Engine.Media;
using Rain.Engine.Pose;

namespace Rain.Cli;

/// <summary>
/// Procedural input for <c>rain demo</c>: a drawn character and a moving face (head sway, nod, blinking, talking) as
/// 68 landmarks, drawn through RAIN's own face drawing (<see cref="FaceDrawing"/>: RAIN's live retargeting, then its 26
/// coloured circles), exactly as the pose front end draws a camera face. Deterministic for a frame index.
/// </summary>
internal static class DemoScene
{
    /// <summary>The 68 landmarks of frame <paramref name="frame"/> in pixels of a width×height canvas.</summary>
    public static (float X, float Y)[] Landmarks(int frame, int width, int height)
    {
        double t = frame / 16.0; // RAIN's 16 fps
        double yaw = 0.35 * Math.Sin(2 * Math.PI * 0.25 * t);
        double nod = 0.06 * Math.Sin(2 * Math.PI * 0.4 * t);
        double mouth = 0.5 + (0.5 * Math.Sin(2 * Math.PI * 1.1 * t));
        double blink = Math.Abs(Math.Sin(Math.PI * 0.3 * t)) > 0.97 ? 0.1 : 1.0;
        double cx = 0.5 + (0.05 * Math.Sin(2 * Math.PI * 0.15 * t)), cy = 0.5 + nod;
        double scale = 0.32 * Math.Min(width, height);
        var points = new (float, float)[68];
        int k = 0;

        void Add(double x, double y, double depth = 1.0)
        {
            // A crude rotation about the vertical axis: x shrinks with cos(yaw), points in front shift with sin(yaw).
            double xr = (x * Math.Cos(yaw)) + (depth * 0.3 * Math.Sin(yaw));
            points[k++] = ((float)((cx * width) + (xr * scale)), (float)((cy * height) + (y * scale)));
        }

        for (int i = 0; i < 17; i++)
        {
            double a = Math.PI * (0.1 + (0.8 * i / 16.0));
            Add(-Math.Cos(a) * 0.85, (Math.Sin(a) * 1.05) - 0.25, 0.2);
        }

        for (int side = -1; side <= 1; side += 2)
        {
            for (int i = 0; i < 5; i++)
            {
                double u = i / 4.0;
                double x = side < 0 ? -0.65 + (0.5 * u) : 0.15 + (0.5 * u);
                Add(x, -0.55 - (0.08 * Math.Sin(Math.PI * u)), 0.8);
            }
        }

        for (int i = 0; i < 4; i++)
            Add(0, -0.35 + (0.12 * i), 1.0 + (0.3 * i / 3.0));
        for (int i = 0; i < 5; i++)
            Add(-0.16 + (0.08 * i), 0.12 + (0.03 * (1 - Math.Abs(i - 2) / 2.0)), 1.1);

        foreach (double ex in new[] { -0.38, 0.38 })
        {
            for (int i = 0; i < 6; i++)
            {
                double a = 2 * Math.PI * i / 6.0;
                Add(ex + (0.14 * Math.Cos(a)), -0.3 + (0.06 * blink * Math.Sin(a)), 0.9);
            }
        }

        for (int i = 0; i < 12; i++)
        {
            double a = 2 * Math.PI * i / 12.0;
            Add(0.3 * Math.Cos(a), 0.42 + ((0.06 + (0.1 * mouth)) * Math.Sin(a)), 1.0);
        }

        for (int i = 0; i < 8; i++)
        {
            double a = 2 * Math.PI * i / 8.0;
            Add(0.2 * Math.Cos(a), 0.42 + (0.09 * mouth * Math.Sin(a)), 1.0);
        }

        return points;
    }

    /// <summary>The pose image of frame <paramref name="frame"/>: the landmarks, normalised, through RAIN's live retargeting and patterns.</summary>
    public static RgbImage Pose(int frame, int width, int height)
    {
        var points = Landmarks(frame, width, height);
        var face = new double[2 * points.Length];
        for (int i = 0; i < points.Length; i++)
        {
            face[2 * i] = (double)points[i].X / width;
            face[(2 * i) + 1] = (double)points[i].Y / height;
        }

        var image = new RgbImage(width, height);
        new FaceDrawing().Draw(face, RetargetOptions.Live, image.Pixels, width, height, width * 3);
        return image;
    }

    /// <summary>A drawn character: gradient background, hair, face, eyes, mouth.</summary>
    public static RgbImage Reference(int width, int height)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var surface = SKSurface.Create(info);
        var c = surface.Canvas;
        using (var bg = new SKPaint())
        {
            bg.Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(0, height), [new SKColor(70, 110, 190), new SKColor(230, 200, 160)], SKShaderTileMode.Clamp);
            c.DrawRect(0, 0, width, height, bg);
        }

        float cx = width / 2f, cy = height / 2f, s = 0.32f * Math.Min(width, height);
        using var p = new SKPaint { IsAntialias = true };
        p.Color = new SKColor(60, 35, 25);
        c.DrawOval(cx, cy - (0.25f * s), 1.05f * s, 1.0f * s, p);
        p.Color = new SKColor(240, 200, 170);
        c.DrawOval(cx, cy, 0.85f * s, 1.05f * s, p);
        p.Color = SKColors.White;
        c.DrawOval(cx - (0.38f * s), cy - (0.3f * s), 0.15f * s, 0.07f * s, p);
        c.DrawOval(cx + (0.38f * s), cy - (0.3f * s), 0.15f * s, 0.07f * s, p);
        p.Color = new SKColor(50, 90, 60);
        c.DrawCircle(cx - (0.38f * s), cy - (0.3f * s), 0.055f * s, p);
        c.DrawCircle(cx + (0.38f * s), cy - (0.3f * s), 0.055f * s, p);
        p.Color = new SKColor(190, 70, 80);
        c.DrawOval(cx, cy + (0.42f * s), 0.28f * s, 0.08f * s, p);
        return Snapshot(surface, width, height);
    }

    private static RgbImage Snapshot(SKSurface surface, int width, int height)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        if (!surface.ReadPixels(info, bitmap.GetPixels(), info.RowBytes, 0, 0))
            throw new InvalidOperationException("Skia could not read the rendered pixels back.");
        var rgba = bitmap.GetPixelSpan();
        var rgb = new byte[width * height * 3];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
            (rgb[i], rgb[i + 1], rgb[i + 2]) = (rgba[j], rgba[j + 1], rgba[j + 2]);
        return new RgbImage(width, height, rgb);
    }
}

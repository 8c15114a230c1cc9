using SkiaSharp;

namespace Rain.Cli;

/// <summary>The drawing surface the CLI's PNG charts share (bench chart, trace timeline): white canvas, fonts, ink, grid, PNG output.</summary>
internal sealed class ChartCanvas : IDisposable
{
    private readonly SKSurface _surface;

    public ChartCanvas(int width, int height)
    {
        Width = width;
        Height = height;
        _surface = SKSurface.Create(new SKImageInfo(width, height));
        Canvas.Clear(SKColors.White);
    }

    public int Width { get; }

    public int Height { get; }

    public SKCanvas Canvas => _surface.Canvas;

    public SKFont Font { get; } = new(SKTypeface.Default, 13);

    public SKFont Small { get; } = new(SKTypeface.Default, 11);

    public SKPaint Ink { get; } = new() { Color = SKColors.Black, IsAntialias = true };

    public SKPaint Grid { get; } = new() { Color = new SKColor(220, 220, 220), StrokeWidth = 1 };

    /// <summary>Writes the canvas as a PNG file.</summary>
    public void Save(string path)
    {
        using var image = _surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    public void Dispose()
    {
        Font.Dispose();
        Small.Dispose();
        Ink.Dispose();
        Grid.Dispose();
        _surface.Dispose();
    }
}

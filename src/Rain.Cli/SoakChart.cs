using System.Globalization;
using SkiaSharp;

namespace Rain.Cli;

/// <summary>The soak plot: resident set and managed heap, step time and interval, frame latency p50/p99, over the run, as a PNG.</summary>
internal static class SoakChart
{
    public static void Write(string path, IReadOnlyList<SoakRun.Sample> samples, string title)
    {
        const int Width = 900, PanelHeight = 200, Top = 40, Left = 70, Right = 20;
        (string Label, (string Name, SKColor Color, Func<SoakRun.Sample, double> Value)[] Lines)[] panels =
        [
            ("memory (MB)", [("RSS", new SKColor(30, 90, 200), s => s.RssMb), ("managed heap", new SKColor(230, 120, 40), s => s.HeapMb)]),
            ("step (ms)", [("step time", new SKColor(30, 90, 200), s => s.StepMs), ("step interval", new SKColor(230, 120, 40), s => s.StepIntervalMs)]),
            ("frame latency (ms)", [("p50", new SKColor(30, 90, 200), s => s.LatencyP50), ("p99", new SKColor(200, 40, 40), s => s.LatencyP99)]),
        ];
        var ci = CultureInfo.InvariantCulture;
        using var surface = SKSurface.Create(new SKImageInfo(Width, Top + (panels.Length * (PanelHeight + 40))));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 13);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var grid = new SKPaint { Color = new SKColor(220, 220, 220), StrokeWidth = 1 };
        canvas.DrawText(title, Left, 24, font, ink);
        double tMax = Math.Max(samples.Count == 0 ? 1 : samples[^1].Seconds, 1);
        for (int p = 0; p < panels.Length; p++)
        {
            float top = Top + (p * (PanelHeight + 40)), bottom = top + PanelHeight;
            var values = panels[p].Lines.SelectMany(l => samples.Select(l.Value)).Where(double.IsFinite).ToList();
            double max = values.Count == 0 ? 1 : values.Max() * 1.1, min = values.Count == 0 ? 0 : Math.Min(0, values.Min());
            for (int g = 0; g <= 4; g++)
            {
                float y = bottom - ((bottom - top) * g / 4);
                canvas.DrawLine(Left, y, Width - Right, y, grid);
                canvas.DrawText(string.Create(ci, $"{min + ((max - min) * g / 4):G4}"), 4, y + 4, font, ink);
            }

            canvas.DrawText(string.Create(ci, $"{panels[p].Label} over {tMax / 60:F1} min"), Left, bottom + 18, font, ink);
            float legend = Left + 260;
            foreach (var (name, color, value) in panels[p].Lines)
            {
                using var line = new SKPaint { Color = color, StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke };
                using var path2 = new SKPath();
                bool started = false;
                foreach (var s in samples)
                {
                    double v = value(s);
                    if (!double.IsFinite(v))
                        continue;
                    float x = Left + (float)((Width - Left - Right) * s.Seconds / tMax);
                    float y = bottom - (float)((bottom - top) * (v - min) / (max - min));
                    if (started)
                        path2.LineTo(x, y);
                    else
                        path2.MoveTo(x, y);
                    started = true;
                }

                canvas.DrawPath(path2, line);
                using var swatch = new SKPaint { Color = color };
                canvas.DrawRect(legend, bottom + 8, 14, 10, swatch);
                canvas.DrawText(name, legend + 18, bottom + 18, font, ink);
                legend += 150;
            }
        }

        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }
}

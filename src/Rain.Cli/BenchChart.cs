using System.Globalization;
using Rain.Engine.Api;
using SkiaSharp;

namespace Rain.Cli;

/// <summary>The bench chart: step time over the run (top) and the mean time per stage (bottom), as a PNG.</summary>
internal static class BenchChart
{
    public static void Write(string path, IReadOnlyList<double> stepMs, IReadOnlyDictionary<Stage, LatencySummary> stages, string title)
    {
        const int Width = 900, Height = 620, Margin = 60;
        var ci = CultureInfo.InvariantCulture;
        using var chart = new ChartCanvas(Width, Height);
        var (canvas, font, ink, grid) = (chart.Canvas, chart.Font, chart.Ink, chart.Grid);
        using var line = new SKPaint { Color = new SKColor(30, 90, 200), StrokeWidth = 2, IsAntialias = true, Style = SKPaintStyle.Stroke };
        using var bar = new SKPaint { Color = new SKColor(230, 120, 40), IsAntialias = true };
        canvas.DrawText(title, Margin, 24, font, ink);

        // Step time over the run.
        float top = 50, bottom = 300, left = Margin, right = Width - 20;
        double max = Math.Max(stepMs.Count == 0 ? 1 : stepMs.Max() * 1.1, 1e-3);
        for (int g = 0; g <= 4; g++)
        {
            float y = bottom - ((bottom - top) * g / 4);
            canvas.DrawLine(left, y, right, y, grid);
            canvas.DrawText(string.Create(ci, $"{max * g / 4:F0}"), 8, y + 4, font, ink);
        }

        canvas.DrawText("step time (ms) per measured step", left, bottom + 18, font, ink);
        using (var pathLine = new SKPath())
        {
            for (int i = 0; i < stepMs.Count; i++)
            {
                float x = left + ((right - left) * i / Math.Max(1, stepMs.Count - 1));
                float y = bottom - (float)((bottom - top) * stepMs[i] / max);
                if (i == 0)
                    pathLine.MoveTo(x, y);
                else
                    pathLine.LineTo(x, y);
            }

            canvas.DrawPath(pathLine, line);
        }

        // Stage breakdown (mean ms per step).
        float barTop = 350, rowHeight = 30;
        double stageMax = Math.Max(stages.Values.Max(s => s.Mean), 1e-6);
        int row = 0;
        foreach (var (stage, summary) in stages)
        {
            float y = barTop + (row++ * rowHeight);
            canvas.DrawText(stage.ToString(), 8, y + 16, font, ink);
            float w = (float)((right - 240) * summary.Mean / stageMax);
            canvas.DrawRect(140, y + 4, Math.Max(w, 1), rowHeight - 10, bar);
            canvas.DrawText(string.Create(ci, $"{summary.Mean:F2} ms"), 145 + w, y + 16, font, ink);
        }

        chart.Save(path);
    }
}

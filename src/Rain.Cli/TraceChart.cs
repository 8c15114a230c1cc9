using System.Globalization;
using SkiaSharp;

namespace Rain.Cli;

/// <summary>
/// A few steps of a trace drawn as a PNG (<c>--trace-png</c>): on top, the steps one frame travels through, from its pose
/// entering to its frame leaving, with every thread's lane and the frame's path as arrows; below, the last of those steps
/// in detail, down to the UNet's parts and attention cores (or the GPU's parts).
/// </summary>
internal static class TraceChart
{
    private const int Width = 1400, LabelWidth = 190, Right = Width - 20, Row = 22;
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    private static readonly Dictionary<string, SKColor> Colours = new(StringComparer.Ordinal)
    {
        ["step"] = new(224, 224, 224),
        ["PoseInput"] = new(67, 160, 71),
        ["PoseGuider"] = new(0, 137, 123),
        ["Copies"] = new(144, 144, 144),
        ["UNet"] = new(57, 73, 171),
        ["Scheduler"] = new(249, 168, 37),
        ["Decode"] = new(142, 36, 170),
        ["FrameOutput"] = new(216, 27, 96),
        ["Device"] = new(0, 151, 167),
        ["pose in"] = new(124, 179, 66),
        ["frame out"] = new(109, 76, 65),
        ["write frame"] = new(120, 144, 156),
    };

    /// <summary>Draws <paramref name="trace"/> into <paramref name="path"/>; false (and nothing written) when it holds no step.</summary>
    public static bool Write(string path, TraceFile trace, string title)
    {
        var steps = trace.Slices.Where(s => s.Name == "step" && s.Step is not null).OrderBy(s => s.Ts).ToList();
        if (steps.Count == 0)
            return false;
        var (path0, window) = ChooseWindow(trace, steps);

        // In detail: the step in which the followed frame was decoded (its flow's last point inside a step), else the last step shown.
        var lastInStep = path0 is { } p0
            ? trace.Flows.Where(f => f.Id == p0.Id && steps.Any(s => s.Tid == f.Tid && s.Ts <= f.Ts && s.End >= f.Ts)).Select(f => f.Ts).DefaultIfEmpty(double.NaN).Max()
            : double.NaN;
        var detail = steps.LastOrDefault(s => s.Ts <= lastInStep && s.End >= lastInStep) ?? steps.LastOrDefault(s => s.Ts < window.End) ?? steps[^1];

        var overviewLanes = Lanes(trace, window.Start, window.End, maxDepth: 2);
        var detailLanes = Lanes(trace, detail.Ts, detail.End, maxDepth: 3).Where(l => l.Slices.Any(s => s.Category != "session" && s.Category != "host")).ToList();
        int overviewHeight = overviewLanes.Sum(l => (l.Depth * Row) + 12);
        int detailHeight = detailLanes.Sum(l => (l.Depth * Row) + 12);
        int height = 60 + overviewHeight + 16 + 24 + 40 + 20 + detailHeight + 16 + 50;
        using var chart = new ChartCanvas(Width, height);
        chart.Canvas.DrawText(title, 10, 22, chart.Font, chart.Ink);

        float y = 50;
        var shown = steps.Where(s => Math.Min(s.End, window.End) - Math.Max(s.Ts, window.Start) > s.Dur / 2).ToList();
        string stepsShown = shown.Count > 0 ? string.Create(Ci, $"steps {shown[0].Step}–{shown[^1].Step}") : "";
        string overviewTitle = path0 is null
            ? stepsShown
            : string.Create(Ci, $"{stepsShown}: the path of one {(path0.Value.Category == "frame" ? "frame, from its pose entering the session to the frame leaving it" : "chunk, from its poses' input to its frames' output")} (arrows)");
        chart.Canvas.DrawText(overviewTitle, 10, y, chart.Font, chart.Ink);
        y += 10;
        var placed = DrawLanes(chart, overviewLanes, window.Start, window.End, ref y);
        if (path0 is { } flow)
            DrawFlow(chart, trace, flow.Id, placed, window.Start, window.End, y + 6);
        y += 24;

        y += 40;
        chart.Canvas.DrawText(string.Create(Ci, $"step {detail.Step} in detail ({detail.Dur / 1000:F1} ms{(detail.DecodedChunk is { } c ? $", decodes chunk {c}" : "")})"), 10, y, chart.Font, chart.Ink);
        y += 10;
        DrawLanes(chart, detailLanes, detail.Ts, detail.End, ref y);
        DrawLegend(chart, y + 30);
        chart.Save(path);
        return true;
    }

    // The window: the path of one frame (or chunk) from the middle of the run, from its start to its end, or the last three steps.
    private static ((string Id, string Category)? Flow, (double Start, double End) Window) ChooseWindow(TraceFile trace, List<TraceSlice> steps)
    {
        var complete = trace.Flows.GroupBy(f => f.Id)
            .Select(g => g.OrderBy(f => f.Ts).ToList())
            .Where(g => g[0].Phase == 's' && g[^1].Phase == 'f')
            .OrderBy(g => g[^1].Ts)
            .ToList();
        if (complete.Count > 0)
        {
            var chosen = complete[complete.Count / 2];
            var first = steps.LastOrDefault(s => s.Ts <= chosen[0].Ts) ?? steps[0];
            var lastFrameOut = trace.Slices.Where(s => s.Tid == chosen[^1].Tid && s.Ts <= chosen[^1].Ts && s.End >= chosen[^1].Ts).Select(s => s.End).DefaultIfEmpty(chosen[^1].Ts).Max();
            double start = Math.Min(first.Ts, chosen[0].Ts), end = Math.Max(lastFrameOut, chosen[^1].Ts);
            double margin = (end - start) * 0.01;
            return ((chosen[0].Id, chosen[0].Category), (start - margin, end + margin));
        }

        var tail = steps.TakeLast(3).ToList();
        return (null, (tail[0].Ts, tail[^1].End));
    }

    private sealed record Lane(int Tid, string Name, int Depth, List<(TraceSlice Slice, int Depth)> Placed)
    {
        public IEnumerable<TraceSlice> Slices => Placed.Select(p => p.Slice);
    }

    // One lane per thread with slices in the window; each slice's depth is how many of its thread's slices enclose it.
    private static List<Lane> Lanes(TraceFile trace, double start, double end, int maxDepth)
    {
        var lanes = new List<Lane>();
        foreach (var group in trace.Slices.Where(s => s.End >= start && s.Ts <= end).GroupBy(s => s.Tid)
            .OrderBy(g => trace.SortIndex.GetValueOrDefault(g.Key, 2)).ThenBy(g => g.Key))
        {
            var placed = new List<(TraceSlice, int)>();
            var open = new List<double>();
            foreach (var s in group.OrderBy(s => s.Ts).ThenByDescending(s => s.Dur))
            {
                open.RemoveAll(e => e <= s.Ts);
                if (open.Count < maxDepth)
                    placed.Add((s, open.Count));
                open.Add(s.End);
            }

            int depth = placed.Count == 0 ? 0 : placed.Max(p => p.Item2) + 1;
            if (depth > 0)
                lanes.Add(new Lane(group.Key, trace.ThreadName(group.Key), depth, placed));
        }

        return lanes;
    }

    private static Dictionary<(int Tid, double Ts), float> DrawLanes(ChartCanvas chart, List<Lane> lanes, double start, double end, ref float y)
    {
        var canvas = chart.Canvas;
        double scale = (Right - LabelWidth) / Math.Max(end - start, 1e-3);
        float top = y;
        var rows = new Dictionary<(int, double), float>();
        foreach (var lane in lanes)
        {
            canvas.DrawText(lane.Name, 10, y + 16, chart.Font, chart.Ink);
            int index = 0;
            foreach (var (s, depth) in lane.Placed)
            {
                float x0 = LabelWidth + (float)((Math.Max(s.Ts, start) - start) * scale);
                float x1 = LabelWidth + (float)((Math.Min(s.End, end) - start) * scale);
                float ry = y + (depth * Row);
                using var fill = new SKPaint { Color = Colour(s, index++), IsAntialias = false };
                canvas.DrawRect(x0, ry + 1, Math.Max(x1 - x0, 1), Row - 3, fill);
                rows[(s.Tid, s.Ts)] = ry + (Row / 2f);
                string label = Label(s);
                float width = chart.Small.MeasureText(label);
                if (x1 - x0 > width + 6)
                {
                    using var text = new SKPaint { Color = Luminance(fill.Color) > 150 ? SKColors.Black : SKColors.White, IsAntialias = true };
                    canvas.DrawText(label, x0 + 3, ry + 15, chart.Small, text);
                }
            }

            y += (lane.Depth * Row) + 12;
        }

        // The time axis under the lanes, in ms from the window's start.
        double spanMs = (end - start) / 1000;
        double tick = NiceTick(spanMs / 8);
        for (double ms = 0; ms <= spanMs; ms += tick)
        {
            float x = LabelWidth + (float)(ms * 1000 * scale);
            canvas.DrawLine(x, top, x, y, chart.Grid);
            string label = string.Create(Ci, $"{ms:0.##} ms");
            if (x + 2 + chart.Small.MeasureText(label) <= Width)
                canvas.DrawText(label, x + 2, y + 12, chart.Small, chart.Ink);
        }

        y += 16;
        return rows;
    }

    // Arrows through the flow's points, each drawn at the slice that encloses it (the deepest row found at that thread).
    private static void DrawFlow(ChartCanvas chart, TraceFile trace, string id, Dictionary<(int Tid, double Ts), float> rows, double start, double end, float captionY)
    {
        double scale = (Right - LabelWidth) / Math.Max(end - start, 1e-3);
        var points = new List<(SKPoint Point, string Label)>();
        foreach (var f in trace.Flows.Where(f => f.Id == id).OrderBy(f => f.Ts))
        {
            // The deepest drawn slice of the point's thread that encloses it: the slice the viewer binds the point to.
            var enclosing = trace.Slices.Where(s => s.Tid == f.Tid && s.Ts <= f.Ts && s.End >= f.Ts && rows.ContainsKey((s.Tid, s.Ts)))
                .OrderByDescending(s => s.Ts).ThenBy(s => s.Dur).FirstOrDefault();
            if (enclosing is null)
                continue;
            var step = trace.Slices.FirstOrDefault(s => s.Name == "step" && s.Tid == f.Tid && s.Ts <= f.Ts && s.End >= f.Ts);
            string label = enclosing.Name switch
            {
                "frame out" => string.Create(Ci, $"frame {enclosing.Frame} out ({enclosing.LatencyMs:F0} ms after its pose)"),
                _ when step is not null && enclosing != step => string.Create(Ci, $"{enclosing.Name}, step {step.Step}"),
                _ => enclosing.Name,
            };
            points.Add((new SKPoint(LabelWidth + (float)((f.Ts - start) * scale), rows[(enclosing.Tid, enclosing.Ts)]), label));
        }

        using var pen = new SKPaint { Color = SKColors.Black, StrokeWidth = 2.5f, IsAntialias = true, Style = SKPaintStyle.Stroke };
        using var dot = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var white = new SKPaint { Color = SKColors.White, IsAntialias = true };
        for (int i = 1; i < points.Count; i++)
        {
            // A curve arching above the bars it passes, its arrow head just outside the next dot.
            var (a, b) = (points[i - 1].Point, points[i].Point);
            var control = new SKPoint((a.X + b.X) / 2, Math.Min(a.Y, b.Y) - 18);
            using (var curve = new SKPath())
            {
                curve.MoveTo(a);
                curve.QuadTo(control, b);
                chart.Canvas.DrawPath(curve, pen);
            }

            float angle = MathF.Atan2(b.Y - control.Y, b.X - control.X);
            var tip = new SKPoint(b.X - (7 * MathF.Cos(angle)), b.Y - (7 * MathF.Sin(angle)));
            using var head = new SKPath();
            head.MoveTo(tip);
            head.LineTo(tip.X - (11 * MathF.Cos(angle - 0.4f)), tip.Y - (11 * MathF.Sin(angle - 0.4f)));
            head.LineTo(tip.X - (11 * MathF.Cos(angle + 0.4f)), tip.Y - (11 * MathF.Sin(angle + 0.4f)));
            head.Close();
            chart.Canvas.DrawPath(head, dot);
        }

        // Numbered dots on the lanes, their meaning in one caption line under the axis.
        float captionX = LabelWidth;
        for (int i = 0; i < points.Count; i++)
        {
            string number = (i + 1).ToString(Ci);
            chart.Canvas.DrawCircle(points[i].Point, 7, dot);
            chart.Canvas.DrawText(number, points[i].Point.X - (chart.Small.MeasureText(number) / 2), points[i].Point.Y + 4, chart.Small, white);
            string caption = $"{number} {points[i].Label}" + (i + 1 < points.Count ? "  →  " : "");
            chart.Canvas.DrawText(caption, captionX, captionY + 8, chart.Font, chart.Ink);
            captionX += chart.Font.MeasureText(caption);
        }
    }

    private static void DrawLegend(ChartCanvas chart, float y)
    {
        float x = 10;
        foreach (var (name, colour) in Colours.Concat([new("UNet part", PartColour(0)), new("attention core", AttentionColour(0)), new("GPU part", GpuColour(0))]))
        {
            float width = chart.Small.MeasureText(name);
            if (x + width + 30 > Width)
            {
                x = 10;
                y += 20;
            }

            using var fill = new SKPaint { Color = colour };
            chart.Canvas.DrawRect(x, y - 10, 14, 12, fill);
            chart.Canvas.DrawText(name, x + 18, y, chart.Small, chart.Ink);
            x += width + 36;
        }
    }

    private static string Label(TraceSlice s) => s.Name switch
    {
        "step" => string.Create(Ci, $"step {s.Step}{(s.DecodedChunk is { } c ? $" (decodes chunk {c})" : "")}"),
        "frame out" => string.Create(Ci, $"frame {s.Frame}"),
        _ when s.Name.StartsWith("unet.part", StringComparison.Ordinal) => s.Name["unet.part".Length..],
        _ when s.Name.StartsWith("attention ", StringComparison.Ordinal) => "a" + s.Name["attention ".Length..],
        _ => s.Name,
    };

    private static SKColor Colour(TraceSlice s, int index) => s.Category switch
    {
        "unet" => PartColour(index),
        "attention" => AttentionColour(index),
        "gpu" => GpuColour(index),
        _ => Colours.TryGetValue(s.Name, out var c) ? c : new SKColor(176, 190, 197),
    };

    private static SKColor PartColour(int i) => i % 2 == 0 ? new SKColor(92, 107, 192) : new SKColor(121, 134, 203);

    private static SKColor AttentionColour(int i) => i % 2 == 0 ? new SKColor(244, 81, 30) : new SKColor(255, 138, 101);

    private static SKColor GpuColour(int i) => i % 2 == 0 ? new SKColor(0, 172, 193) : new SKColor(77, 208, 225);

    private static double Luminance(SKColor c) => (0.299 * c.Red) + (0.587 * c.Green) + (0.114 * c.Blue);

    private static double NiceTick(double rough)
    {
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(Math.Max(rough, 1e-6))));
        double r = rough / magnitude;
        return magnitude * (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10);
    }
}

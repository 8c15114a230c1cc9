using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Rain.Engine.Api;

namespace Rain.Cli;

/// <summary>
/// <c>rain bench --soak MINUTES</c>: one session streams the demo scene for that long through the public API (pusher and
/// reader threads, queues, pooled frames — everything a long-running front end exercises), sampling every few seconds the
/// resident set, the managed heap, the step time, the step interval and the frame latency; then the drift over the run
/// (least-squares slope per hour and the last quarter against the first, beside the samples' own noise; <see cref="Flat"/>), a JSON report
/// and a PNG plot. The first tenth of the run (at least one sample) is warm-up and left out of the drift. Each sample
/// starts with a full garbage collection, so the heap figure is live memory, not garbage awaiting a gen-2 collection.
/// </summary>
internal static class SoakRun
{
    /// <summary>One sample: the state at <see cref="Seconds"/> and the window since the previous sample.</summary>
    internal sealed record Sample(double Seconds, long Steps, double RssMb, double HeapMb, double StepMs, double StepIntervalMs, double LatencyP50, double LatencyP99, int Gen2);

    public static int Run(string bundlePath, double minutes, double sampleSeconds, EngineOptions options, string? jsonPath, string? chartPath, TextWriter o, TextWriter e)
    {
        var ci = CultureInfo.InvariantCulture;
        // A queue of one chunk keeps the pusher just ahead, so the latency measured is the pipeline's, not queueing.
        using var engine = RainEngine.Load(bundlePath, options with { InputCapacity = 1 });
        int p = engine.FramesPerStep;
        o.WriteLine(string.Create(ci, $"soak: {minutes:F1} min on {engine.Bundle.Folder} ({engine.Width}x{engine.Height}, p={p} L={engine.Bundle.Manifest.Levels}), a sample every {sampleSeconds:F0} s"));
        o.WriteLine($"backend: {engine.BackendDescription}");
        o.WriteLine($"machine: {LatencyReport.Machine()}");
        var poses = Enumerable.Range(0, 8 * p).Select(i => DemoScene.Pose(i, engine.Width, engine.Height)).ToArray();
        using var session = engine.CreateSession(DemoScene.Reference(engine.Width, engine.Height));
        var end = TimeSpan.FromMinutes(minutes);
        var clock = Stopwatch.StartNew();
        Exception? pushError = null;
        var pusher = new Thread(() =>
        {
            try
            {
                for (long i = 0; clock.Elapsed < end; i++)
                    session.PushPose(poses[i % poses.Length]);
            }
            catch (Exception x)
            {
                pushError = x;
            }
            finally
            {
                session.CompleteInput(drain: false);
            }
        }) { IsBackground = true, Name = "rain-soak-pusher" };
        pusher.Start();

        var samples = new List<Sample>();
        var window = new List<double>();
        var last = (Seconds: 0.0, Steps: 0L, StepSum: 0.0, StepCount: 0L);
        double next = sampleSeconds;
        while (session.ReadFrame() is { } frame)
        {
            using (frame)
                window.Add(frame.LatencyMilliseconds);
            double now = clock.Elapsed.TotalSeconds;
            if (now < next)
                continue;
            next += sampleSeconds;
            var stats = session.Statistics;
            double stepSum = stats.StepTime.Mean * stats.StepTime.Count;
            long steps = stats.Steps - last.Steps;
            // The step recorder keeps 65,536 samples: within that, sums difference exactly to the window's steps.
            double stepMs = stats.StepTime.Count > last.StepCount && stats.StepTime.Count < 65536 ? (stepSum - last.StepSum) / (stats.StepTime.Count - last.StepCount) : double.NaN;
            window.Sort();

            // A full collection first, so the heap figure is live memory (garbage waiting for a gen-2 collection would
            // look like a leak), and the resident set is not inflated by it either.
            long heap = GC.GetTotalMemory(forceFullCollection: true);
            var sample = new Sample(now, stats.Steps, Environment.WorkingSet / 1e6, heap / 1e6, stepMs,
                steps > 0 ? (now - last.Seconds) * 1000 / steps : double.NaN, Rank(window, 0.5), Rank(window, 0.99), GC.CollectionCount(2));
            samples.Add(sample);
            window.Clear();
            last = (now, stats.Steps, stepSum, stats.StepTime.Count);
            e.WriteLine(string.Create(ci, $"{now,7:F0} s  steps {sample.Steps,7}  RSS {sample.RssMb,7:F1} MB  heap {sample.HeapMb,6:F1} MB  step {sample.StepMs,7:F2} ms  interval {sample.StepIntervalMs,7:F2} ms  latency p50 {sample.LatencyP50,7:F1} p99 {sample.LatencyP99,7:F1} ms"));
        }

        pusher.Join();
        if (pushError is not null)
            throw pushError;
        var final = session.Statistics;
        var drift = Drift(samples);
        o.WriteLine(string.Create(ci, $"{final.Steps} steps, {final.FramesOut} frames in {clock.Elapsed.TotalMinutes:F1} min ({final.FramesPerSecond:F2} fps); step {final.StepTime}; latency {final.FrameLatency}; peak RSS {LatencyReport.PeakRssBytes() / 1e6:F0} MB"));
        foreach (var (name, d) in drift)
            o.WriteLine(string.Create(ci, $"drift {name,-16} first quarter {d.First,9:F2}  last quarter {d.Last,9:F2}  change {d.Last - d.First,+9:F2} ({d.Change:+0.0%;-0.0%})  slope {d.SlopePerHour,+9:F2}/h  noise (sd) {d.Noise,8:F2}  {(Flat(d.First, d.Last, d.Noise) ? "flat within noise" : "DRIFTS")}"));
        if (jsonPath is not null)
            LatencyReport.Write(jsonPath, ToJson(engine, options, minutes, sampleSeconds, final, samples, drift));
        if (chartPath is not null)
            SoakChart.Write(chartPath, samples, string.Create(ci, $"soak {clock.Elapsed.TotalMinutes:F0} min, {engine.Width}x{engine.Height} p={p}: {final.FramesPerSecond:F1} fps"));
        return 0;
    }

    /// <summary>Per series, after warm-up: first and last quarter means, the least-squares slope per hour, the residual noise.</summary>
    internal static List<(string Name, (double First, double Last, double Change, double SlopePerHour, double Noise) Value)> Drift(IReadOnlyList<Sample> samples)
    {
        int warm = Math.Max(1, samples.Count / 10);
        var steady = samples.Skip(warm).ToList();
        var result = new List<(string, (double, double, double, double, double))>();
        (string Name, Func<Sample, double> Value)[] series =
        [
            ("rss_mb", s => s.RssMb), ("heap_mb", s => s.HeapMb), ("step_ms", s => s.StepMs),
            ("step_interval_ms", s => s.StepIntervalMs), ("latency_p50_ms", s => s.LatencyP50), ("latency_p99_ms", s => s.LatencyP99),
        ];
        foreach (var (name, value) in series)
        {
            var points = steady.Select(s => (X: s.Seconds / 3600, Y: value(s))).Where(pt => double.IsFinite(pt.Y)).ToList();
            if (points.Count < 4)
                continue;
            int q = Math.Max(1, points.Count / 4);
            double first = points.Take(q).Average(pt => pt.Y), last = points.TakeLast(q).Average(pt => pt.Y);
            double mx = points.Average(pt => pt.X), my = points.Average(pt => pt.Y);
            double sxx = points.Sum(pt => (pt.X - mx) * (pt.X - mx));
            double slope = sxx > 0 ? points.Sum(pt => (pt.X - mx) * (pt.Y - my)) / sxx : 0;
            double noise = Math.Sqrt(points.Sum(pt => Math.Pow(pt.Y - (my + (slope * (pt.X - mx))), 2)) / Math.Max(1, points.Count - 2));
            result.Add((name, (first, last, first != 0 ? (last - first) / first : 0, slope, noise)));
        }

        return result;
    }

    private static JsonObject ToJson(RainEngine engine, EngineOptions options, double minutes, double sampleSeconds, SessionStatistics final,
        List<Sample> samples, List<(string Name, (double First, double Last, double Change, double SlopePerHour, double Noise) Value)> drift)
    {
        var report = LatencyReport.ToJson(final, engine.Bundle.Folder, options, engine.BackendDescription);
        report["soak_minutes"] = minutes;
        report["sample_seconds"] = sampleSeconds;
        report["samples"] = new JsonArray([.. samples.Select(s => (JsonNode?)new JsonObject
        {
            ["seconds"] = Math.Round(s.Seconds, 2),
            ["steps"] = s.Steps,
            ["rss_mb"] = Math.Round(s.RssMb, 2),
            ["heap_mb"] = Math.Round(s.HeapMb, 2),
            ["step_ms"] = double.IsFinite(s.StepMs) ? Math.Round(s.StepMs, 3) : null,
            ["step_interval_ms"] = double.IsFinite(s.StepIntervalMs) ? Math.Round(s.StepIntervalMs, 3) : null,
            ["latency_p50_ms"] = Math.Round(s.LatencyP50, 2),
            ["latency_p99_ms"] = Math.Round(s.LatencyP99, 2),
            ["gen2_collections"] = s.Gen2,
        })]);
        report["drift"] = new JsonObject(drift.Select(d => KeyValuePair.Create(d.Name, (JsonNode?)new JsonObject
        {
            ["first_quarter"] = Math.Round(d.Value.First, 4),
            ["last_quarter"] = Math.Round(d.Value.Last, 4),
            ["change"] = Math.Round(d.Value.Change, 5),
            ["slope_per_hour"] = Math.Round(d.Value.SlopePerHour, 4),
            ["noise_sd"] = Math.Round(d.Value.Noise, 4),
            ["flat_within_noise"] = Flat(d.Value.First, d.Value.Last, d.Value.Noise),
        })));
        return report;
    }

    /// <summary>
    /// Flat within noise: the last quarter differs from the first by at most twice the residual noise, or by at most 0.5 %
    /// (a resolution floor, so a series that barely moves — the live heap — is not called drifting for a few kilobytes).
    /// </summary>
    internal static bool Flat(double first, double last, double noise) => Math.Abs(last - first) <= Math.Max(2 * noise, 0.005 * Math.Abs(first));

    // Nearest rank of a sorted list (NaN when empty).
    private static double Rank(List<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Rain.Engine.Api;

namespace Rain.Cli;

/// <summary>The latency report of demo, run and bench: a console summary and a JSON file (format in the README).</summary>
internal static class LatencyReport
{
    public static void Print(TextWriter o, SessionStatistics s)
    {
        var ci = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(ci, $"steps {s.Steps}, frames {s.FramesOut}, dropped poses {s.DroppedPoses}, {s.FramesPerSecond:F2} fps"));
        o.WriteLine(string.Create(ci, $"step time      {s.StepTime}"));
        o.WriteLine(string.Create(ci, $"frame latency  {s.FrameLatency}  (pose in → frame out)"));
        o.WriteLine("stages (mean ms per step):  " + string.Join("  ", s.Stages.Select(kv => string.Create(ci, $"{kv.Key} {kv.Value.Mean:F2}"))));
        o.WriteLine(string.Create(ci, $"managed allocation in the last step: {s.AllocatedBytesLastStep} B; peak RSS {PeakRssBytes() / 1e6:F0} MB"));
    }

    public static JsonObject ToJson(SessionStatistics s, string bundle, EngineOptions options, string backendDescription)
    {
        var stages = new JsonObject();
        foreach (var (stage, summary) in s.Stages)
            stages[stage.ToString()] = Summary(summary);
        return new JsonObject
        {
            ["machine"] = Machine(),
            ["bundle"] = bundle,
            ["backend"] = options.Backend.ToString(),
            ["backend_description"] = backendDescription,
            ["threads"] = options.Threads,
            ["steps"] = s.Steps,
            ["frames"] = s.FramesOut,
            ["dropped_poses"] = s.DroppedPoses,
            ["fps"] = s.FramesPerSecond,
            ["step_ms"] = Summary(s.StepTime),
            ["frame_latency_ms"] = Summary(s.FrameLatency),
            ["stages_ms"] = stages,
            ["allocated_bytes_last_step"] = s.AllocatedBytesLastStep,
            ["allocated_bytes_total"] = s.AllocatedBytesTotal,
            ["peak_rss_bytes"] = PeakRssBytes(),
        };
    }

    /// <summary>Glass-to-glass latency (camera frame read → its animated frame out), ms: the summary and every frame's value.</summary>
    public static JsonObject GlassToGlass(IReadOnlyList<double> perFrame) => SummaryWithFrames(perFrame);

    /// <summary>A summary of <paramref name="perFrame"/> (ms) with the values themselves as <c>per_frame</c>.</summary>
    public static JsonObject SummaryWithFrames(IReadOnlyList<double> perFrame)
    {
        var json = Summary(LatencyRecorder.Summarize([.. perFrame]));
        json["per_frame"] = new JsonArray([.. perFrame.Select(v => (JsonNode)JsonValue.Create(Math.Round(v, 3)))]);
        return json;
    }

    /// <summary>The pose stage's own timings per camera frame (detector, pose model, the rest, total), or null without camera frames.</summary>
    public static JsonObject? PoseStage(CameraStatistics? camera) => camera is null ? null : new JsonObject
    {
        ["detector"] = Summary(camera.Detector),
        ["estimator"] = Summary(camera.Estimator),
        ["other"] = Summary(camera.Other),
        ["total"] = Summary(camera.Total),
    };

    /// <summary>The console lines of glass-to-glass latency (a <see cref="GlassToGlass"/> object) and the pose stage.</summary>
    public static void PrintGlassToGlass(TextWriter o, JsonObject glassToGlass, CameraStatistics? camera)
    {
        var g2g = glassToGlass;
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"glass to glass  {g2g["p50"]} ms p50, {g2g["p95"]} ms p95, {g2g["p99"]} ms p99, {g2g["max"]} ms max over {g2g["count"]} frames (frame read → animated frame out)"));
        if (camera is not null)
        {
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"pose stage (mean ms per frame, {camera.Total.Count} frames): detector {camera.Detector.Mean:F2}, pose model {camera.Estimator.Mean:F2}, the rest {camera.Other.Mean:F2}, total {camera.Total.Mean:F2}"));
        }
    }

    public static void Write(string path, JsonNode report) =>
        File.WriteAllText(path, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    public static JsonObject Summary(LatencySummary s) => new()
    {
        ["count"] = s.Count,
        ["mean"] = Math.Round(s.Mean, 4),
        ["p50"] = Math.Round(s.P50, 4),
        ["p95"] = Math.Round(s.P95, 4),
        ["p99"] = Math.Round(s.P99, 4),
        ["max"] = Math.Round(s.Max, 4),
    };

    /// <summary>Peak resident set size: VmHWM from /proc/self/status on Linux, else the process's peak working set.</summary>
    public static long PeakRssBytes()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        using var p = Process.GetCurrentProcess();
        return p.PeakWorkingSet64;
    }

    public static string Machine()
    {
        string cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }

        return string.Create(CultureInfo.InvariantCulture, $"{cpu}, {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
    }
}

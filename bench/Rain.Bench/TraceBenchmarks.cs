using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Rain.Engine.Api;
using Rain.Engine.Diagnostics;
using Rain.Engine.Streaming;

namespace Rain.Bench;

/// <summary>
/// The timing points of one CPU step of the golden bundle (the pose stages, 43 UNet parts, 42 attention cores, the UNet
/// group, decode and frame output, the step's end) with tracing off — the baseline, what every run pays — and on
/// (recording into a <see cref="TraceWriter"/>'s ring). The difference is what tracing adds to a step.
/// </summary>
[MemoryDiagnoser]
public class TraceBenchmarks
{
    private static readonly string[] Parts = [.. Enumerable.Range(0, 43).Select(i => $"unet.part{i:D2}")];
    private static readonly string[] Cores = [.. Enumerable.Range(0, 42).Select(i => $"attention {i}")];
    private readonly StageTimings _off = new(1024);
    private readonly StageTimings _on = new(1024) { Trace = new TraceWriter() };
    private long _step;

    [Benchmark(Baseline = true)]
    public void TracingOff() => Step(_off);

    [Benchmark]
    public void TracingOn() => Step(_on);

    private void Step(StageTimings t)
    {
        long start = Stopwatch.GetTimestamp();
        t.Add(Stage.PoseInput, start);
        t.Add(Stage.PoseGuider, Stopwatch.GetTimestamp());
        t.Add(Stage.Copies, Stopwatch.GetTimestamp());
        long unet = Stopwatch.GetTimestamp();
        for (int i = 0; i < Parts.Length; i++)
        {
            t.Add(Stage.UNetParts, Stopwatch.GetTimestamp(), Parts[i]);
            if (i < Cores.Length)
                t.Add(Stage.Attention, Stopwatch.GetTimestamp(), Cores[i]);
        }

        t.Group("UNet", unet);
        t.Add(Stage.Scheduler, Stopwatch.GetTimestamp());
        t.Add(Stage.Copies, Stopwatch.GetTimestamp());
        t.Add(Stage.Decode, Stopwatch.GetTimestamp());
        t.Add(Stage.FrameOutput, Stopwatch.GetTimestamp());
        long k = _step++;
        t.EndStep(start, new StepOutcome(k, k - 3, k >= 3));
    }
}

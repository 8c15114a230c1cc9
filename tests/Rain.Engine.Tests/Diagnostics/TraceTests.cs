using System.Diagnostics;
using System.Text.Json;
using Rain.Engine.Api;
using Rain.Engine.Bundle;
using Rain.Engine.Diagnostics;
using Rain.Engine.Streaming;
using Rain.Engine.Tests.Api;
using Xunit.Abstractions;

namespace Rain.Engine.Tests.Diagnostics;

/// <summary>
/// The timeline of a short session on the golden bundle (p = L = 4), read back as plain JSON: every step has its
/// documented events on the step thread, the UNet's parts in the plan's order inside one UNet event, durations that add
/// up to the measured step, each frame's flow from pose in to frame out, names and thread ids that agree; the ring
/// bound; and no allocation per step with tracing off or on.
/// </summary>
public sealed class TraceTests(GoldenBundle bundle, ITestOutputHelper output) : IClassFixture<GoldenBundle>
{
    private const int P = 4, L = 4, Steps = 7;

    private sealed record Slice(string Name, string Cat, int Tid, double Ts, double Dur, JsonElement Args)
    {
        public double End => Ts + Dur;

        // Timestamps are written to 1 ns; a child may touch its parent's edges.
        public bool Encloses(Slice other) => other != this && other.Tid == Tid && other.Ts >= Ts - 0.002 && other.End <= End + 0.002;

        public bool Encloses(double ts) => ts >= Ts - 0.002 && ts <= End + 0.002;

        public long Arg(string name) => Args.GetProperty(name).GetInt64();
    }

    [Fact]
    public void AShortRunTracesEveryStageOfEveryStepAndEachFramesPath()
    {
        var trace = new TraceWriter();
        SessionStatistics stats;
        var frames = new List<long>();
        using (var engine = RainEngine.Load(bundle.Folder, new EngineOptions { Threads = 1, VerifyBundleHashes = false, Trace = trace }))
        using (var session = engine.CreateSession(SessionTests.Pose(7, 96, 80)))
        {
            var pusher = new Thread(() =>
            {
                for (int i = 0; i < Steps * P; i++)
                    session.PushPose(SessionTests.Pose(i));
                session.CompleteInput(drain: false); // the steps pushed, no drain: the counts below are of those
            }) { Name = "test-pusher" };
            pusher.Start();
            while (session.ReadFrame() is { } frame)
            {
                using (frame)
                    frames.Add(frame.Index);
            }

            pusher.Join();
            stats = session.Statistics;
        }

        using var json = new MemoryStream();
        trace.Write(json);
        output.WriteLine($"{trace.EventsRecorded} events, {json.Length} bytes; step {stats.StepTime}");
        using var document = JsonDocument.Parse(json.ToArray());
        var events = document.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();

        // Names: the process, and every thread that has an event.
        Assert.Contains(events, e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("name").GetString() == "process_name" && e.GetProperty("args").GetProperty("name").GetString() == "Rain.Engine");
        var threads = events.Where(e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("name").GetString() == "thread_name")
            .ToDictionary(e => e.GetProperty("tid").GetInt32(), e => e.GetProperty("args").GetProperty("name").GetString()!);
        Assert.All(events.Where(e => e.GetProperty("ph").GetString() != "M"), e => Assert.Contains(e.GetProperty("tid").GetInt32(), threads.Keys));
        int stepThread = threads.Single(t => t.Value == "rain-session").Key, pushing = threads.Single(t => t.Value == "test-pusher").Key;
        Assert.All(events, e => Assert.Equal(Environment.ProcessId, e.GetProperty("pid").GetInt32()));

        var slices = events.Where(e => e.GetProperty("ph").GetString() == "X").Select(e => new Slice(e.GetProperty("name").GetString()!, e.GetProperty("cat").GetString()!,
            e.GetProperty("tid").GetInt32(), e.GetProperty("ts").GetDouble(), e.GetProperty("dur").GetDouble(), e.TryGetProperty("args", out var a) ? a : default)).ToList();
        Assert.All(slices.Where(s => s.Cat is "step" or "stage" or "unet" or "attention"), s => Assert.Equal(stepThread, s.Tid));
        var steps = slices.Where(s => s.Name == "step").OrderBy(s => s.Ts).ToList();
        Assert.Equal(Enumerable.Range(0, Steps).Select(k => (long)k), steps.Select(s => s.Arg("step")));

        var plan = ModelBundle.Load(bundle.Folder, verifyHashes: false).Manifest.UNetPlan.Steps;
        string[] expectedUNet = [.. plan.Select((s, i) => s.StepKind == PlanStepKind.RunPart ? s.Part! : $"attention {plan.Take(i).Count(x => x.StepKind == PlanStepKind.CrossNoiseAttention)}")];
        foreach (var step in steps)
        {
            long k = step.Arg("step");
            bool emits = k >= L - 1;
            Assert.Equal(emits, step.Args.TryGetProperty("decoded_chunk", out var decoded));
            if (emits)
                Assert.Equal(k - (L - 1), decoded.GetInt64());

            // The stages directly inside the step, in order.
            var stages = slices.Where(s => s.Cat == "stage" && step.Encloses(s) && !slices.Any(o => o.Cat == "stage" && o != s && o.Encloses(s) && step.Encloses(o))).OrderBy(s => s.Ts).ToList();
            string[] expected = emits
                ? ["PoseInput", "PoseGuider", "Copies", "UNet", "Scheduler", "Copies", "Decode", "FrameOutput"]
                : ["PoseInput", "PoseGuider", "Copies", "UNet", "Scheduler"];
            Assert.Equal(expected, stages.Select(s => s.Name));
            double sum = stages.Sum(s => s.Dur);
            Assert.InRange(sum, step.Dur * 0.95, step.Dur + 0.01);

            // The UNet event holds the plan's parts and attention cores in order, adding up to it.
            var unet = stages.Single(s => s.Name == "UNet");
            var inside = slices.Where(s => s.Cat is "unet" or "attention" && unet.Encloses(s)).OrderBy(s => s.Ts).ToList();
            Assert.Equal(expectedUNet, inside.Select(s => s.Name));
            Assert.Equal(plan.Select(s => s.StepKind == PlanStepKind.RunPart ? "unet" : "attention"), inside.Select(s => s.Cat));
            Assert.InRange(inside.Sum(s => s.Dur), unet.Dur * 0.95, unet.Dur + 0.01);
        }

        // The trace's durations are the statistics' (the same timing points): step time and the UNet parts' stage.
        Assert.Equal(stats.StepTime.Mean * Steps * 1000, steps.Sum(s => s.Dur), 1.0);
        Assert.Equal(stats.Stages[Stage.UNetParts].Mean * Steps * 1000, slices.Where(s => s.Cat == "unet").Sum(s => s.Dur), 1.0);
        Assert.Equal(stats.Stages[Stage.Attention].Mean * Steps * 1000, slices.Where(s => s.Cat == "attention").Sum(s => s.Dur), 1.0);
        Assert.Equal(0, stats.AllocatedBytesLastStep); // tracing on: the ring is preallocated, recording allocates nothing

        // Each frame's flow: pose in (pushing thread) → PoseInput of the step that took it → FrameOutput of the step that
        // decoded it → frame out (step thread), every point inside the slice it names.
        var emitted = (Steps - (L - 1)) * P;
        Assert.Equal(Enumerable.Range(0, emitted).Select(i => (long)i), frames);
        Assert.Equal(Steps * P, slices.Count(s => s.Name == "pose in" && s.Tid == pushing));
        var flows = events.Where(e => e.GetProperty("ph").GetString() is "s" or "t" or "f" && e.GetProperty("cat").GetString() == "frame")
            .GroupBy(e => e.GetProperty("id").GetString()).ToList();
        Assert.Equal(Steps * P, flows.Count(g => g.First().GetProperty("ph").GetString() == "s"));
        var complete = flows.Where(g => g.Any(e => e.GetProperty("ph").GetString() == "f")).ToList();
        Assert.Equal(emitted, complete.Count);
        var seen = new SortedSet<long>();
        foreach (var flow in complete)
        {
            var points = flow.OrderBy(e => e.GetProperty("ts").GetDouble()).Select(e => (Ph: e.GetProperty("ph").GetString(), Tid: e.GetProperty("tid").GetInt32(), Ts: e.GetProperty("ts").GetDouble())).ToList();
            Assert.Equal(["s", "t", "t", "f"], points.Select(p => p.Ph));
            Assert.Equal([pushing, stepThread, stepThread, stepThread], points.Select(p => p.Tid));
            Assert.Contains(slices, s => s.Name == "pose in" && s.Tid == pushing && s.Encloses(points[0].Ts));
            var frameOut = slices.Single(s => s.Name == "frame out" && s.Encloses(points[3].Ts));
            long index = frameOut.Arg("frame");
            seen.Add(index);
            var taken = steps.Single(s => s.Encloses(points[1].Ts));
            var decodedIn = steps.Single(s => s.Encloses(points[2].Ts));
            Assert.Equal(index / P, taken.Arg("step"));
            Assert.Equal((index / P) + L - 1, decodedIn.Arg("step"));
            Assert.Contains(slices, s => s.Name == "PoseInput" && taken.Encloses(s) && s.Encloses(points[1].Ts));
            Assert.Contains(slices, s => s.Name == "FrameOutput" && decodedIn.Encloses(s) && s.Encloses(points[2].Ts));
            Assert.InRange(frameOut.Args.GetProperty("latency_ms").GetDouble() * 1000, points[3].Ts - points[0].Ts - 1, points[3].Ts - points[0].Ts + frameOut.Dur + 1);
        }

        Assert.Equal(Enumerable.Range(0, emitted).Select(i => (long)i), seen);
        Assert.Equal(Steps, events.Count(e => e.GetProperty("ph").GetString() == "C" && e.GetProperty("name").GetString() == "queues"));
    }

    [Fact]
    public void TheRingKeepsTheMostRecentEventsWithinItsCapacity()
    {
        var trace = new TraceWriter(1024);
        long t = Stopwatch.GetTimestamp();
        for (int i = 0; i < 3000; i++)
            trace.Complete($"e{i}", "host", t + i, t + i + 1);
        Assert.Equal(3000, trace.EventsRecorded);
        Assert.Equal(3000 - 1024, trace.EventsOverwritten);
        using var json = new MemoryStream();
        trace.Write(json);
        using var document = JsonDocument.Parse(json.ToArray());
        var names = document.RootElement.GetProperty("traceEvents").EnumerateArray().Where(e => e.GetProperty("ph").GetString() == "X").Select(e => e.GetProperty("name").GetString()).ToList();
        Assert.Equal(Enumerable.Range(3000 - 1024, 1024).Select(i => $"e{i}"), names);
        Assert.Equal(3000 - 1024, document.RootElement.GetProperty("otherData").GetProperty("events_overwritten").GetInt64());
        Assert.Throws<ArgumentOutOfRangeException>(() => new TraceWriter(1023));
        Assert.Equal(64, TraceWriter.RecordBytes); // the size the documentation states (capacity × 64 bytes)
    }

    [Fact]
    public void TimingPointsAllocateNothingPerStepWithTracingOffOrOn()
    {
        long PerStep(StageTimings timings)
        {
            void Step(long k)
            {
                long start = Stopwatch.GetTimestamp();
                timings.Add(Stage.PoseInput, start);
                long unet = Stopwatch.GetTimestamp();
                timings.Add(Stage.UNetParts, Stopwatch.GetTimestamp(), "unet.part00");
                timings.Add(Stage.Attention, Stopwatch.GetTimestamp(), "attention 0");
                timings.Group("UNet", unet);
                timings.Add(Stage.FrameOutput, Stopwatch.GetTimestamp());
                timings.EndStep(start, new StepOutcome(k, k - 3, k >= 3));
            }

            Step(0); // first use: the writer learns this thread's name and the event names
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (long k = 1; k <= 100; k++)
                Step(k);
            return (GC.GetAllocatedBytesForCurrentThread() - before) / 100;
        }

        Assert.Equal(0, PerStep(new StageTimings(256)));
        var trace = new TraceWriter(4096);
        Assert.Equal(0, PerStep(new StageTimings(256) { Trace = trace }));
        Assert.Equal((101 * 7) + 98, trace.EventsRecorded); // per step 5 slices, the step and its chunk flow start; steps 3…100 also end a chunk flow
    }
}

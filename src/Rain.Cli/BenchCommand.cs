using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Rain.Engine.Api;
using Rain.Engine.Diagnostics;

namespace Rain.Cli;

/// <summary>
/// <c>rain bench</c>: warm-up, then N stream steps on the chosen backend, driven directly (no queues, so only the step is
/// timed): fps, step-time percentiles, the per-stage breakdown, the engine's overhead outside the compute (ONNX Runtime
/// runs and attention kernels on the CPU; the device step on a GPU), managed allocation per step, peak RSS; JSON and a
/// PNG chart.
/// </summary>
internal static class BenchCommand
{
    // The per-step series are kept in memory; a million steps is days of a large model.
    private const int MaxSteps = 1_000_000;

    /// <summary>Stages whose time is spent inside ONNX Runtime runs or the attention kernels, or (GPU) in the device step; the rest is engine overhead.</summary>
    internal static readonly Stage[] ComputeStages = [Stage.PoseGuider, Stage.UNetParts, Stage.Attention, Stage.Decode, Stage.Device];

    public static Command Create()
    {
        var bundle = new Option<string>("--bundle") { Description = "model bundle folder", Required = true };
        var steps = new Option<int>("--steps") { Description = "measured steps", DefaultValueFactory = _ => 50 };
        var warmup = new Option<int>("--warmup") { Description = "steps run before measuring (at least L-1 so that decoding is included)", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads (0 = all cores)", DefaultValueFactory = _ => 0 };
        var serial = new Option<bool>("--serial-attention") { Description = "run the attention kernels on the step thread only (no attention worker threads)" };
        var json = new Option<string?>("--json") { Description = "write the results as JSON" };
        var chart = new Option<string?>("--chart") { Description = "write a PNG chart: step time over the run and the stage breakdown" };
        var soak = new Option<double?>("--soak") { Description = "soak run instead: stream the demo scene through a session for this many minutes, sampling RSS, heap, step time and frame latency; report the drift (JSON with --json, plot with --chart)" };
        var sample = new Option<double>("--sample-seconds") { Description = "seconds between soak samples", DefaultValueFactory = _ => 10 };
        var noCheck = new Option<bool>("--no-numeric-check") { Description = "skip the per-step NaN/inf check of the UNet output and the frames (EngineOptions.CheckNumerics), to time the bare step" };
        var command = new Command("bench", "Benchmark the stream step (CPU or TensorRT backend): fps, percentiles, stage breakdown, overhead, allocations, peak RSS.")
        {
            bundle, steps, warmup, threads, serial, json, chart, noCheck, soak, sample,
        };
        var backend = new BackendOptions();
        backend.AddTo(command);
        var trace = new TraceOptions();
        trace.AddTo(command);
        command.SetAction(r => r.GetValue(soak) is { } minutes
            ? Soak(r.GetValue(bundle)!, minutes, r.GetValue(sample), r.GetValue(threads), r.GetValue(serial), !r.GetValue(noCheck), r.GetValue(json), r.GetValue(chart), backend.Get(r), Console.Out, Console.Error)
            : Run(r.GetValue(bundle)!, r.GetValue(steps), r.GetValue(warmup), r.GetValue(threads), r.GetValue(serial), r.GetValue(json), r.GetValue(chart), Console.Out, Console.Error, backend.Get(r), trace.Get(r), !r.GetValue(noCheck)));
        return command;
    }

    /// <summary><c>rain bench --soak MINUTES</c> (see <see cref="SoakRun"/>).</summary>
    internal static int Soak(string bundlePath, double minutes, double sampleSeconds, int threads, bool serialAttention, bool checkNumerics, string? jsonPath, string? chartPath, BackendChoice backend, TextWriter o, TextWriter e)
    {
        if (!(minutes > 0 && minutes <= 7 * 24 * 60) || !(sampleSeconds >= 1 && sampleSeconds <= 3600))
        {
            e.WriteLine("rain bench: --soak must be more than 0 and at most a week of minutes, --sample-seconds 1 to 3600.");
            return CliErrors.BadInput;
        }

        return CliErrors.Run("bench", e, () => SoakRun.Run(bundlePath, minutes, sampleSeconds,
            backend.Apply(new EngineOptions { Threads = threads, ParallelAttention = !serialAttention, CheckNumerics = checkNumerics }),
            jsonPath, chartPath, o, e));
    }

    internal static int Run(string bundlePath, int steps, int warmup, int threads, bool serialAttention, string? jsonPath, string? chartPath, TextWriter o, TextWriter e, BackendChoice? backend = null, TraceRequest? trace = null, bool checkNumerics = true)
    {
        if (steps is < 1 or > MaxSteps || warmup is < 0 or > MaxSteps)
        {
            e.WriteLine($"rain bench: --steps must be 1 to {MaxSteps} and --warmup 0 to {MaxSteps}.");
            return CliErrors.BadInput;
        }

        return CliErrors.Run("bench", e, () =>
        {
            var ci = CultureInfo.InvariantCulture;
            trace ??= TraceRequest.None;
            var traceWriter = trace.CreateWriter("bench");
            var load = Stopwatch.StartNew();
            var options = (backend ?? BackendChoice.Cpu).Apply(new EngineOptions { Threads = threads, ParallelAttention = !serialAttention, CheckNumerics = checkNumerics });
            var (bundle, engineBackend) = RainEngine.CreateBackend(bundlePath, options);
            using var pipe = engineBackend;
            var m = bundle.Manifest;
            o.WriteLine(string.Create(ci, $"bundle {bundle.Folder}: {m.Width}x{m.Height}, p={m.FramesPerLevel} L={m.Levels}, {m.Parts.Count} parts; loaded in {load.Elapsed.TotalSeconds:F1} s; buffers {pipe.BufferBytes / 1e6:F0} MB"));
            string backendBefore = pipe.Description;
            o.WriteLine($"backend: {backendBefore}");
            o.WriteLine($"machine: {LatencyReport.Machine()}");
            var streamer = pipe.Start(DemoScene.Reference(m.Width, m.Height), new StageTimings());
            int p = m.FramesPerLevel;
            var poses = Enumerable.Range(0, 4 * p).Select(i => DemoScene.Pose(i, m.Width, m.Height)).ToArray();
            var frames = Enumerable.Range(0, p).Select(_ => new byte[m.Width * m.Height * 3]).ToArray();
            long k = 0;
            void Step() => streamer.Step(poses.AsSpan((int)(k++ % 4) * p, p), frames);

            for (int i = 0; i < warmup; i++)
            {
                Step();
                e.Write(string.Create(ci, $"\rwarm-up {i + 1}/{warmup}"));
            }

            streamer.Timings = new StageTimings(Math.Max(steps, 1)) { Trace = traceWriter };
            var stepMs = new double[steps];
            var allocated = new long[steps];
            var rss = new long[steps];
            var wall = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                long t = Stopwatch.GetTimestamp();
                Step();
                stepMs[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                allocated[i] = GC.GetAllocatedBytesForCurrentThread() - before;

                // Sampled outside the allocation window (reading the working set allocates).
                rss[i] = Environment.WorkingSet;
                ExportCommand.Progress(e, i + 1, steps, string.Create(ci, $"steps, {stepMs[i]:F0} ms"));
            }

            double seconds = wall.Elapsed.TotalSeconds;
            e.WriteLine();
            var measured = streamer.Timings;
            var tracing = traceWriter is null ? null : TracingCost(streamer, Step, Math.Clamp(steps, 4, 30), e);
            streamer.Timings = measured;
            string described = pipe.Description;
            if (described != backendBefore)
                o.WriteLine($"backend after the run: {described}"); // e.g. the CUDA graph captured (or why not)
            var stages = streamer.Timings.Summaries();
            var step = streamer.Timings.Step.Summarize();
            double compute = ComputeStages.Sum(s => stages[s].Mean);
            double overhead = step.Mean - compute;
            var result = new JsonObject
            {
                ["machine"] = LatencyReport.Machine(),
                ["bundle"] = bundle.Folder,
                ["backend"] = options.Backend.ToString(),
                ["backend_description"] = described,
                ["size"] = $"{m.Width}x{m.Height}",
                ["frames_per_level"] = p,
                ["levels"] = m.Levels,
                ["threads"] = threads,
                ["parallel_attention"] = !serialAttention,
                ["numeric_check"] = checkNumerics,
                ["warmup_steps"] = warmup,
                ["steps"] = steps,
                ["fps"] = steps * p / seconds,
                ["step_ms"] = LatencyReport.Summary(step),
                ["stages_ms"] = new JsonObject(stages.Select(kv => KeyValuePair.Create(kv.Key.ToString(), (JsonNode?)LatencyReport.Summary(kv.Value)))),
                ["compute_ms_mean"] = compute,
                ["engine_overhead_ms_mean"] = overhead,
                ["engine_overhead_share"] = overhead / step.Mean,
                ["allocated_bytes_per_step_mean"] = allocated.Average(),
                ["allocated_bytes_per_step_max"] = allocated.Max(),
                ["buffer_bytes"] = pipe.BufferBytes,
                ["peak_rss_bytes"] = LatencyReport.PeakRssBytes(),
                ["step_ms_series"] = new JsonArray([.. stepMs.Select(v => (JsonNode?)Math.Round(v, 3))]),
                ["rss_bytes_series"] = new JsonArray([.. rss.Select(v => (JsonNode?)v)]),
            };
            if (tracing is { } cost)
            {
                traceWriter!.SetMetadata("backend", described);
                result["trace"] = new JsonObject
                {
                    ["path"] = trace.JsonPath,
                    ["events_recorded"] = traceWriter.EventsRecorded,
                    ["events_overwritten"] = traceWriter.EventsOverwritten,
                    ["cost"] = cost.ToJson(),
                };
            }


            o.WriteLine(string.Create(ci, $"{steps} steps: {steps * p / seconds:F2} fps ({p} frames per step)"));
            o.WriteLine(string.Create(ci, $"step time  {step}"));
            foreach (var (stage, s) in stages.Where(kv => kv.Value.Max > 0))
                o.WriteLine(string.Create(ci, $"  {stage,-12} mean {s.Mean,10:F3} ms  p50 {s.P50,10:F3}  p99 {s.P99,10:F3}  {s.Mean / step.Mean,7:P1}"));
            o.WriteLine(string.Create(ci, $"engine overhead (step − {(options.Backend == EngineBackend.Cpu ? "ONNX Runtime runs − attention kernels" : "device step")}): {overhead:F3} ms = {overhead / step.Mean:P2} of the step"));
            o.WriteLine(string.Create(ci, $"managed allocation per step: mean {allocated.Average():F0} B, max {allocated.Max()} B"));
            if (tracing is { } c)
                o.WriteLine(string.Create(ci, $"tracing cost: step time on/off {c.Ratio:F4} (mean of {c.StepsEach} interleaved steps each: on {c.OnMean:F3} ms, off {c.OffMean:F3} ms; medians {c.OnMedian:F3} / {c.OffMedian:F3} ms); allocation per step on {c.OnAllocatedMax} B, off {c.OffAllocatedMax} B (max)"));
            o.WriteLine(string.Create(ci, $"peak RSS {LatencyReport.PeakRssBytes() / 1e6:F0} MB; engine buffers {pipe.BufferBytes / 1e6:F0} MB"));
            int tenth = Math.Max(1, steps / 10);
            o.WriteLine(string.Create(ci, $"drift: first {tenth} steps mean {stepMs[..tenth].Average():F2} ms, RSS {rss[tenth - 1] / 1e6:F0} MB; last {tenth} steps mean {stepMs[^tenth..].Average():F2} ms, RSS {rss[^1] / 1e6:F0} MB"));
            if (jsonPath is not null)
                LatencyReport.Write(jsonPath, result);
            if (chartPath is not null)
                BenchChart.Write(chartPath, stepMs, stages, $"{m.Width}x{m.Height} p={p} L={m.Levels}: {steps * p / seconds:F2} fps, step p50 {step.P50:F0} ms");
            trace.Finish(traceWriter, string.Create(ci, $"rain bench, {m.Width}x{m.Height}, p={p}, {options.Backend}: {steps * p / seconds:F2} fps, step p50 {step.P50:F0} ms"), o);
            return 0;
        });
    }

    /// <summary>
    /// What tracing costs: <paramref name="each"/> steps with the trace on and as many off, interleaved in ABBA order so that
    /// drift cancels, into a scratch writer (the saved trace holds the measured steps only) after one unmeasured traced step.
    /// Timed as the measured steps are.
    /// </summary>
    private static TracingCostResult TracingCost(Engine.Backends.IStreamer streamer, Action step, int each, TextWriter e)
    {
        var scratch = new TraceWriter();
        var on = new StageTimings(each) { Trace = scratch };
        var off = new StageTimings(each);
        var (onMs, offMs, onAlloc, offAlloc) = (new List<double>(), new List<double>(), new List<long>(), new List<long>());
        streamer.Timings = on;
        step(); // not measured: the scratch writer learns this thread's and the events' names (the measured trace did that already)
        for (int i = 0; i < 2 * each; i++)
        {
            bool traced = (i % 4) is 1 or 2; // off, on, on, off, …
            streamer.Timings = traced ? on : off;
            long before = GC.GetAllocatedBytesForCurrentThread();
            long t = Stopwatch.GetTimestamp();
            step();
            double ms = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            (traced ? onMs : offMs).Add(ms);
            (traced ? onAlloc : offAlloc).Add(allocated);
            ExportCommand.Progress(e, i + 1, 2 * each, "steps, tracing on and off");
        }

        e.WriteLine();
        return new TracingCostResult(each, onMs.Average(), offMs.Average(), LatencyRecorder.Summarize([.. onMs]).P50, LatencyRecorder.Summarize([.. offMs]).P50, onAlloc.Max(), offAlloc.Max());
    }

    private sealed record TracingCostResult(int StepsEach, double OnMean, double OffMean, double OnMedian, double OffMedian, long OnAllocatedMax, long OffAllocatedMax)
    {
        public double Ratio => OnMean / OffMean;

        public JsonObject ToJson() => new()
        {
            ["steps_each"] = StepsEach,
            ["on_ms_mean"] = Math.Round(OnMean, 4),
            ["off_ms_mean"] = Math.Round(OffMean, 4),
            ["on_ms_p50"] = Math.Round(OnMedian, 4),
            ["off_ms_p50"] = Math.Round(OffMedian, 4),
            ["ratio_on_off"] = Math.Round(Ratio, 5),
            ["allocated_bytes_per_step_on_max"] = OnAllocatedMax,
            ["allocated_bytes_per_step_off_max"] = OffAllocatedMax,
        };
    }
}

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
    internal const int MaxSteps = 1_000_000;

    /// <summary>Stages whose time is spent inside ONNX Runtime runs or the attention kernels, or (GPU) in the device step; the rest is engine overhead.</summary>
    internal static readonly Stage[] ComputeStages = [Stage.PoseGuider, Stage.UNetParts, Stage.Attention, Stage.Decode, Stage.Device];

    public static Command Create()
    {
        var bundle = new Option<string>("--bundle") { Description = "model bundle folder", Required = true };
        var steps = new Option<int>("--steps") { Description = "measured steps", DefaultValueFactory = _ => 50 };
        var warmup = new Option<int>("--warmup") { Description = "steps run before measuring; at least L are run whatever is asked (the filler steps skip the decoder and the first step is cold), reported apart", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads (0 = all cores)", DefaultValueFactory = _ => 0 };
        var serial = new Option<bool>("--serial-attention") { Description = "run the attention kernels on the step thread only (no attention worker threads)" };
        var json = new Option<string?>("--json") { Description = "write the results as JSON" };
        var chart = new Option<string?>("--chart") { Description = "write a PNG chart: step time over the run and the stage breakdown" };
        var soak = new Option<double?>("--soak") { Description = "soak run instead: stream the demo scene through a session for this many minutes, sampling RSS, heap, step time and frame latency; report the drift (JSON with --json, plot with --chart)" };
        var sample = new Option<double>("--sample-seconds") { Description = "seconds between soak samples", DefaultValueFactory = _ => 10 };
        var noCheck = new Option<bool>("--no-numeric-check") { Description = "skip the per-step NaN/inf check of the UNet output and the frames (EngineOptions.CheckNumerics), to time the bare step" };
        var noPrepack = new Option<bool>("--no-prepack") { Description = "CPU: ONNX Runtime does not pre-pack the weights (EngineOptions.PrepackWeights = false): weights held once, slower GEMMs" };
        var keepReference = new Option<bool>("--keep-reference-networks") { Description = "CPU: keep CLIP, the VAE encoder and the ReferenceNet loaded (EngineOptions.KeepReferenceNetworks)" };
        var gemm = new Option<double>("--gemm-seconds") { Description = "CPU: seconds per shape of the GEMM baseline measured after the steps (ONNX Runtime MatMul at the UNet's shapes); 0 skips it", DefaultValueFactory = _ => 1 };
        var input = new Option<string?>("--input") { Description = "camera mode: push camera frames from a video file, a V4L2 camera, a stream URL or a folder of images (any rain live input; a bundle with pose models) through the pose front end instead of pose images, and report glass-to-glass latency (p50/p95/p99/max) and the pose stage's timings after the warm-up; a file or folder is read as fast as the engine takes frames, again from its start until enough were measured" };
        var command = new Command("bench", "Benchmark the stream step (CPU or TensorRT backend): fps, percentiles, stage breakdown, overhead, allocations, peak RSS; with --input, glass-to-glass latency from camera frames.")
        {
            bundle, steps, warmup, threads, serial, json, chart, noCheck, noPrepack, keepReference, gemm, soak, sample, input,
        };
        var backend = new BackendOptions();
        backend.AddTo(command);
        var trace = new TraceOptions();
        trace.AddTo(command);
        command.SetAction(r => r.GetValue(input) is { } source
            ? Camera(source, r.GetValue(bundle)!, r.GetValue(steps), r.GetValue(warmup), r.GetValue(threads), r.GetValue(serial), !r.GetValue(noCheck), r.GetValue(json), backend.Get(r), Console.Out, Console.Error,
                r.GetValue(soak) is not null, r.GetValue(chart) is not null, trace.Get(r) is { JsonPath: not null } or { PngPath: not null })
            : r.GetValue(soak) is { } minutes
            ? Soak(r.GetValue(bundle)!, minutes, r.GetValue(sample), r.GetValue(threads), r.GetValue(serial), !r.GetValue(noCheck), r.GetValue(json), r.GetValue(chart), backend.Get(r), Console.Out, Console.Error)
            : Run(r.GetValue(bundle)!, r.GetValue(steps), r.GetValue(warmup), r.GetValue(threads), r.GetValue(serial), r.GetValue(json), r.GetValue(chart), Console.Out, Console.Error, backend.Get(r), trace.Get(r), !r.GetValue(noCheck),
                new MemoryChoice(!r.GetValue(noPrepack), r.GetValue(keepReference)), r.GetValue(gemm)));
        return command;
    }

    /// <summary><c>rain bench --input SRC</c> (see <see cref="BenchCamera"/>): the step bench's extras do not combine with it.</summary>
    internal static int Camera(string input, string bundlePath, int steps, int warmup, int threads, bool serialAttention, bool checkNumerics, string? jsonPath, BackendChoice backend, TextWriter o, TextWriter e, bool soak, bool chart, bool trace)
    {
        if (soak || chart || trace)
        {
            e.WriteLine($"rain bench: --input (camera mode) does not combine with {(soak ? "--soak" : chart ? "--chart" : "--trace")}; run them without --input.");
            return CliErrors.BadInput;
        }

        return BenchCamera.Run(bundlePath, input, steps, warmup, threads, serialAttention, checkNumerics, jsonPath, o, e, backend);
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

    /// <summary>The CPU memory options a bench runs with.</summary>
    internal sealed record MemoryChoice(bool PrepackWeights = true, bool KeepReferenceNetworks = false);

    /// <summary>Warm-up steps actually run: what was asked, but at least L (the L − 1 filler steps skip the decoder, and the first decode is cold).</summary>
    internal static int WarmupSteps(int requested, int levels) => Math.Max(requested, levels);

    internal static int Run(string bundlePath, int steps, int warmup, int threads, bool serialAttention, string? jsonPath, string? chartPath, TextWriter o, TextWriter e, BackendChoice? backend = null, TraceRequest? trace = null, bool checkNumerics = true, MemoryChoice? memory = null, double gemmSeconds = 0)
    {
        if (steps is < 1 or > MaxSteps || warmup is < 0 or > MaxSteps)
        {
            e.WriteLine($"rain bench: --steps must be 1 to {MaxSteps} and --warmup 0 to {MaxSteps}.");
            return CliErrors.BadInput;
        }

        if (!(gemmSeconds >= 0 && gemmSeconds <= 600))
        {
            e.WriteLine("rain bench: --gemm-seconds must be 0 to 600.");
            return CliErrors.BadInput;
        }

        memory ??= new MemoryChoice();

        return CliErrors.Run("bench", e, () =>
        {
            var ci = CultureInfo.InvariantCulture;
            trace ??= TraceRequest.None;
            var traceWriter = trace.CreateWriter("bench");
            var load = Stopwatch.StartNew();
            var options = (backend ?? BackendChoice.Cpu).Apply(new EngineOptions
            {
                Threads = threads, ParallelAttention = !serialAttention, CheckNumerics = checkNumerics,
                PrepackWeights = memory.PrepackWeights, KeepReferenceNetworks = memory.KeepReferenceNetworks,
            });
            var (bundle, engineBackend) = RainEngine.CreateBackend(bundlePath, options);
            using var pipe = engineBackend;
            var m = bundle.Manifest;
            o.WriteLine(string.Create(ci, $"bundle {bundle.Folder}: {m.Width}x{m.Height}, p={m.FramesPerLevel} L={m.Levels}, {m.Parts.Count} parts; loaded in {load.Elapsed.TotalSeconds:F1} s; buffers {pipe.BufferBytes / 1e6:F0} MB"));
            string backendBefore = pipe.Description;
            o.WriteLine($"backend: {backendBefore}");
            o.WriteLine($"machine: {LatencyReport.Machine()}");
            double loadSeconds = load.Elapsed.TotalSeconds;
            var referenceClock = Stopwatch.StartNew();
            var streamer = pipe.Start(DemoScene.Reference(m.Width, m.Height), new StageTimings());
            double referenceSeconds = referenceClock.Elapsed.TotalSeconds;
            o.WriteLine(string.Create(ci, $"reference fused in {referenceSeconds:F1} s{(pipe is Engine.Backends.Cpu.CpuBackend { Pipeline.KeepReferenceNetworks: false } ? " (reference networks loaded, run and released; the UNet loaded after them)" : "")}"));
            int p = m.FramesPerLevel;
            var poses = Enumerable.Range(0, 4 * p).Select(i => DemoScene.Pose(i, m.Width, m.Height)).ToArray();
            var frames = Enumerable.Range(0, p).Select(_ => new byte[m.Width * m.Height * 3]).ToArray();
            long k = 0;
            bool Step() => streamer.Step(poses.AsSpan((int)(k++ % 4) * p, p), frames).Emit;

            // Steady state only: the first L − 1 steps are fillers (no decode) and the first decode is cold, so at least L
            // warm-up steps run whatever was asked; they are reported apart.
            int warmupRun = WarmupSteps(warmup, m.Levels);
            var warmupMs = new double[warmupRun];
            var warmupEmitted = new bool[warmupRun];
            for (int i = 0; i < warmupRun; i++)
            {
                long t = Stopwatch.GetTimestamp();
                warmupEmitted[i] = Step();
                warmupMs[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                e.Write(string.Create(ci, $"\rwarm-up {i + 1}/{warmupRun}"));
            }

            streamer.Timings = new StageTimings(Math.Max(steps, 1)) { Trace = traceWriter };
            var stepMs = new double[steps];
            var allocated = new long[steps];
            var rss = new long[steps];
            int notEmitted = 0;
            var wall = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                long t = Stopwatch.GetTimestamp();
                if (!Step())
                    notEmitted++;
                stepMs[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                allocated[i] = GC.GetAllocatedBytesForCurrentThread() - before;

                // Sampled outside the allocation window (reading the working set allocates).
                rss[i] = Environment.WorkingSet;
                ExportCommand.Progress(e, i + 1, steps, string.Create(ci, $"steps, {stepMs[i]:F0} ms"));
            }

            double seconds = wall.Elapsed.TotalSeconds;
            e.WriteLine();
            if (notEmitted > 0)
                throw new InvalidOperationException($"{notEmitted} of the measured steps decoded no frames; the warm-up did not reach the steady state.");
            var measured = streamer.Timings;
            var tracing = traceWriter is null ? null : TracingCost(streamer, () => Step(), Math.Clamp(steps, 4, 30), e);
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
                ["warmup_steps_requested"] = warmup,
                ["warmup_steps"] = warmupRun,
                ["warmup"] = new JsonObject
                {
                    ["step_ms"] = new JsonArray([.. warmupMs.Select(v => (JsonNode?)Math.Round(v, 3))]),
                    ["decoded"] = new JsonArray([.. warmupEmitted.Select(v => (JsonNode?)v)]),
                    ["note"] = "steps before the measured ones: L - 1 filler steps (no decode), the cold first decode, then any further warm-up",
                },
                ["load_seconds"] = Math.Round(loadSeconds, 3),
                ["reference_seconds"] = Math.Round(referenceSeconds, 3),
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
            long peakRss = LatencyReport.PeakRssBytes();
            var ledger = (pipe as Engine.Backends.Cpu.CpuBackend)?.Pipeline.Ledger;
            if (ledger is not null)
                result["memory"] = MemoryJson(ledger);
            if (gemmSeconds > 0 && pipe is Engine.Backends.Cpu.CpuBackend cpuBackend)
            {
                // The engine is released first, so that the baseline's sessions add nothing to the stream's peak.
                cpuBackend.Dispose();
                Engine.Backends.Cpu.NativeHeap.Trim();
                e.WriteLine("GEMM baseline: ONNX Runtime MatMul at the UNet's shapes ...");
                var gemm = GemmBaseline.Measure(GemmBaseline.ShapesFor(m.UNetPlan), threads, gemmSeconds);
                double rate = GemmBaseline.Rate(gemm);
                result["gemm_baseline"] = new JsonObject
                {
                    ["gflops_per_s"] = Math.Round(rate, 3),
                    ["note"] = "ONNX Runtime float32 MatMul (constant pre-packed weight) with the engine's thread settings, measured after the steps in this process; rate = total FLOPs / total time, every shape once",
                    ["shapes"] = new JsonArray([.. gemm.Select(g => (JsonNode?)new JsonObject { ["m"] = g.M, ["k"] = g.K, ["n"] = g.N, ["runs"] = g.Runs, ["gflops_per_s"] = Math.Round(g.GflopsPerSecond, 3) })]),
                };
                o.WriteLine(string.Create(ci, $"GEMM baseline (ONNX Runtime MatMul, {gemm.Count} UNet shapes): {rate:F1} GFLOP/s ({string.Join(", ", gemm.Select(g => $"{g.M}x{g.K}x{g.N} {g.GflopsPerSecond:F1}"))})"));

                // The step's work: MatMul and Conv FLOPs of every part it runs, from the parts' ONNX graphs.
                double unetFlops = m.UNetPlan.Steps.Where(x => x.Kind == Engine.Bundle.PlanStep.RunPart).Sum(x => Models.Onnx.OnnxFlops.Count(bundle.PathOf(x.Part!)).Total);
                double otherFlops = Models.Onnx.OnnxFlops.Count(bundle.PathOf("pose_guider")).Total + Models.Onnx.OnnxFlops.Count(bundle.PathOf("taesdv_decoder")).Total;
                double unetRate = unetFlops / (stages[Stage.UNetParts].Mean / 1e3) / 1e9;
                double stepRate = (unetFlops + otherFlops) / (step.Mean / 1e3) / 1e9;
                result["flops"] = new JsonObject
                {
                    ["note"] = "MatMul and Conv FLOPs (2 per multiply-add) from the parts' ONNX graphs; the C# cross-noise attention is not counted",
                    ["unet_parts_per_step"] = unetFlops,
                    ["pose_guider_and_decoder_per_step"] = otherFlops,
                    ["unet_parts_gflops_per_s"] = Math.Round(unetRate, 3),
                    ["unet_parts_fraction_of_gemm_rate"] = Math.Round(unetRate / rate, 4),
                    ["step_gflops_per_s"] = Math.Round(stepRate, 3),
                    ["step_fraction_of_gemm_rate"] = Math.Round(stepRate / rate, 4),
                };
                o.WriteLine(string.Create(ci, $"work per step: UNet parts {unetFlops / 1e9:F1} GFLOP, pose guider + decoder {otherFlops / 1e9:F1} GFLOP; UNet parts run at {unetRate:F1} GFLOP/s = {unetRate / rate:P1} of the GEMM rate, the whole step at {stepRate:F1} GFLOP/s = {stepRate / rate:P1}"));
            }

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
            o.WriteLine(string.Create(ci, $"warm-up: {warmupRun} steps (asked {warmup}, at least L = {m.Levels}), ms [{string.Join(", ", warmupMs.Select(v => v.ToString("F0", ci)))}], decoded [{string.Join(", ", warmupEmitted.Select(v => v ? "y" : "n"))}]; measured steps all decoded"));
            o.WriteLine(string.Create(ci, $"peak RSS {peakRss / 1e6:F0} MB (before the GEMM baseline); engine buffers {result["buffer_bytes"]!.GetValue<long>() / 1e6:F0} MB"));
            if (ledger is not null)
                WriteLedger(o, ledger);
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

    /// <summary>The memory ledger as JSON: per group and per part, weights as stored, what each load and first run added to the resident set.</summary>
    internal static JsonObject MemoryJson(Engine.Backends.Cpu.CpuMemoryLedger ledger)
    {
        var groups = new JsonObject();
        foreach (var (group, (weights, loadDelta, firstRun)) in ledger.ByGroup.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            groups[group] = new JsonObject { ["weight_bytes"] = weights, ["load_rss_delta_bytes"] = loadDelta, ["first_run_rss_delta_bytes"] = firstRun };
        return new JsonObject
        {
            ["note"] = "weight_bytes: the part's files in the bundle; load_rss_delta_bytes: what its last session creation added to the process's resident set (weights as ONNX Runtime holds them, pre-packed copies); first_run_rss_delta_bytes: what its first run added (arena, memory patterns); released parts are not resident",
            ["prepack_weights"] = ledger.PrepackWeights,
            ["keep_reference_networks"] = ledger.KeepReferenceNetworks,
            ["shared_arena"] = ledger.SharedArena,
            ["weight_bytes"] = ledger.WeightBytes,
            ["loaded_weight_bytes"] = ledger.LoadedWeightBytes,
            ["loaded_rss_delta_bytes"] = ledger.LoadedResidentBytes,
            ["buffer_bytes"] = ledger.BufferBytes,
            ["rss_bytes"] = ledger.Now.Resident,
            ["rss_anonymous_bytes"] = ledger.Now.Anonymous,
            ["rss_file_bytes"] = ledger.Now.FileBacked,
            ["peak_rss_bytes"] = ledger.Now.Peak,
            ["groups"] = groups,
            ["networks"] = new JsonArray([.. ledger.Networks.Select(n => (JsonNode?)new JsonObject
            {
                ["name"] = n.Name,
                ["group"] = n.Group,
                ["weight_bytes"] = n.WeightBytes,
                ["loaded"] = n.Loaded,
                ["loads"] = n.Loads,
                ["releases"] = n.Releases,
                ["load_seconds"] = Math.Round(n.LoadSeconds, 3),
                ["load_rss_delta_bytes"] = n.LoadResidentDelta,
                ["load_anonymous_delta_bytes"] = n.LoadAnonymousDelta,
                ["first_run_rss_delta_bytes"] = n.FirstRunResidentDelta,
            })]),
        };
    }

    private static void WriteLedger(TextWriter o, Engine.Backends.Cpu.CpuMemoryLedger ledger)
    {
        var ci = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(ci, $"memory (pre-packing {(ledger.PrepackWeights ? "on" : "off")}, reference networks {(ledger.KeepReferenceNetworks ? "kept" : "released")}, {(ledger.SharedArena ? "one shared arena" : "per-session arenas")}): RSS now {ledger.Now.Resident / 1e6:F0} MB (anonymous {ledger.Now.Anonymous / 1e6:F0}, mapped files {ledger.Now.FileBacked / 1e6:F0}), peak {ledger.Now.Peak / 1e6:F0} MB"));
        o.WriteLine("  group       weights MB   load +RSS MB   first run +RSS MB");
        foreach (var (group, (weights, loadDelta, firstRun)) in ledger.ByGroup.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            o.WriteLine(string.Create(ci, $"  {group,-10} {weights / 1e6,11:F0} {loadDelta / 1e6,14:F0} {firstRun / 1e6,19:F0}"));
        o.WriteLine(string.Create(ci, $"  engine buffers {ledger.BufferBytes / 1e6:F0} MB; loaded now: weights {ledger.LoadedWeightBytes / 1e6:F0} MB, their load + first-run deltas {ledger.LoadedResidentBytes / 1e6:F0} MB"));
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

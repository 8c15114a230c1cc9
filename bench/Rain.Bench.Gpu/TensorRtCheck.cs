using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Rain.Engine.Backends;
using Rain.Engine.Backends.Cpu;
using Rain.Engine.Backends.Cuda;
using Rain.Engine.Interop;
using Rain.Engine.Backends.TensorRt;
using Rain.Engine.Bundle;
using Rain.Engine.Interop.TensorRt;

namespace Rain.Bench.Gpu;

/// <summary>
/// <c>--tensorrt &lt;bundle&gt;</c>: builds the bundle's TensorRT FP16 plans on this GPU (onnx2trt's code), deserializes
/// every part once with its contract checked, runs each whole network once, then the UNet plan (engines plus fp32
/// attention kernels) on the same random inputs as the CPU engine's plan, eagerly and as one captured CUDA graph:
/// the difference to the CPU's model_output, graph = eager, and the step percentiles of all three.
/// </summary>
internal static class TensorRtCheck
{
    /// <summary>Exports the tiny preset (the demo's, seeded random weights) into a temporary folder and returns it.</summary>
    public static string ExportTinyBundle(TextWriter o)
    {
        string root = Directory.CreateTempSubdirectory("rain-gpu-check-").FullName;
        string folder = Path.Combine(root, "bundle");
        var clock = Stopwatch.StartNew();
        var rain = Rain.Models.Config.RainConfig.Load(Rain.Models.Bundle.RainPresets.Materialize("tiny", Path.Combine(root, "preset")));
        Rain.Models.Bundle.BundleExport.Write(rain, folder, randomSeed: 1, configName: "preset 'tiny'");
        o.WriteLine($"tensorrt: exported the tiny preset's bundle to {folder} in {clock.Elapsed.TotalSeconds:F1} s");
        return folder;
    }

    public static int Run(CudaDevice device, string bundlePath, int steps, TextWriter o)
    {
        TrtLibrary library;
        try
        {
            (library, _) = TrtBackendProbe.ProbeRuntime(null, () => device.Capability);
        }
        catch (Engine.Api.BackendUnavailableException e)
        {
            o.WriteLine($"tensorrt: not run: {e.Message}");
            return 0;
        }

        var bundle = ModelBundle.Load(bundlePath);
        o.WriteLine($"tensorrt: TensorRT {library.VersionText} ({library.InferPath}); bundle {bundle.Folder}");
        int unet = 0;
        // Both UNet forms, side by side: one engine (TensorRT's own attention, fused across the former cuts) and the cut
        // parts with fp16 cut tensors and our kernel between them; the tables say which is faster on this GPU.
        foreach (var form in new[] { UNetForm.Whole, UNetForm.Cut })
        {
            var settings = new EngineBuildSettings { ComputeCapability = device.ComputeCapability, Fp16 = true, WorkspaceBytes = 1L << 30, Device = device.Ordinal, UNet = form };
            var build = Stopwatch.StartNew();
            Rain.Models.Onnx.UNetForms.Write(bundle, form, fp16: true);
            var built = EngineBuilder.BuildBundle(bundle, settings, library, device.ComputeCapability);
            var results = built.Parts;
            o.WriteLine($"tensorrt [{UNetLayout.Name(form)}]: {results.Count(r => r.Built)} plans built, {results.Count(r => !r.Built)} reused in {build.Elapsed.TotalSeconds:F1} s ({results.Sum(r => r.PlanBytes) / 1e6:F1} MB); " +
                $"timing cache {(built.TimingCacheLoadedBytes > 0 ? $"reused ({built.TimingCacheLoadedBytes} bytes)" : "new")}, {built.TimingCacheBytes} bytes kept");
            var target = TrtBackendProbe.LocatePlans(bundle, library, device.Capability, verifyHashes: true, form);
            using var engines = target.OpenEngines();
            using var kernels = new CudaKernels(device);
            if (form == UNetForm.Whole)
                RunWholeNetworksOnce(device, engines, o);
            int result = CompareUNet(device, bundle, target.UNet, engines, kernels, steps, o);
            var streamed = CompareStream(device, bundle, target.UNet, engines, kernels, steps, o);
            if (streamed.Mismatch is not null)
                throw new InvalidOperationException(streamed.Mismatch);
            unet = unet != 0 ? unet : result;
        }

        // The backend as a user loads it (its own device handle, engines and buffers); reported, not judged (FP16 drift).
        int session = SessionCheck.Run(bundlePath, Math.Max(bundle.Manifest.Levels + 1, Math.Min(steps, 12)), maxDiff: null, o);
        return unet != 0 ? unet : session;
    }

    /// <summary>Runs each whole network (CLIP, VAE encoder, ReferenceNet, pose guider, decoder) once on zero inputs.</summary>
    private static void RunWholeNetworksOnce(CudaDevice device, TrtEngineSet engines, TextWriter o)
    {
        using var arena = device.Allocate(Math.Max(engines.ArenaBytes, 256));
        engines.UseArena(arena.Address, arena.Bytes);
        using var stream = device.CreateStream();
        o.WriteLine($"tensorrt: {engines.Parts.Count} engines deserialized and matched to their contracts; one activation arena of {engines.ArenaBytes / 1e6:F1} MB");
        var owned = new List<DeviceBuffer>();
        try
        {
            foreach (string network in ModelBundle.WholeNetworks)
            {
                var runner = engines[network];
                var addresses = new Dictionary<string, ulong>(StringComparer.Ordinal);
                foreach (var t in runner.Tensors)
                {
                    var b = device.Allocate(Math.Max(256, t.ElementCount * PlanBufferLayout.ElementBytes(t.DType)));
                    b.Fill(0);
                    owned.Add(b);
                    addresses[t.Name] = b.Address;
                }

                runner.Bind(addresses);
                runner.Enqueue(stream);
                stream.Synchronize();
            }
        }
        finally
        {
            foreach (var b in owned)
                b.Dispose();
        }

        o.WriteLine($"tensorrt: {string.Join(", ", ModelBundle.WholeNetworks)} ran once (zero inputs)");
    }

    /// <summary>
    /// <c>--tensorrt-stream &lt;bundle&gt; [--steps N] [--max-diff D] [--max-mean M]</c>: the whole TensorRT stream on the plans already in
    /// the bundle against the CPU streamer, judged. The CI runs it on the fake CUDA driver with the fake libnvinfer's
    /// FAKEPLAN3 engines, which execute each part's ONNX on ONNX Runtime in fp32 as the CPU engine does, so every binding,
    /// buffer, copy, roll, decoder memory, kernel and the graph of the TensorRT pipeline is checked numerically (not
    /// TensorRT's FP16 arithmetic). Passes when the outcomes are equal step by step, N chunks are emitted, the graph was
    /// captured, TensorRT logged no error, the frames are not flat, every frame byte is within D of the CPU's and the mean
    /// |Δ| over all frame bytes is at most M (the defaults, 1 and 0.01 of 255, are the fake's bounds: see
    /// FakeCudaDriverTests; real FP16 engines drift further).
    /// </summary>
    public static int Stream(CudaDevice device, string bundlePath, int steps, int maxDiff, double maxMean, TextWriter o)
    {
        var target = LocatePlans(device, bundlePath);
        var (bundle, library) = (target.Bundle, target.Library);
        using var engines = target.OpenEngines();
        using var kernels = new CudaKernels(device);
        o.WriteLine($"tensorrt stream: TensorRT {library.VersionText} ({library.InferPath}), {engines.Parts.Count} engines, UNet {target.UNet.Tag}; bundle {bundle.Folder}");
        var r = CompareStream(device, bundle, target.UNet, engines, kernels, steps, o);
        string errors = engines.TakeErrors();
        var problems = new List<string>();
        if (r.Mismatch is not null)
            problems.Add(r.Mismatch);
        if (r.Emitted != steps)
            problems.Add($"{r.Emitted} chunks emitted, expected {steps}");
        if (!r.Captured)
            problems.Add("the step was not captured into a graph");
        if (errors.Length > 0)
            problems.Add(errors);
        if (r.DistinctValues < 16)
            problems.Add($"the CPU frames take only {r.DistinctValues} distinct byte values (a flat picture proves nothing)");
        if (r.MaxDiff > maxDiff)
            problems.Add($"max |Δ| {r.MaxDiff} > {maxDiff}");
        if (r.MeanDiff > maxMean)
            problems.Add($"mean |Δ| {r.MeanDiff:F6} > {maxMean}");
        o.WriteLine(problems.Count == 0 ? $"tensorrt stream: PASS (max |Δ| ≤ {maxDiff}, mean ≤ {maxMean})" : $"tensorrt stream: FAIL: {string.Join("; ", problems)}");
        return problems.Count == 0 ? 0 : 1;
    }

    /// <summary>What <see cref="CompareStream"/> saw.</summary>
    private sealed record StreamComparison(int Steps, int Emitted, long Frames, double MeanDiff, int MaxDiff, int DistinctValues, bool Captured, string? Mismatch);

    /// <summary>
    /// The whole stream (TrtPipeline) against the CPU streamer on the same reference and poses: outcomes, frame differences
    /// and step times, one line per step. Judged by <see cref="Stream"/>; only reported by <see cref="Run"/>: how far FP16
    /// engines drift from the fp32 CPU stream over recurrent steps is what the first GPU run is to measure.
    /// </summary>
    private static StreamComparison CompareStream(CudaDevice device, ModelBundle bundle, UNetLayout unet, TrtEngineSet engines, CudaKernels kernels, int steps, TextWriter o)
    {
        var m = bundle.Manifest;
        var random = new Random(5);
        var reference = FrameDifference.RandomImage(random, m.ReferenceWidth, m.ReferenceHeight);
        int p = m.FramesPerLevel;
        var poses = Enumerable.Range(0, (steps + m.Levels) * p).Select(_ => FrameDifference.RandomImage(random, m.Width, m.Height)).ToArray();
        using var gpu = new TrtPipeline(bundle, unet, engines, device, kernels, seed: 3, useGraph: true);
        using var cpuPipe = new CpuPipeline(bundle, 0, parallelAttention: true);
        gpu.SetReference(reference);
        cpuPipe.SetReference(reference);
        var cpu = new CpuStreamer(cpuPipe, 3, new Engine.Api.StageTimings());
        var gpuFrames = Enumerable.Range(0, p).Select(_ => new byte[m.Width * m.Height * 3]).ToArray();
        var cpuFrames = Enumerable.Range(0, p).Select(_ => new byte[m.Width * m.Height * 3]).ToArray();
        var gpuMs = new List<double>();
        var cpuMs = new List<double>();
        var all = new FrameDifference();
        int emitted = 0, total = steps + m.Levels - 1;
        string? mismatch = null;
        for (int k = 0; k < total; k++)
        {
            var chunk = poses.AsSpan(k * p, p);
            long t = Stopwatch.GetTimestamp();
            var a = gpu.Step(chunk, gpuFrames);
            gpuMs.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            t = Stopwatch.GetTimestamp();
            var b = cpu.Step(chunk, cpuFrames);
            cpuMs.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            if (a != b)
            {
                mismatch = $"step {k}: TensorRT outcome {a}, CPU {b}";
                o.WriteLine($"tensorrt stream step {k}: {mismatch}");
                break;
            }

            if (!a.Emit)
            {
                o.WriteLine($"tensorrt stream step {k}: outcome {a} on both, nothing emitted ({(gpu.Driver.IsCaptured ? "graph" : "eager")})");
                continue;
            }

            emitted++;
            var step = new FrameDifference();
            for (int i = 0; i < p; i++)
                step.Add(gpuFrames[i], cpuFrames[i]);
            all.Add(step);
            o.WriteLine($"tensorrt stream step {k}: outcome {a} on both, chunk {a.DecodedChunk} emitted ({(gpu.Driver.IsCaptured ? "graph" : "eager")}): " +
                $"max |Δ| {step.Max}, mean {step.Mean:F6}, {step.Differing} of {step.Bytes} bytes differ");
        }

        double[] g = [.. gpuMs.Skip(Math.Min(m.Levels, gpuMs.Count - 1)).Order()], c = [.. cpuMs.Skip(Math.Min(m.Levels, cpuMs.Count - 1)).Order()];
        long frames = all.Bytes / 3 / m.Width / m.Height;
        o.WriteLine($"tensorrt: stream of {total} steps ({frames} frames) vs the CPU engine: mean |Δ| {all.Mean:F6} of 255, max {all.Max}, {all.Differing} of {all.Bytes} bytes differ; " +
            $"graph {(gpu.Driver.IsCaptured ? "captured" : $"not captured ({gpu.Driver.CaptureFailure ?? "disabled"})")}; " +
            $"the CPU frames take {all.DistinctValues} byte values, {100.0 * all.Saturated / Math.Max(1, all.Bytes):F1}% at 0 or 255");
        o.WriteLine($"| stream step | p50 ms | p95 ms | fps (p frames per step) |");
        o.WriteLine($"| --- | --- | --- | --- |");
        o.WriteLine($"| CPU engine | {P(c, 50):F2} | {P(c, 95):F2} | {p * 1000 / Math.Max(1e-9, c.Average()):F1} |");
        o.WriteLine($"| TensorRT (UNet {unet.Tag}, {engines.Parts.Count} engines) | {P(g, 50):F2} | {P(g, 95):F2} | {p * 1000 / Math.Max(1e-9, g.Average()):F1} |");
        return new StreamComparison(total, emitted, frames, all.Mean, all.Max, all.DistinctValues, gpu.Driver.IsCaptured, mismatch);
    }

    /// <summary>
    /// <c>--tensorrt-wiring &lt;bundle&gt;</c>: the whole TensorRT stream on the plans already in the bundle, no comparison:
    /// the CI runs it on the fake CUDA driver with the fake libnvinfer, whose engines check that every tensor is bound and
    /// zero their outputs, so every name, size, binding and node of the pipeline is exercised without a GPU.
    /// </summary>
    public static int Wiring(CudaDevice device, string bundlePath, int steps, TextWriter o)
    {
        var target = LocatePlans(device, bundlePath);
        var bundle = target.Bundle;
        using var engines = target.OpenEngines();
        using var kernels = new CudaKernels(device);
        using var pipe = new TrtPipeline(bundle, target.UNet, engines, device, kernels, seed: 1, useGraph: true);
        var m = bundle.Manifest;
        var random = new Random(2);
        pipe.SetReference(FrameDifference.RandomImage(random, m.ReferenceWidth, m.ReferenceHeight));
        int p = m.FramesPerLevel, emitted = 0;
        var frames = Enumerable.Range(0, p).Select(_ => new byte[m.Width * m.Height * 3]).ToArray();
        bool zero = true;
        for (int k = 0; k < steps; k++)
        {
            foreach (var f in frames)
                f.AsSpan().Fill(0xA5);
            var poses = Enumerable.Range(0, p).Select(_ => FrameDifference.RandomImage(random, m.Width, m.Height)).ToArray();
            var outcome = pipe.Step(poses, frames);
            if (outcome.Emit)
            {
                emitted++;
                zero &= frames.All(f => !f.AsSpan().ContainsAnyExcept((byte)0));
            }
        }

        o.WriteLine($"tensorrt wiring: {engines.Parts.Count} engines, arena {engines.ArenaBytes} bytes, UNet buffers {pipe.UNet.BufferBytes} bytes, " +
            $"{steps} steps, {emitted} chunks emitted, frames {(zero ? "all zero" : "NOT zero")}, graph {(pipe.Driver.IsCaptured ? "captured" : $"not captured ({pipe.Driver.CaptureFailure})")}");
        return zero && pipe.Driver.IsCaptured && emitted == Math.Max(0, steps - (m.Levels - 1)) ? 0 : 1;
    }

    private static int CompareUNet(CudaDevice device, ModelBundle bundle, UNetLayout layout, TrtEngineSet engines, CudaKernels kernels, int steps, TextWriter o)
    {
        var plan = layout.Plan;
        using var stream = device.CreateStream();
        using var arena = device.Allocate(Math.Max(engines.ArenaBytes, 256));
        engines.UseArena(arena.Address, arena.Bytes);
        using var unet = new TrtUNet(plan, layout.Parts, engines, device, kernels);
        using var sessions = new CpuSessionFactory(bundle, threads: 0, prepackWeights: true);
        using var cpu = new CpuPlan(bundle, sessions, Environment.ProcessorCount - 1);
        cpu.Load();
        var random = new Random(11);
        foreach (string input in plan.Inputs)
        {
            var host = cpu.Buffer(input);
            if (host.Contract.DType == "int64")
            {
                for (int i = 0; i < host.I64.Length; i++)
                    host.I64[i] = bundle.Manifest.Timesteps[i % bundle.Manifest.Timesteps.Length];
                unet.Buffer(input).Upload<long>(host.I64);
            }
            else
            {
                for (int i = 0; i < host.F.Length; i++)
                    host.F[i] = (random.NextSingle() * 2) - 1;
                unet.Buffer(input).Upload<float>(host.F);
            }
        }

        using var run = new RunOptions();
        var cpuMs = Time(steps, () => cpu.Run(run, null));
        void Enqueue(CudaStream s)
        {
            foreach (var node in unet.Nodes)
                node.Enqueue(s);
        }

        var eagerMs = Time(steps, () => { Enqueue(stream); stream.Synchronize(); });
        string output = plan.Outputs[0];
        var eager = new float[cpu.Buffer(output).F.Length];
        unet.Buffer(output).Download<float>(eager);
        double[] graphMs;
        var graphOut = new float[eager.Length];
        try
        {
            using var graph = CudaGraph.Capture(stream, Enqueue);
            graphMs = Time(steps, () => { graph.Launch(stream); stream.Synchronize(); });
            unet.Buffer(output).Download<float>(graphOut);
        }
        catch (Exception e) when (e is TrtException or CudaException)
        {
            o.WriteLine($"tensorrt: the UNet plan could not be captured into a CUDA graph ({e.Message}); it runs uncaptured");
            graphMs = [];
            eager.CopyTo(graphOut, 0);
        }

        var reference = cpu.Buffer(output).F;
        double maxAbs = 0, errSq = 0, refSq = 0;
        for (int i = 0; i < eager.Length; i++)
        {
            double d = eager[i] - reference[i];
            maxAbs = Math.Max(maxAbs, Math.Abs(d));
            errSq += d * d;
            refSq += (double)reference[i] * reference[i];
        }

        double relL2 = Math.Sqrt(errSq / Math.Max(refSq, 1e-30));
        bool finite = eager.All(float.IsFinite);
        bool same = eager.AsSpan().SequenceEqual(graphOut);
        o.WriteLine($"tensorrt: UNet {layout.Tag} ({plan.Steps.Count} nodes, {unet.BufferBytes / 1e6:F1} MB of buffers) vs the CPU plan on the same inputs: " +
            $"relative L2 error {relL2:E2}, max |err| {maxAbs:E2}; graph replay {(same ? "bit-identical to" : "DIFFERS from")} eager");
        o.WriteLine($"| UNet ({layout.Tag}) | p50 ms | p95 ms |");
        o.WriteLine($"| --- | --- | --- |");
        o.WriteLine($"| CPU (ONNX Runtime fp32, {Environment.ProcessorCount} cores) | {P(cpuMs, 50):F2} | {P(cpuMs, 95):F2} |");
        o.WriteLine($"| TensorRT FP16, eager | {P(eagerMs, 50):F2} | {P(eagerMs, 95):F2} |");
        if (graphMs.Length > 0)
            o.WriteLine($"| TensorRT FP16, CUDA graph | {P(graphMs, 50):F2} | {P(graphMs, 95):F2} |");

        // FP16 engines against the fp32 CPU plan: 43 parts of half-precision arithmetic with random weights; a relative L2
        // error of a few 1e-3 is typical, 5e-2 means a wrong binding or layout rather than rounding.
        bool ok = finite && same && relL2 < 5e-2;
        o.WriteLine(ok ? "tensorrt: PASS" : "tensorrt: FAIL");
        return ok ? 0 : 1;
    }

    /// <summary>TensorRT, the bundle and its current plans for this device (the backend's own checks).</summary>
    private static TrtBackendTarget LocatePlans(CudaDevice device, string bundlePath)
    {
        var (library, _) = TrtBackendProbe.ProbeRuntime(null, () => device.Capability);
        return TrtBackendProbe.LocatePlans(ModelBundle.Load(bundlePath), library, device.Capability, verifyHashes: true);
    }

    private static double[] Time(int steps, Action step)
    {
        step(); // warm-up
        var ms = new double[steps];
        for (int i = 0; i < steps; i++)
        {
            long t = Stopwatch.GetTimestamp();
            step();
            ms[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        }

        Array.Sort(ms);
        return ms;
    }

    private static double P(double[] sorted, int percent) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, sorted.Length * percent / 100)];
}

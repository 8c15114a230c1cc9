using System.Diagnostics;
using Rain.Engine.Backends.Cuda;
using Rain.Engine.Streaming;
using Rain.Kernels;

namespace Rain.Bench.Gpu;

/// <summary>
/// Kernel benchmarks at RAIN's sizes (512×512, F = 16, p = 4): each kernel against, in the same run, a
/// straightforward baseline where one exists (attention: explicit transposes plus a batched attention) and the
/// memory-bandwidth floor, a device-to-device copy that moves the same bytes (reads + writes) as the kernel must.
/// Times are medians over batches of launches timed with CUDA events.
/// </summary>
internal static class KernelBench
{
    private const int Batches = 7, PerBatch = 20;

    public static void Run(CudaDevice device, TextWriter output)
    {
        using var kernels = new CudaKernels(device);
        using var stream = device.CreateStream();
        output.WriteLine("| kernel | shape | ours (µs) | baseline (µs) | floor: D2D copy (µs) | ours GB/s | ours / floor | baseline / ours |");
        output.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        const int frames = 16, heads = 8;
        foreach (var (tokens, channels) in new[] { (4096, 320), (1024, 640), (256, 1280), (64, 1280) })
            Attention(device, kernels, stream, output, frames, tokens, channels, heads);
        LcmStepRoll(device, kernels, stream, output);
        Noise(device, kernels, stream, output);
        Frames(device, kernels, stream, output);
        output.WriteLine();
        Step(device, kernels, output);
    }

    private static void Attention(CudaDevice device, CudaKernels kernels, CudaStream stream, TextWriter output, int frames, int tokens, int channels, int heads)
    {
        long size = (long)frames * tokens * channels * 2;
        using var q = device.Allocate(size);
        using var k = device.Allocate(size);
        using var v = device.Allocate(size);
        using var o = device.Allocate(size);
        using var bq = device.Allocate(size);
        using var bk = device.Allocate(size);
        using var bv = device.Allocate(size);
        using var bo = device.Allocate(size);
        FillHalves(device, kernels, stream, [q, k, v]);
        var ours = CrossNoiseAttention.Launch(q.Address, k.Address, v.Address, o.Address, frames, tokens, channels, heads);
        KernelLaunch[] baseline =
        [
            BenchBaselineKernels.ToBatched(q.Address, bq.Address, frames, tokens, channels, heads),
            BenchBaselineKernels.ToBatched(k.Address, bk.Address, frames, tokens, channels, heads),
            BenchBaselineKernels.ToBatched(v.Address, bv.Address, frames, tokens, channels, heads),
            BenchBaselineKernels.BatchedAttention(bq.Address, bk.Address, bv.Address, bo.Address, frames, tokens, channels, heads),
            BenchBaselineKernels.FromBatched(bo.Address, o.Address, frames, tokens, channels, heads),
        ];
        double oursUs = Time(device, stream, s => kernels.Launch(s, ours));
        double baseUs = Time(device, stream, s =>
        {
            foreach (var launch in baseline)
                kernels.Launch(s, launch);
        });
        // The kernel must read q, k, v and write out: 4 tensors of traffic.
        Row(output, $"cross_noise_attention ({ours.EntryPoint[^2..]})", $"F={frames} N={tokens} C={channels} d={channels / heads}", oursUs, baseUs, Floor(device, stream, 4 * size), 4 * size);
    }

    private static void LcmStepRoll(CudaDevice device, CudaKernels kernels, CudaStream stream, TextWriter output)
    {
        var schedule = new LcmSchedule(StreamConfig.Rain);
        int f = schedule.Config.Frames, p = schedule.Config.FramesPerLevel, e = schedule.Config.LatentFrameElements;
        long window = (long)f * e * 4, chunk = (long)p * e * 4;
        using var model = device.Allocate(window);
        using var sample = device.Allocate(window);
        using var noise = device.Allocate(window);
        using var fresh = device.Allocate(chunk);
        using var next = device.Allocate(window);
        using var decode = device.Allocate(chunk);
        using var coefficients = device.Allocate(f * 6 * 4);
        coefficients.Upload<float>(LcmStepRollKernel.PackCoefficients(schedule.SqrtAlphaProd, schedule.SqrtOneMinusAlphaProd, schedule.COut, schedule.CSkip, schedule.SqrtAlphaProdPrev, schedule.SqrtOneMinusAlphaProdPrev));
        foreach (var buffer in new[] { model, sample, noise, fresh })
            buffer.Fill(0);
        var launch = LcmStepRollKernel.Launch(model.Address, sample.Address, noise.Address, fresh.Address, next.Address, decode.Address, coefficients.Address, f, p, e);
        // Reads v̂, x (F frames), ε (F − p), new noise (p); writes next (F) and decode (p).
        long bytes = (3 * window) + (window + chunk);
        Row(output, "lcm_step_roll (fp32)", $"F={f} p={p} E={e}", Time(device, stream, s => kernels.Launch(s, launch)), null, Floor(device, stream, bytes), bytes);
    }

    private static void Noise(CudaDevice device, CudaKernels kernels, CudaStream stream, TextWriter output)
    {
        var c = StreamConfig.Rain;
        int count = c.Frames * c.LatentFrameElements;
        using var chunk = device.Allocate(8);
        chunk.Upload<long>([12]);
        using var out32 = device.Allocate(count * 4L);
        var launch = NoiseKernel.Launch(7, chunk.Address, 0, 1, 0, count, out32.Address, 0);
        long bytes = count * 4L;
        Row(output, "noise (fp32)", $"{count} values", Time(device, stream, s => kernels.Launch(s, launch)), null, Floor(device, stream, bytes), bytes);
    }

    private static void Frames(CudaDevice device, CudaKernels kernels, CudaStream stream, TextWriter output)
    {
        var c = StreamConfig.Rain;
        int p = c.FramesPerLevel;
        long pixels = (long)p * c.Height * c.Width;
        using var rgb = device.Allocate(pixels * 3);
        using var planar = device.Allocate(pixels * 6);
        rgb.Fill(77);
        var toPlanar = FrameConversion.Rgb8ToPlanarLaunch(rgb.Address, planar.Address, p, c.Height, c.Width);
        var toRgb = FrameConversion.PlanarToRgb8Launch(planar.Address, rgb.Address, p, c.Height, c.Width);
        long bytes = pixels * 9;
        string shape = $"{p}×{c.Height}×{c.Width}×3";
        Row(output, "rgb8_to_planar_f16", shape, Time(device, stream, s => kernels.Launch(s, toPlanar)), null, Floor(device, stream, bytes), bytes);
        Row(output, "planar_f16_to_rgb8", shape, Time(device, stream, s => kernels.Launch(s, toRgb)), null, Floor(device, stream, bytes), bytes);
    }

    /// <summary>
    /// The whole step driver at RAIN's size with a copy standing in for the networks: graph replay vs eager, and the CPU
    /// time the host spends per step when it waits for the device with CUDA's default scheduling (spinning) and with
    /// blocking synchronisation (the engine's choice), each on the device opened with that flag.
    /// </summary>
    private static void Step(CudaDevice device, CudaKernels kernels, TextWriter output)
    {
        var schedule = new LcmSchedule(StreamConfig.Rain);
        output.WriteLine("| step driver (networks: one copy) | host wait | ms per step (host wall time incl. pinned copies and sync) | host CPU ms per step |");
        output.WriteLine("| --- | --- | ---: | ---: |");
        double eagerMs = 0;
        foreach (bool graph in new[] { false, true })
        {
            var (ms, cpu) = RunSteps(device, kernels, schedule, graph);
            if (!graph)
                eagerMs = ms;
            output.WriteLine($"| {(graph ? "CUDA graph replay" : "eager launches")} | {device.HostWait} | {ms:F3}{(graph ? $" ({eagerMs / ms:F2}× eager)" : "")} | {cpu:F3} |");
        }

        // The same graph-replayed step on the device reopened with each scheduling flag (the primary context's flags).
        foreach (var wait in new[] { CudaHostWait.Default, CudaHostWait.BlockingSync })
        {
            using var reopened = CudaDevice.Open(device.Ordinal, wait);
            using var k = new CudaKernels(reopened);
            var (ms, cpu) = RunSteps(reopened, k, schedule, graph: true);
            output.WriteLine($"| CUDA graph replay, opened with {wait} | {reopened.HostWait} | {ms:F3} | {cpu:F3} ({100 * cpu / ms:F0} % of the wall time) |");
        }
    }

    private static (double WallMs, double CpuMs) RunSteps(CudaDevice device, CudaKernels kernels, LcmSchedule schedule, bool graph)
    {
        using var driver = new CudaStepDriver(device, kernels, new CudaStepOptions(schedule, 1, UseGraph: graph, WarmupSteps: 2));
        driver.SetParts([new DeviceCopyNode(driver.Latents, driver.ModelOutput, driver.Latents.Bytes)], []);
        for (int i = 0; i < 5; i++)
            driver.Step();
        const int steps = 200;
        var process = Process.GetCurrentProcess();
        var cpuStart = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++)
            driver.Step();
        double ms = clock.Elapsed.TotalMilliseconds / steps;
        process.Refresh();
        return (ms, (process.TotalProcessorTime - cpuStart).TotalMilliseconds / steps);
    }

    private static void FillHalves(CudaDevice device, CudaKernels kernels, CudaStream stream, DeviceBuffer[] buffers)
    {
        using var chunk = device.Allocate(8);
        chunk.Upload<long>([3]);
        int level = 0;
        foreach (var buffer in buffers)
            kernels.Launch(stream, NoiseKernel.Launch(11, chunk.Address, 0, level++, 0, (int)(buffer.Bytes / 2), 0, buffer.Address));
        stream.Synchronize();
    }

    private static double Floor(CudaDevice device, CudaStream stream, long trafficBytes)
    {
        // A copy of n bytes reads n and writes n: copy half the traffic.
        long n = Math.Max(256, trafficBytes / 2);
        using var source = device.Allocate(n);
        using var destination = device.Allocate(n);
        source.Fill(1);
        return Time(device, stream, s => s.Copy(source, 0, destination, 0, n));
    }

    private static double Time(CudaDevice device, CudaStream stream, Action<CudaStream> enqueue)
    {
        using var start = device.CreateEvent();
        using var end = device.CreateEvent();
        for (int i = 0; i < 3; i++)
            enqueue(stream);
        stream.Synchronize();
        var samples = new double[Batches];
        for (int b = 0; b < Batches; b++)
        {
            start.Record(stream);
            for (int i = 0; i < PerBatch; i++)
                enqueue(stream);
            end.Record(stream);
            end.Synchronize();
            samples[b] = end.ElapsedMillisecondsSince(start) * 1000.0 / PerBatch;
        }

        Array.Sort(samples);
        return samples[Batches / 2];
    }

    private static void Row(TextWriter output, string kernel, string shape, double oursUs, double? baselineUs, double floorUs, long bytes)
    {
        string baseline = baselineUs is double b ? $"{b:F1}" : "—";
        string speedup = baselineUs is double b2 ? $"{b2 / oursUs:F2}×" : "—";
        output.WriteLine($"| {kernel} | {shape} | {oursUs:F1} | {baseline} | {floorUs:F1} | {bytes / (oursUs * 1e3):F0} | {oursUs / floorUs:F2}× | {speedup} |");
    }
}

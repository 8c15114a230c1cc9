using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Rain.Engine.Backends.Cuda;
using Rain.Engine.Streaming;
using Rain.Kernels;

namespace Rain.Bench.Gpu;

/// <summary>
/// The GPU measurements at RAIN's sizes (512×512, F = 16, p = 4), as one table: every kernel against the memory-bandwidth
/// floor measured in the same run (a device-to-device copy moving the same bytes, reads + writes, as the kernel must);
/// the attention as v1 (one warp per (n, head)) and v2 (tensor cores), against a straightforward baseline of our own
/// (explicit transposes around a batched attention) and, when the device's PyTorch measured it
/// (<c>bench/sdpa_baseline.py</c>, <c>--sdpa</c>), PyTorch's scaled_dot_product_attention on the same shapes; the cost of
/// a CUDA graph node at replay against an eager launch; the step driver with and without its graph and the host CPU time
/// per step with spinning and with blocking synchronisation. Times are medians over batches timed with CUDA events.
/// </summary>
internal static class KernelBench
{
    private const int Batches = 7, PerBatch = 20;

    /// <summary>RAIN's attention shapes: F = 16 frames, 8 heads, the UNet's four resolutions (64², 32², 16², 8² at 512²).</summary>
    public static readonly (int Tokens, int Channels)[] AttentionShapes = [(4096, 320), (1024, 640), (256, 1280), (64, 1280)];

    public static void Run(CudaDevice device, TextWriter output, string? sdpaJson = null)
    {
        var sdpa = ReadSdpa(sdpaJson, output);
        using var kernels = new CudaKernels(device);
        using var stream = device.CreateStream();
        output.WriteLine("| measurement | shape | µs | GB/s | × floor | compared |");
        output.WriteLine("| --- | --- | ---: | ---: | ---: | --- |");
        const int frames = 16, heads = 8;
        foreach (var (tokens, channels) in AttentionShapes)
            Attention(device, kernels, stream, output, frames, tokens, channels, heads, sdpa);
        LcmStepRoll(device, kernels, stream, output);
        Noise(device, kernels, stream, output);
        Frames(device, kernels, stream, output);
        GraphNodes(device, kernels, stream, output);
        Step(device, kernels, output);
    }

    private static void Attention(CudaDevice device, CudaKernels kernels, CudaStream stream, TextWriter output, int frames, int tokens, int channels, int heads,
        IReadOnlyDictionary<(int, int), SdpaRow> sdpa)
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
        FillHalves(kernels, stream, device, [q, k, v]);
        var v1 = CrossNoiseAttention.Launch(q.Address, k.Address, v.Address, o.Address, frames, tokens, channels, heads, AttentionKernel.Warp);
        var v2 = CrossNoiseAttention.Launch(q.Address, k.Address, v.Address, o.Address, frames, tokens, channels, heads, AttentionKernel.TensorCore);
        KernelLaunch[] baseline =
        [
            BenchBaseline.ToBatched(q.Address, bq.Address, frames, tokens, channels, heads),
            BenchBaseline.ToBatched(k.Address, bk.Address, frames, tokens, channels, heads),
            BenchBaseline.ToBatched(v.Address, bv.Address, frames, tokens, channels, heads),
            BenchBaseline.BatchedAttention(bq.Address, bk.Address, bv.Address, bo.Address, frames, tokens, channels, heads),
            BenchBaseline.FromBatched(bo.Address, o.Address, frames, tokens, channels, heads),
        ];
        double v1Us = Time(device, stream, s => kernels.Launch(s, v1));
        double v2Us = Time(device, stream, s => kernels.Launch(s, v2));
        double baseUs = Time(device, stream, s =>
        {
            foreach (var launch in baseline)
                kernels.Launch(s, launch);
        });
        // The kernel must read q, k, v and write out: 4 tensors of traffic.
        long bytes = 4 * size;
        double floor = Floor(device, stream, bytes);
        string shape = $"F={frames} N={tokens} C={channels} d={channels / heads}";
        Row(output, $"attention v1 ({v1.EntryPoint})", shape, v1Us, floor, bytes, "");
        Row(output, $"attention v2 ({v2.EntryPoint})", shape, v2Us, floor, bytes, $"{v1Us / v2Us:F2}× faster than v1");
        Row(output, "attention baseline (our transposes + batched)", shape, baseUs, floor, bytes, $"v2 {baseUs / v2Us:F2}× faster");
        if (sdpa.TryGetValue((tokens, channels), out var torch))
        {
            Row(output, $"PyTorch SDPA [N·h, F, d] ({torch.Backend})", shape, torch.SdpaUs, floor, bytes, $"v2 {torch.SdpaUs / v2Us:F2}× faster (SDPA on pre-permuted tensors)");
            Row(output, "PyTorch SDPA + permutes from [F, N, C]", shape, torch.SdpaPermuteUs, floor, bytes, $"v2 {torch.SdpaPermuteUs / v2Us:F2}× faster (the same layout as ours)");
        }

        Row(output, "floor: D2D copy of the same bytes", shape, floor, floor, bytes, "");
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
        coefficients.Upload<float>(Rain.Kernels.LcmStepRoll.PackCoefficients(schedule.SqrtAlphaProd, schedule.SqrtOneMinusAlphaProd, schedule.COut, schedule.CSkip, schedule.SqrtAlphaProdPrev, schedule.SqrtOneMinusAlphaProdPrev));
        foreach (var buffer in new[] { model, sample, noise, fresh })
            buffer.Fill(0);
        var launch = Rain.Kernels.LcmStepRoll.Launch(model.Address, sample.Address, noise.Address, fresh.Address, next.Address, decode.Address, coefficients.Address, f, p, e);
        // Reads v̂, x (F frames), ε (F − p), new noise (p); writes next (F) and decode (p).
        long bytes = (3 * window) + (window + chunk);
        Row(output, "lcm_step_roll (fp32)", $"F={f} p={p} E={e}", Time(device, stream, s => kernels.Launch(s, launch)), Floor(device, stream, bytes), bytes, "");
    }

    private static void Noise(CudaDevice device, CudaKernels kernels, CudaStream stream, TextWriter output)
    {
        var c = StreamConfig.Rain;
        int count = c.Frames * c.LatentFrameElements;
        using var chunk = device.Allocate(8);
        chunk.Upload<long>([12]);
        using var out32 = device.Allocate(count * 4L);
        var launch = Rain.Kernels.Noise.Launch(7, chunk.Address, 0, 1, 0, count, out32.Address, 0);
        long bytes = count * 4L;
        Row(output, "noise (fp32)", $"{count} values", Time(device, stream, s => kernels.Launch(s, launch)), Floor(device, stream, bytes), bytes, "");
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
        Row(output, "rgb8_to_planar_f16", shape, Time(device, stream, s => kernels.Launch(s, toPlanar)), Floor(device, stream, bytes), bytes, "");
        Row(output, "planar_f16_to_rgb8", shape, Time(device, stream, s => kernels.Launch(s, toRgb)), Floor(device, stream, bytes), bytes, "");
    }

    /// <summary>
    /// What one node of a CUDA graph costs at replay against one eager launch: graphs of 1 and 129 tiny kernels (one thread
    /// of the noise kernel each, so the work is nothing), the difference divided by 128.
    /// </summary>
    private static void GraphNodes(CudaDevice device, CudaKernels kernels, CudaStream stream, TextWriter output)
    {
        using var chunk = device.Allocate(8);
        chunk.Upload<long>([1]);
        using var target = device.Allocate(16);
        var tiny = Rain.Kernels.Noise.Launch(1, chunk.Address, 0, 0, 0, 4, target.Address, 0);
        kernels.Prepare(tiny);
        const int Many = 129;
        void Enqueue(CudaStream s, int n)
        {
            for (int i = 0; i < n; i++)
                kernels.Launch(s, tiny);
        }

        using var one = CudaGraph.Capture(stream, s => Enqueue(s, 1));
        using var many = CudaGraph.Capture(stream, s => Enqueue(s, Many));
        double oneUs = Time(device, stream, one.Launch), manyUs = Time(device, stream, many.Launch);
        double eagerOne = Time(device, stream, s => Enqueue(s, 1)), eagerMany = Time(device, stream, s => Enqueue(s, Many));
        double graphPerNode = (manyUs - oneUs) / (Many - 1), eagerPerNode = (eagerMany - eagerOne) / (Many - 1);
        output.WriteLine($"| CUDA graph replay, per kernel node | graphs of 1 and {Many} one-thread kernels | {graphPerNode:F2} | — | — | one launch of the graph: {oneUs:F1} µs |");
        output.WriteLine($"| eager launch, per kernel | the same kernels launched one by one | {eagerPerNode:F2} | — | — | {eagerPerNode / Math.Max(1e-9, graphPerNode):F1}× a graph node (device time; the host's launch time is not in it) |");
    }

    /// <summary>
    /// The whole step driver at RAIN's size with a copy standing in for the networks: graph replay vs eager, and the CPU
    /// time the host spends per step when it waits for the device with CUDA's default scheduling (spinning) and with
    /// blocking synchronisation (the engine's choice), each on the device opened with that flag.
    /// </summary>
    private static void Step(CudaDevice device, CudaKernels kernels, TextWriter output)
    {
        var schedule = new LcmSchedule(StreamConfig.Rain);
        string shape = "RAIN 512², networks: one copy";
        var (eagerMs, eagerCpu) = RunSteps(device, kernels, schedule, graph: false);
        var (graphMs, graphCpu) = RunSteps(device, kernels, schedule, graph: true);
        output.WriteLine($"| step driver, eager launches (host wall time per step) | {shape} | {eagerMs * 1000:F1} | — | — | host CPU {eagerCpu * 1000:F1} µs; host waits: {device.HostWait} |");
        output.WriteLine($"| step driver, one CUDA graph per step | {shape} | {graphMs * 1000:F1} | — | — | {eagerMs / graphMs:F2}× eager; host CPU {graphCpu * 1000:F1} µs |");

        // The same graph-replayed step on the device reopened with each scheduling flag (the primary context's flags).
        foreach (var wait in new[] { CudaHostWait.Default, CudaHostWait.BlockingSync })
        {
            using var reopened = CudaDevice.Open(device.Ordinal, wait);
            using var k = new CudaKernels(reopened);
            var (ms, cpu) = RunSteps(reopened, k, schedule, graph: true);
            output.WriteLine($"| step driver (graph), host waits: {reopened.HostWait} | {shape} | {ms * 1000:F1} | — | — | host CPU {cpu * 1000:F1} µs per step ({100 * cpu / ms:F0} % of the wall time) |");
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

    private static void FillHalves(CudaKernels kernels, CudaStream stream, CudaDevice device, DeviceBuffer[] buffers)
    {
        using var chunk = device.Allocate(8);
        chunk.Upload<long>([3]);
        int level = 0;
        foreach (var buffer in buffers)
            kernels.Launch(stream, Rain.Kernels.Noise.Launch(11, chunk.Address, 0, level++, 0, (int)(buffer.Bytes / 2), 0, buffer.Address));
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

    private static void Row(TextWriter output, string what, string shape, double us, double floorUs, long bytes, string compared) =>
        output.WriteLine($"| {what} | {shape} | {us:F1} | {bytes / (us * 1e3):F0} | {us / floorUs:F2}× | {compared} |");

    /// <summary>One shape of PyTorch's scaled_dot_product_attention, as bench/sdpa_baseline.py measured it on this device.</summary>
    private sealed record SdpaRow(double SdpaUs, double SdpaPermuteUs, string Backend);

    /// <summary>Reads sdpa_baseline.py's JSON lines (one object per shape); a missing or unreadable file only loses those rows.</summary>
    private static Dictionary<(int, int), SdpaRow> ReadSdpa(string? path, TextWriter output)
    {
        var rows = new Dictionary<(int, int), SdpaRow>();
        if (path is null)
            return rows;
        try
        {
            foreach (string line in File.ReadLines(path).Where(l => l.TrimStart().StartsWith('{')))
            {
                using var doc = JsonDocument.Parse(line);
                var r = doc.RootElement;
                rows[(r.GetProperty("tokens").GetInt32(), r.GetProperty("channels").GetInt32())] =
                    new SdpaRow(r.GetProperty("sdpa_us").GetDouble(), r.GetProperty("sdpa_permute_us").GetDouble(), r.GetProperty("backend").GetString() ?? "?");
            }
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"gpu-check: the PyTorch SDPA baseline ({path}) could not be read: {e.Message}"));
        }

        return rows;
    }
}

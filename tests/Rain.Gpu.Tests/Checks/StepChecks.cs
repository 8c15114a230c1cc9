using Rain.Engine.Backends.Cuda;
using Rain.Engine.Streaming;
using Rain.Kernels;
using Rain.Kernels.Cases;

namespace Rain.Gpu.Checks;

/// <summary>
/// The step driver: a graph-replayed stream and an eager one stay bit-identical step after step and both follow the
/// CPU <see cref="StreamState"/>; the frames out are the pose images in (the test decoder echoes them); an attention
/// node in the plan computes the reference result; and every CUDA handle is released.
/// </summary>
internal static class StepChecks
{
    public static string GraphVersusEager(CudaDevice device, int steps = 7)
    {
        var config = new StreamConfig { FramesPerLevel = 2, Levels = 3, Height = 64, Width = 128 };
        var schedule = new LcmSchedule(config);
        const ulong seed = 0x5EED;
        using var kernels = new CudaKernels(device);
        using var graphed = new CudaStepDriver(device, kernels, new CudaStepOptions(schedule, seed, UseGraph: true, WarmupSteps: 2));
        using var eager = new CudaStepDriver(device, kernels, new CudaStepOptions(schedule, seed, UseGraph: false));

        // An attention core in the plan (as between two network parts), on scratch tensors of its own.
        const int frames = 6, tokens = 37, channels = 64, heads = 8;
        var random = new Random(17);
        int count = frames * tokens * channels;
        var q = KernelChecks.RandomHalves(random, count);
        var expectedAttention = new float[count];
        CrossNoiseAttention.Reference(KernelChecks.ToFloats(q), KernelChecks.ToFloats(q), KernelChecks.ToFloats(q), expectedAttention, frames, tokens, channels, heads);
        using var dq = KernelChecks.Up(device, q);
        using var dAttention = device.Allocate(count * 2L);

        var eagerDecoder = default(CountingPart);
        foreach (var driver in new[] { graphed, eager })
        {
            var attention = new KernelNode(kernels, CrossNoiseAttention.Launch(dq.Address, dq.Address, dq.Address, dAttention.Address, frames, tokens, channels, heads));
            // Test networks: v̂ = x (the denoiser copies the latents) and a decoder that echoes the pose images.
            var denoiser = new DeviceCopyNode(driver.Latents, driver.ModelOutput, driver.Latents.Bytes);
            var decoder = new CountingPart(new KernelNode(kernels, FrameConversion.Rgb8ToPlanarLaunch(driver.PoseRgb.Address, driver.Frames.Address, config.FramesPerLevel, config.Height, config.Width)));
            driver.SetParts([attention, denoiser], [decoder]);
            eagerDecoder = decoder;
        }

        var cpu = new StreamState(schedule, poseChannels: 1, seed);
        var latentsGraphed = new float[config.Frames * config.LatentFrameElements];
        var latentsEager = new float[latentsGraphed.Length];
        Compare.Identical("starting window", Download(graphed.Latents, latentsGraphed), Download(eager.Latents, latentsEager));
        Compare.Bits("starting window vs StreamState", cpu.Latents, latentsGraphed);
        double worst = 0;
        for (int step = 0; step < steps; step++)
        {
            random.NextBytes(graphed.PoseInput);
            graphed.PoseInput.CopyTo(eager.PoseInput);
            dAttention.Fill(0x7E);
            var a = graphed.Step();
            var b = eager.Step();
            _ = cpu.NewPoseFeatureSlots();
            var c = cpu.Advance(cpu.Latents.ToArray());
            if (a != c || b != c)
                throw new CheckFailedException($"step {step}: outcomes {a} (graph), {b} (eager), {c} (CPU) differ.");
            // Captured at step 3: after the warm-up (2 steps) and after the first emitting step (2, L − 1) has run every
            // part eagerly once, the decoder included (TensorRT contexts must run once before they are captured).
            if (graphed.IsCaptured != step >= 3 || eager.IsCaptured)
                throw new CheckFailedException($"step {step}: captured = {graphed.IsCaptured} (graph, warm-up 2, first emitting step 2), {eager.IsCaptured} (eager).");
            // Clean start: the filler chunks of steps 0 … L−2 are not decoded (the eager decoder ran once per emitting step).
            if (eagerDecoder!.Calls != Math.Max(0, step - (config.Levels - 2)))
                throw new CheckFailedException($"step {step}: the decoder ran {eagerDecoder.Calls} times; filler chunks must not be decoded.");
            if (c.Emit)
            {
                Compare.Identical($"step {step} frames (graph) vs pose images", graphed.PoseInput.ToArray(), graphed.FrameOutput);
                Compare.Identical($"step {step} frames (eager) vs pose images", eager.PoseInput.ToArray(), eager.FrameOutput);
            }
            Compare.Identical($"step {step} latents graph vs eager", Download(graphed.Latents, latentsGraphed), Download(eager.Latents, latentsEager));
            worst = Math.Max(worst, Compare.Close($"step {step} latents vs StreamState", cpu.Latents, latentsGraphed, 1e-5, 1e-5));
            var decodeGpu = new float[cpu.DecodeInput.Length];
            graphed.DecodeInput.Download<float>(decodeGpu);
            worst = Math.Max(worst, Compare.Close($"step {step} decode input vs StreamState", cpu.DecodeInput, decodeGpu, 1e-5, 1e-5));
            var attentionGot = new ushort[count];
            dAttention.Download<ushort>(attentionGot);
            Compare.Close($"step {step} attention node", expectedAttention, KernelChecks.ToFloats(attentionGot), 2e-3, 2e-3);
        }

        return $"step driver: {steps} steps, graph replay (captured at step 3, once every part ran eagerly) bit-identical to eager, filler chunks not decoded, both within {worst:E2} of StreamState; frames = pose images";
    }

    /// <summary>
    /// A part that refuses capture (as a TensorRT engine whose enqueueV3 fails under capture): the driver ends the capture,
    /// says why, and runs every later step uncaptured with the same results as a driver that never captures.
    /// </summary>
    public static string CaptureFallback(CudaDevice device, int steps = 5)
    {
        var config = new StreamConfig { FramesPerLevel = 2, Levels = 3, Height = 64, Width = 128 };
        var schedule = new LcmSchedule(config);
        using var kernels = new CudaKernels(device);
        using var refusing = new CudaStepDriver(device, kernels, new CudaStepOptions(schedule, 9, UseGraph: true, WarmupSteps: 1));
        using var eager = new CudaStepDriver(device, kernels, new CudaStepOptions(schedule, 9, UseGraph: false));
        // Steps 0 and 1 (L = 3: filler chunks) and 2 (the first emitting step, which runs every part once) run eagerly; the
        // fourth enqueue is the capture at step 3.
        var part = new RefusesCall(4, new DeviceCopyNode(refusing.Latents, refusing.ModelOutput, refusing.Latents.Bytes));
        refusing.SetParts([part], [new KernelNode(kernels, FrameConversion.Rgb8ToPlanarLaunch(refusing.PoseRgb.Address, refusing.Frames.Address, config.FramesPerLevel, config.Height, config.Width))]);
        eager.SetParts([new DeviceCopyNode(eager.Latents, eager.ModelOutput, eager.Latents.Bytes)],
            [new KernelNode(kernels, FrameConversion.Rgb8ToPlanarLaunch(eager.PoseRgb.Address, eager.Frames.Address, config.FramesPerLevel, config.Height, config.Width))]);
        var a = new float[config.Frames * config.LatentFrameElements];
        var b = new float[a.Length];
        var random = new Random(3);
        for (int step = 0; step < steps; step++)
        {
            random.NextBytes(refusing.PoseInput);
            refusing.PoseInput.CopyTo(eager.PoseInput);
            if (refusing.Step() != eager.Step())
                throw new CheckFailedException($"step {step}: the outcomes differ.");
            Compare.Identical($"step {step} latents (capture refused) vs eager", Download(refusing.Latents, a), Download(eager.Latents, b));
            if (step >= config.Levels - 1)
                Compare.Identical($"step {step} frames", eager.FrameOutput.ToArray(), refusing.FrameOutput);
        }

        if (refusing.IsCaptured || refusing.CaptureFailure is null || !refusing.CaptureFailure.Contains("refused under capture", StringComparison.Ordinal))
            throw new CheckFailedException($"captured = {refusing.IsCaptured}, failure = '{refusing.CaptureFailure}': expected no graph and the part's reason.");
        if (part.Calls != steps + 1)
            throw new CheckFailedException($"the part was enqueued {part.Calls} times; expected {steps} eager runs and one refused capture.");
        return $"capture fallback: a part refusing capture leaves the step uncaptured ({refusing.CaptureFailure}); {steps} steps identical to eager";
    }

    /// <summary>
    /// The TensorRT I/O of the step: the pose guider's input is the uint8 planar transpose of the pose images, and float32
    /// frames leave as the CPU engine's RGB8 (test parts copy the pose input out and a prepared frame tensor in).
    /// </summary>
    public static string TensorRtIo(CudaDevice device, int steps = 4)
    {
        var config = new StreamConfig { FramesPerLevel = 2, Levels = 3, Height = 64, Width = 128 };
        using var kernels = new CudaKernels(device);
        using var driver = new CudaStepDriver(device, kernels, new CudaStepOptions(new LcmSchedule(config), 5, UseGraph: true, WarmupSteps: 1, Io: StepIo.TensorRt));
        int count = config.FramesPerLevel * config.Height * config.Width * 3;
        if (driver.PoseImages.Bytes != count || driver.Frames.Bytes != count * 4L)
            throw new CheckFailedException($"buffers: pose images {driver.PoseImages.Bytes} bytes (expected {count} uint8), frames {driver.Frames.Bytes} (expected {count * 4L} fp32).");
        var random = new Random(21);
        var frames = Enumerable.Range(0, count).Select(i => i % 7 == 0 ? float.NaN : (random.NextSingle() * 1.4f) - 0.2f).ToArray();
        using var prepared = device.Allocate(count * 4L);
        prepared.Upload<float>(frames);
        using var seenPose = device.Allocate(count);
        driver.SetParts([new DeviceCopyNode(driver.Latents, driver.ModelOutput, driver.Latents.Bytes), new DeviceCopyNode(driver.PoseImages, seenPose, count)],
            [new DeviceCopyNode(prepared, driver.Frames, count * 4L)]);
        var expectedFrames = new byte[count];
        FrameConversion.PlanarToRgb8((ReadOnlySpan<float>)frames, expectedFrames, config.FramesPerLevel, config.Height, config.Width);
        for (int step = 0; step < steps; step++)
        {
            random.NextBytes(driver.PoseInput);
            var outcome = driver.Step();
            var expectedPose = new byte[count];
            FrameConversion.Rgb8ToPlanar(driver.PoseInput, expectedPose, config.FramesPerLevel, config.Height, config.Width);
            var gotPose = new byte[count];
            seenPose.Download<byte>(gotPose);
            Compare.Identical($"step {step} pose guider input (uint8 planar)", expectedPose, gotPose);
            if (outcome.Emit)
                Compare.Identical($"step {step} frames (fp32 → RGB8)", expectedFrames, driver.FrameOutput);
        }

        if (!driver.IsCaptured)
            throw new CheckFailedException("the TensorRT-I/O step was not captured after warm-up.");
        return $"TensorRT I/O: uint8 planar pose images in, fp32 frames out as the CPU engine's RGB8, {steps} steps (graph after the clean start)";
    }

    /// <summary>Test double: a part whose n-th enqueue (the capture) fails as TensorRT's would.</summary>
    private sealed class RefusesCall(int refused, IPartRunner inner) : IPartRunner
    {
        public int Calls { get; private set; }

        public string Name => "refuses capture";

        public void Enqueue(CudaStream stream)
        {
            if (++Calls == refused)
                throw new Rain.Engine.Interop.TensorRt.TrtException("test part: enqueueV3 refused under capture");
            inner.Enqueue(stream);
        }
    }

    /// <summary>Test double: counts the enqueues of a part.</summary>
    private sealed class CountingPart(IPartRunner inner) : IPartRunner
    {
        public int Calls { get; private set; }

        public string Name => inner.Name;

        public void Enqueue(CudaStream stream)
        {
            Calls++;
            inner.Enqueue(stream);
        }
    }

    public static string GraphUpdate(CudaDevice device)
    {
        using var kernels = new CudaKernels(device);
        using var stream = device.CreateStream();
        using var chunk = device.Allocate(sizeof(long));
        using var output = device.Allocate(1000 * 4);
        chunk.Upload<long>([4]);
        var first = Noise.Launch(9, chunk.Address, 0, 1, 0, 1000, output.Address, 0);
        var second = Noise.Launch(9, chunk.Address, 3, 2, 0, 1000, output.Address, 0);
        kernels.Prepare(first);
        using var graph = CudaGraph.Capture(stream, s => kernels.Launch(s, first));
        var got = new float[1000];
        var expected = new float[1000];

        output.Fill32(0x7FC00000);
        graph.Launch(stream);
        stream.Synchronize();
        output.Download<float>(got);
        new CounterNoise(9).Fill(4, 1, 0, expected);
        Compare.Bits("graph replay of noise (chunk 4, level 1)", expected, got);

        chunk.Upload<long>([5]); // read at replay time: the same graph now draws chunk 5
        graph.Launch(stream);
        stream.Synchronize();
        output.Download<float>(got);
        new CounterNoise(9).Fill(5, 1, 0, expected);
        Compare.Bits("graph replay after the device chunk changed", expected, got);

        if (!graph.TryUpdate(stream, s => kernels.Launch(s, second)))
            throw new CheckFailedException("cuGraphExecUpdate refused new arguments for the same topology.");
        graph.Launch(stream);
        stream.Synchronize();
        output.Download<float>(got);
        new CounterNoise(9).Fill(5 + 3, 2, 0, expected);
        Compare.Bits("graph replay after TryUpdate (chunk 5 + 3, level 2)", expected, got);

        if (graph.TryUpdate(stream, s =>
        {
            kernels.Launch(s, first);
            kernels.Launch(s, second);
        }))
        {
            throw new CheckFailedException("cuGraphExecUpdate accepted a graph with a different topology.");
        }

        return "graph: replay reads per-step values from device memory; TryUpdate takes new arguments and refuses a new topology";
    }

    public static string Leaks(CudaDevice device)
    {
        long live = CudaResources.Live, leaked = CudaResources.Leaked;
        long? native = FakeDriverLiveObjects();
        var schedule = new LcmSchedule(new StreamConfig { FramesPerLevel = 2, Levels = 2, Height = 64, Width = 64 });
        using (var kernels = new CudaKernels(device))
        {
            using var driver = new CudaStepDriver(device, kernels, new CudaStepOptions(schedule, 1, UseGraph: true, WarmupSteps: 0));
            driver.SetParts([new DeviceCopyNode(driver.Latents, driver.ModelOutput, driver.Latents.Bytes)], []);
            for (int i = 0; i < 3; i++)
                driver.Step();
            if (CudaResources.Live <= live)
                throw new CheckFailedException($"the live-handle counter did not count the driver's handles ({CudaResources.Live} ≤ {live}).");
            if (!driver.IsCaptured)
                throw new CheckFailedException("the step was not captured at its third step (L = 2: filler, first emitting step, capture).");

            // A capture whose enqueue throws after recording work: the capture is ended and its partial graph destroyed.
            using var stream = device.CreateStream();
            var node = new DeviceCopyNode(driver.Latents, driver.ModelOutput, driver.Latents.Bytes);
            try
            {
                using var never = CudaGraph.Capture(stream, s =>
                {
                    node.Enqueue(s);
                    throw new InvalidOperationException("test: a part failed after the copy was recorded");
                });
                throw new CheckFailedException("CudaGraph.Capture returned although its enqueue threw.");
            }
            catch (InvalidOperationException e) when (e.Message.StartsWith("test: ", StringComparison.Ordinal))
            {
                // The enqueue's own exception comes out.
            }

            stream.Synchronize(); // the stream is usable again
        }

        var buffer = device.Allocate(64);
        buffer.Dispose();
        bool threw = false;
        try
        {
            _ = buffer.Address;
        }
        catch (ObjectDisposedException)
        {
            threw = true;
        }

        if (!threw)
            throw new CheckFailedException("a disposed device buffer still handed out its address.");
        if (CudaResources.Live != live || CudaResources.Leaked != leaked)
            throw new CheckFailedException($"handles: {CudaResources.Live - live} still live and {CudaResources.Leaked - leaked} leaked after disposing everything.");
        // On the fake driver, its own count of live objects (graphs the engine never adopted included) must be back too.
        if (native is long before && FakeDriverLiveObjects() is long after && after != before)
            throw new CheckFailedException($"the fake CUDA driver holds {after - before} more objects than before (a graph of a failed capture not destroyed?).");
        return "handles: every buffer, stream, module and graph released on dispose, also after a failed capture (live and leaked counters back to their start" +
            (native is null ? ")" : "; the fake driver's own object count too)");
    }

    /// <summary>The fake CUDA driver's count of live objects (its test hook), or null on a real driver.</summary>
    private static unsafe long? FakeDriverLiveObjects()
    {
        var driver = Rain.Engine.Interop.NativeLibraries.Load(Rain.Engine.Interop.NativeLibraries.Cuda);
        return driver.Loaded && System.Runtime.InteropServices.NativeLibrary.TryGetExport(driver.Handle, "fake_cuda_live_objects", out nint hook)
            ? ((delegate* unmanaged<long>)hook)()
            : null;
    }

    /// <summary>
    /// The device's primary context was retained with blocking synchronisation, so a thread waiting for a step sleeps
    /// instead of spinning a core for the whole step (read back from the driver's primary-context state).
    /// </summary>
    public static string HostWait(CudaDevice device)
    {
        if (device.HostWait != "blocking sync")
            throw new CheckFailedException($"the primary context's scheduling is '{device.HostWait}', expected blocking sync (CU_CTX_SCHED_BLOCKING_SYNC).");
        return $"host waits: {device.HostWait} (CU_CTX_SCHED_BLOCKING_SYNC read back from the primary context)";
    }

    private static float[] Download(DeviceBuffer buffer, float[] destination)
    {
        buffer.Download<float>(destination);
        return destination;
    }
}

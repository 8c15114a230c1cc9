using Rain.Engine.Api;
using Rain.Engine.Interop;
using Rain.Engine.Streaming;
using Rain.Kernels;

namespace Rain.Engine.Backends.Cuda;

/// <summary>Options of <see cref="CudaStepDriver"/>.</summary>
/// <param name="Schedule">The stream window and its LCM coefficients.</param>
/// <param name="Seed">Seed of the counter-based noise (the same numbers as the CPU's <see cref="CounterNoise"/>).</param>
/// <param name="UseGraph">Capture the step into a CUDA graph after the warm-up steps and replay it; false runs every
/// step eagerly (the kill switch; the environment variable <c>RAIN_CUDA_GRAPHS=0</c> forces it too).</param>
/// <param name="WarmupSteps">Eager steps before capture (lazy module loading and first-launch work happen there). Capture
/// also waits until every part, the decoder's included, has run eagerly once (see <see cref="CudaStepDriver.Step"/>).</param>
/// <param name="Io">How the networks take pose images and give frames.</param>
internal sealed record CudaStepOptions(LcmSchedule Schedule, ulong Seed, bool UseGraph = true, int WarmupSteps = 1, StepIo Io = StepIo.Fp16Planar);

/// <summary>The element types of the pose images the networks read and the frames they write (both planar <c>[p, 3, H, W]</c>).</summary>
internal enum StepIo
{
    /// <summary>fp16 pose images in [0, 1] and fp16 frames (our own networks).</summary>
    Fp16Planar,

    /// <summary>uint8 pose images (0…255) and float32 frames: the I/O of TensorRT engines built from the float32 bundle.</summary>
    TensorRt,
}

/// <summary>
/// The GPU step of the stream: device buffers allocated once (stable addresses), the step's nodes enqueued on one
/// stream, captured into one CUDA graph after warm-up and replayed. Per step the host writes p pose images into
/// <see cref="PoseInput"/> (pinned) and reads p frames from <see cref="FrameOutput"/> (pinned); nothing else crosses
/// the bus. The networks are <see cref="IPartRunner"/>s supplied by <see cref="SetParts"/>.
/// </summary>
/// <remarks>
/// <para>A step, in order: step index (pinned → device), pose images (pinned → device), RGB8 → fp16 planar
/// (<see cref="PoseImages"/>), the denoiser parts (read <see cref="Latents"/> and <see cref="PoseImages"/>, write
/// <see cref="ModelOutput"/>), the noise of every re-noised level and of the next chunk (read from the device step
/// index, so one graph serves every step), <c>lcm_step_roll</c> into the back window, back window → <see cref="Latents"/>,
/// from step L−1 on (clean start) the decoder parts (read <see cref="DecodeInput"/>, write <see cref="Frames"/>), fp16 planar → RGB8, frames
/// (device → pinned). Noise streams and the starting window follow <see cref="StreamState"/> exactly, so the CPU
/// stream state is this driver's oracle.</para>
/// <para>Not thread-safe. Dispose before the device and the kernels.</para>
/// </remarks>
internal sealed class CudaStepDriver : IDisposable
{
    private readonly CudaKernels _kernels;
    private readonly CudaStepOptions _options;
    private readonly CudaStream _stream;
    private readonly Owned _owned = new();
    private readonly DeviceBuffer _nextLatents, _noise, _newNoise, _coefficients, _stepIndex, _poseRgb, _framesRgb;
    private readonly PinnedBuffer _poseStaging, _frameStaging, _stepStaging;
    private readonly bool _useGraph;
    private readonly KernelLaunch _poseToPlanar, _stepRoll, _framesToRgb, _newNoiseLaunch;
    private readonly KernelLaunch[] _renoise;
    private IPartRunner[] _denoiser = [];
    private IPartRunner[] _decoder = [];
    private CudaGraph? _graph;
    private string? _captureFailure;
    private bool _partsWarm;

    /// <summary>Allocates every buffer and fills the starting window (<see cref="Reset"/>).</summary>
    public CudaStepDriver(CudaDevice device, CudaKernels kernels, CudaStepOptions options)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(kernels);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.WarmupSteps, 0);
        _kernels = kernels;
        _options = options;
        _useGraph = options.UseGraph && EngineOptions.CudaGraphsAllowed;
        var c = options.Schedule.Config;
        (ImageHeight, ImageWidth) = (c.Height, c.Width);
        long latentBytes = (long)c.Frames * c.LatentFrameElements * sizeof(float);
        long chunkBytes = (long)c.FramesPerLevel * c.LatentFrameElements * sizeof(float);
        long imageBytes = (long)c.FramesPerLevel * c.Height * c.Width * 3;

        using (var built = new Owned(this))
        {
            _stream = Own(device.CreateStream());
            Profiler = Own(new StepProfiler(device, Interop.NvtxTool.Current));
            Latents = Own(device.Allocate(latentBytes));
            _nextLatents = Own(device.Allocate(latentBytes));
            ModelOutput = Own(device.Allocate(latentBytes));
            _noise = Own(device.Allocate(latentBytes));
            _newNoise = Own(device.Allocate(chunkBytes));
            DecodeInput = Own(device.Allocate(chunkBytes));
            _coefficients = Own(device.Allocate((long)c.Frames * LcmStepRoll.CoefficientsPerFrame * sizeof(float)));
            _stepIndex = Own(device.Allocate(sizeof(long)));
            _poseRgb = Own(device.Allocate(imageBytes));
            bool trt = options.Io == StepIo.TensorRt;
            PoseImages = Own(device.Allocate(trt ? imageBytes : imageBytes * sizeof(ushort)));
            Frames = Own(device.Allocate(imageBytes * (trt ? sizeof(float) : sizeof(ushort))));
            _framesRgb = Own(device.Allocate(imageBytes));
            _poseStaging = Own(device.AllocatePinned(imageBytes));
            _frameStaging = Own(device.AllocatePinned(imageBytes));
            _stepStaging = Own(device.AllocatePinned(sizeof(long)));

            int p = c.FramesPerLevel, levels = c.Levels, e = c.LatentFrameElements, chunkElements = p * e;
            // Every launch of the step is fixed (stable addresses, per-step values read from device memory), so it is
            // described and validated once, here.
            _poseToPlanar = trt ? FrameConversion.Rgb8ToPlanarU8Launch(_poseRgb.Address, PoseImages.Address, p, c.Height, c.Width)
                : FrameConversion.Rgb8ToPlanarLaunch(_poseRgb.Address, PoseImages.Address, p, c.Height, c.Width);
            // Re-noising of level ℓ ≥ 1 uses stream (chunk at ℓ, ℓ−1); the next chunk's starting noise is (step + 1, L−1).
            _renoise = [.. Enumerable.Range(1, levels - 1).Select(level => Noise.Launch(options.Seed, _stepIndex.Address, -(levels - 1 - level), level - 1, 0, chunkElements,
                _noise.At<float>((long)level * chunkElements), 0))];
            _newNoiseLaunch = Noise.Launch(options.Seed, _stepIndex.Address, 1, levels - 1, 0, chunkElements, _newNoise.Address, 0);
            _stepRoll = LcmStepRoll.Launch(ModelOutput.Address, Latents.Address, _noise.Address, _newNoise.Address,
                _nextLatents.Address, DecodeInput.Address, _coefficients.Address, c.Frames, p, e);
            _framesToRgb = trt ? FrameConversion.PlanarF32ToRgb8Launch(Frames.Address, _framesRgb.Address, p, c.Height, c.Width)
                : FrameConversion.PlanarToRgb8Launch(Frames.Address, _framesRgb.Address, p, c.Height, c.Width);
            foreach (var launch in new[] { _poseToPlanar, _newNoiseLaunch, _stepRoll, _framesToRgb })
                kernels.Prepare(launch);
            var s = options.Schedule;
            _coefficients.Upload<float>(LcmStepRoll.PackCoefficients(s.SqrtAlphaProd, s.SqrtOneMinusAlphaProd, s.COut, s.CSkip, s.SqrtAlphaProdPrev, s.SqrtOneMinusAlphaProdPrev));
            Reset();
            built.Commit();
        }
    }

    /// <summary>Whether the step is to be captured (the option, unless <c>RAIN_CUDA_GRAPHS=0</c> turned it off).</summary>
    public bool UsesGraph => _useGraph;

    /// <summary>Bytes of the driver's device buffers (windows, noise, pose images, frames; not the pinned staging).</summary>
    public long BufferBytes => _owned.Items.OfType<DeviceBuffer>().Sum(b => b.Bytes);

    /// <summary>Image height of pose images and frames (the stream configuration's).</summary>
    public int ImageHeight { get; }

    /// <summary>Image width of pose images and frames (the stream configuration's).</summary>
    public int ImageWidth { get; }

    /// <summary>The latent window <c>[F, 4, h, w]</c> fp32 the denoiser reads (cleanest level first).</summary>
    public DeviceBuffer Latents { get; }

    /// <summary>The denoiser's output v̂ <c>[F, 4, h, w]</c> fp32.</summary>
    public DeviceBuffer ModelOutput { get; }

    /// <summary>The newest pose images <c>[p, 3, H, W]</c> (the pose guider's input): fp16 in [0, 1], or uint8 with <see cref="StepIo.TensorRt"/>.</summary>
    public DeviceBuffer PoseImages { get; }

    /// <summary>The denoised latents of the chunk leaving the window, <c>[p, 4, h, w]</c> fp32 (the decoder's input).</summary>
    public DeviceBuffer DecodeInput { get; }

    /// <summary>The newest pose images as uploaded, RGB8 <c>[p, H, W, 3]</c> (tests build echo decoders from it).</summary>
    internal DeviceBuffer PoseRgb => _poseRgb;

    /// <summary>The decoded frames <c>[p, 3, H, W]</c>, fp16 or (with <see cref="StepIo.TensorRt"/>) float32 (the decoder's output; values outside [0, 1] are clamped).</summary>
    public DeviceBuffer Frames { get; }

    /// <summary>The pinned staging of the next step's p pose images, RGB8 <c>[p, H, W, 3]</c>: write before <see cref="Step"/>.</summary>
    public Span<byte> PoseInput => _poseStaging.AsSpan<byte>();

    /// <summary>The pinned staging of the last step's p frames, RGB8 <c>[p, H, W, 3]</c>: valid after <see cref="Step"/> returns.</summary>
    public ReadOnlySpan<byte> FrameOutput => _frameStaging.AsSpan<byte>();

    /// <summary>Steps completed since the start.</summary>
    public long StepIndex { get; private set; }

    /// <summary>NVTX ranges and, when tracing uncaptured steps, per-part CUDA event timing (see <see cref="StepProfiler"/>).</summary>
    internal StepProfiler Profiler { get; }

    /// <summary>Whether the step now replays a captured graph.</summary>
    public bool IsCaptured => _graph is not null;

    /// <summary>
    /// Why the step could not be captured, or null: when a part refuses to be captured (a TensorRT engine whose
    /// <c>enqueueV3</c> fails under capture, or a driver error during capture), the capture is ended and the step runs
    /// uncaptured from then on, as trtexec does; this says why. <see cref="SetParts"/> clears it and tries again.
    /// </summary>
    public string? CaptureFailure => _captureFailure;

    /// <summary>
    /// Sets the network parts: <paramref name="denoiser"/> runs after the pose conversion and must write
    /// <see cref="ModelOutput"/>; <paramref name="decoder"/> runs after the LCM step and must write <see cref="Frames"/>.
    /// Drops a captured graph (the next step after warm-up captures again).
    /// </summary>
    public void SetParts(IEnumerable<IPartRunner> denoiser, IEnumerable<IPartRunner> decoder)
    {
        ArgumentNullException.ThrowIfNull(denoiser);
        ArgumentNullException.ThrowIfNull(decoder);
        _denoiser = [.. denoiser];
        _decoder = [.. decoder];
        _graph?.Dispose();
        _graph = null;
        _captureFailure = null;
        _partsWarm = false;
    }

    /// <summary>
    /// Restarts the stream: step 0 and the starting window of <see cref="StreamState"/> (level ℓ holds chunk −(L−1−ℓ)'s
    /// noise stream ℓ; level L−1 chunk 0's starting noise). Synchronous.
    /// </summary>
    public void Reset()
    {
        var c = _options.Schedule.Config;
        int chunkElements = c.FramesPerLevel * c.LatentFrameElements;
        _stepIndex.Upload<long>([0L]);
        for (int level = 0; level < c.Levels; level++)
        {
            _kernels.Launch(_stream, Noise.Launch(_options.Seed, _stepIndex.Address, -(c.Levels - 1 - level), level, 0, chunkElements,
                Latents.At<float>((long)level * chunkElements), 0));
        }

        _stream.Synchronize();
        StepIndex = 0;
    }

    /// <summary>
    /// Runs one step: consumes <see cref="PoseInput"/>, advances the window and, from step L−1 on, decodes the chunk
    /// leaving it into <see cref="FrameOutput"/> (the first L−1 steps decode nothing: their chunks are filler). Blocks
    /// until the frames are on the host (the only synchronisation of the step).
    /// </summary>
    /// <remarks>
    /// The step is captured into a graph at the first emitting step after <see cref="CudaStepOptions.WarmupSteps"/> at
    /// which every part has already run once eagerly: the decoder never runs in the filler steps, so the first emitting
    /// step runs eagerly and the next one is captured (step L with RAIN's clean start). TensorRT asks for exactly this — an
    /// execution context initialises itself at its first enqueue, which cannot be captured.
    /// </remarks>
    /// <returns>Which chunk was decoded and whether its frames are real (filler chunks of the start are not).</returns>
    public StepOutcome Step()
    {
        _stepStaging.AsSpan<long>()[0] = StepIndex;
        long step = StepIndex;
        long decoded = step - (_options.Schedule.Config.Levels - 1);
        bool emit = decoded >= 0;
        bool capturedNow = false;
        Profiler.BeginStep(step);
        // Clean start (as the CPU engine): the filler chunks of the first L−1 steps are never decoded, so the first real
        // chunk meets the decoder's initial memories; those steps run uncaptured and the graph, which always decodes,
        // is captured once every part has run eagerly.
        if (emit && _partsWarm && _useGraph && _graph is null && _captureFailure is null && step >= _options.WarmupSteps)
        {
            try
            {
                _graph = CudaGraph.Capture(_stream, s => Enqueue(s, decode: true, capturing: true));
                capturedNow = true;
            }
            catch (Exception e) when (e is CudaException or Interop.TensorRt.TrtException)
            {
                // Nothing ran during the capture (it was ended and its partial graph destroyed), so the step runs eagerly
                // below; a real error shows there again, with this one attached.
                _captureFailure = $"{e.GetType().Name}: {e.Message}";
            }
        }

        if (_graph is not null)
        {
            _graph.Launch(_stream);
        }
        else
        {
            try
            {
                Enqueue(_stream, emit, capturing: false);
            }
            catch (Exception e) when (_captureFailure is not null && e is CudaException or Interop.TensorRt.TrtException)
            {
                throw new CudaException($"Step {step} failed eagerly after its CUDA graph capture had failed ({_captureFailure}): {e.Message}", e);
            }
        }

        _stream.Synchronize();
        Profiler.EndStep();
        _partsWarm |= emit && !capturedNow; // an eager step that decoded ran every part once
        StepIndex = step + 1;
        return new StepOutcome(step, decoded, emit);
    }

    /// <summary>Frees the graph, the buffers and the stream.</summary>
    public void Dispose()
    {
        _graph?.Dispose();
        _graph = null;
        _owned.DisposeAll();
    }

    private void Enqueue(CudaStream stream, bool decode, bool capturing)
    {
        Profiler.BeginEnqueue(capturing);
        stream.CopyToDevice(_stepStaging, 0, _stepIndex, 0, sizeof(long));
        stream.CopyToDevice(_poseStaging, 0, _poseRgb, 0, _poseRgb.Bytes);
        _kernels.Launch(stream, _poseToPlanar);
        foreach (var part in _denoiser)
        {
            Profiler.Before(stream, part);
            part.Enqueue(stream);
            Profiler.After(stream);
        }

        foreach (var launch in _renoise)
            _kernels.Launch(stream, launch);
        _kernels.Launch(stream, _newNoiseLaunch);
        _kernels.Launch(stream, _stepRoll);
        stream.Copy(_nextLatents, 0, Latents, 0, Latents.Bytes);
        if (!decode)
        {
            Profiler.EndEnqueue(stream);
            return;
        }

        foreach (var part in _decoder)
        {
            Profiler.Before(stream, part);
            part.Enqueue(stream);
            Profiler.After(stream);
        }

        _kernels.Launch(stream, _framesToRgb);
        stream.CopyToHost(_framesRgb, 0, _frameStaging, 0, _framesRgb.Bytes);
        Profiler.EndEnqueue(stream);
    }

    private T Own<T>(T resource)
        where T : IDisposable => _owned.Own(resource);
}

using Rain.Engine.Diagnostics;

namespace Rain.Engine.Api;

/// <summary>Where the engine runs the networks.</summary>
public enum EngineBackend
{
    /// <summary>ONNX Runtime's CPU provider, float32: the embedded default.</summary>
    Cpu = 0,

    // 1 was "Cuda" (our kernels without TensorRT), never a backend of its own; the value stays unused so TensorRt keeps 2.

    /// <summary>
    /// TensorRT engines (the bundle's prebuilt plans, <c>onnx2trt</c>) on an NVIDIA GPU. Selecting it checks TensorRT, the
    /// GPU and the plans before any work and throws <see cref="BackendUnavailableException"/> naming what is missing; it
    /// never falls back to the CPU.
    /// </summary>
    TensorRt = 2,
}

/// <summary>
/// How an engine runs. Immutable; every value is checked when it is set, so an invalid configuration never reaches the
/// backend (an <see cref="ArgumentOutOfRangeException"/> names the option and what is allowed).
/// </summary>
public sealed record EngineOptions
{
    private readonly int _threads;
    private readonly int _device;
    private readonly int _inputCapacity = 64;
    private readonly int _outputCapacity = 64;
    private readonly TimeSpan _stepTimeout = Timeout.InfiniteTimeSpan;
    private readonly EngineBackend _backend = EngineBackend.Cpu;

    /// <summary>The backend (see <see cref="EngineBackend"/> for what each needs).</summary>
    public EngineBackend Backend
    {
        get => _backend;
        init => _backend = value is EngineBackend.Cpu or EngineBackend.TensorRt ? value : throw new ArgumentOutOfRangeException(nameof(Backend), value, "Backend must be Cpu or TensorRt.");
    }

    /// <summary>For <see cref="EngineBackend.TensorRt"/>: the folder holding libnvinfer; null looks at RAIN_TENSORRT_DIR, RAIN_CUDA_LIBRARY_DIRS, then the loader path.</summary>
    public string? TensorRtDirectory { get; init; }

    /// <summary>
    /// GPU backends: the CUDA device ordinal (as <c>nvidia-smi</c> and <c>CUDA_VISIBLE_DEVICES</c> number them), 0 by
    /// default. A device that does not exist is reported by <see cref="RainEngine.Load(string, EngineOptions?)"/> with the
    /// number of devices the driver sees.
    /// </summary>
    public int Device
    {
        get => _device;
        init => _device = value is >= 0 and <= 1023 ? value : throw new ArgumentOutOfRangeException(nameof(Device), value, "Device must be a CUDA device ordinal, 0 to 1023.");
    }

    /// <summary>Seed of the counter-based noise: the same seed, bundle and poses give the same frames.</summary>
    public ulong Seed { get; init; }

    /// <summary>ONNX Runtime intra-op threads; 0 lets ONNX Runtime use every core.</summary>
    public int Threads
    {
        get => _threads;
        init => _threads = value is >= 0 and <= 1024 ? value : throw new ArgumentOutOfRangeException(nameof(Threads), value, "Threads must be 0 (all cores) to 1024.");
    }

    /// <summary>Pose images a session queues before <see cref="AnimationSession.TryPushPose"/> reports full (at least 1; a session queues at least p, one step's worth).</summary>
    public int InputCapacity
    {
        get => _inputCapacity;
        init => _inputCapacity = value is >= 1 and <= 1 << 16 ? value : throw new ArgumentOutOfRangeException(nameof(InputCapacity), value, "InputCapacity must be 1 to 65536 pose images.");
    }

    /// <summary>Output frames a session queues before its step loop waits for the reader (at least 1).</summary>
    public int OutputCapacity
    {
        get => _outputCapacity;
        init => _outputCapacity = value is >= 1 and <= 1 << 16 ? value : throw new ArgumentOutOfRangeException(nameof(OutputCapacity), value, "OutputCapacity must be 1 to 65536 frames.");
    }

    /// <summary>For live input: when the pose queue is full, the oldest pending pose is dropped for the new one (counted in <see cref="SessionStatistics.DroppedPoses"/>).</summary>
    public bool LatestFrameWins { get; init; }

    /// <summary>Check every bundle file's sha256 on load (reads each byte once).</summary>
    public bool VerifyBundleHashes { get; init; } = true;

    /// <summary>
    /// GPU backends: capture each step into one CUDA graph after a warm-up step and replay it (one launch per step). Off
    /// enqueues every part and kernel separately each step — slower on the host, but each shows as its own range in
    /// Nsight Systems. The environment variable <c>RAIN_CUDA_GRAPHS=0</c> turns capture off as well.
    /// </summary>
    public bool UseCudaGraph { get; init; } = true;

    /// <summary>
    /// False when the environment variable <c>RAIN_CUDA_GRAPHS</c> is <c>0</c>: no step is captured, whatever
    /// <see cref="UseCudaGraph"/> or <c>CudaStepOptions.UseGraph</c> say (the one place the variable is read).
    /// </summary>
    internal static bool CudaGraphsAllowed => Environment.GetEnvironmentVariable("RAIN_CUDA_GRAPHS") != "0";

    /// <summary>
    /// Check every step's tensors for NaN and ±∞ (the UNet's output over the window and the decoded frames; one vectorised
    /// pass each, a fraction of a percent of the step) and fault the session, naming the step, chunk and stage, instead of
    /// writing garbage frames. On by default; <c>rain bench --no-numeric-check</c> turns it off to time the bare step.
    /// </summary>
    public bool CheckNumerics { get; init; } = true;

    /// <summary>
    /// Longest a single step may run before the session gives up on it (faults with a <see cref="TimeoutException"/> as the
    /// cause, noticed by a waiting reader or pusher). <see cref="Timeout.InfiniteTimeSpan"/> (the default) waits forever.
    /// A hung step cannot be interrupted; its engine refuses further sessions.
    /// </summary>
    public TimeSpan StepTimeout
    {
        get => _stepTimeout;
        init => _stepTimeout = value == Timeout.InfiniteTimeSpan || (value > TimeSpan.Zero && value <= TimeSpan.FromDays(1))
            ? value
            : throw new ArgumentOutOfRangeException(nameof(StepTimeout), value, "StepTimeout must be positive and at most a day, or Timeout.InfiniteTimeSpan.");
    }

    /// <summary>
    /// Where sessions record their timeline (every stage of every step, the UNet's parts, each frame's path from pose in
    /// to frame out, queue depths); null, the default, records nothing and costs nothing. The writer is the host's: it
    /// may be shared by engines, written (<see cref="TraceWriter.Save"/>) at any time, and outlives the engine. A GPU
    /// backend with <see cref="UseCudaGraph"/> off also times each part on the device with CUDA events.
    /// </summary>
    public TraceWriter? Trace { get; init; }

    /// <summary>Share the cross-noise attention between the step thread and worker threads created once (one per further core, or per further <see cref="Threads"/>); off = the step thread only. Neither allocates per step.</summary>
    public bool ParallelAttention { get; init; } = true;

    /// <summary>
    /// How camera frames become pose images (<see cref="RainEngine.PoseFrontEnd"/>); null: RAIN's live app — centre crop
    /// 0.9, damping 1, RAIN's 13 live translations — at the bundle's image size (a size is refused unless it is the bundle's).
    /// </summary>
    public Pose.PoseFrontEndOptions? PoseOptions { get; init; }

    /// <summary>
    /// Give every <see cref="AnimatedFrame"/> a copy of the pose image it was animated from (<see cref="AnimatedFrame.Pose"/>):
    /// for previews and side-by-side recordings. Costs a copy per pose and one pose buffer per pooled frame; off by default.
    /// </summary>
    public bool AttachPoseImages { get; init; }

    /// <summary>
    /// CPU backend: keep the networks that run once per reference (CLIP vision, the VAE encoder, the ReferenceNet) loaded
    /// between references. Off (the default), they are loaded for a reference change, run, and released — their outputs
    /// (the CLIP embedding and the ReferenceNet taps) are all a stream needs — and the UNet is released while they run, so
    /// the two are never in memory together: peak memory is the larger of the two instead of their sum, and a reference
    /// change costs loading both again (seconds at RAIN's widths). On, every network stays loaded for the engine's life:
    /// reference changes are fast, memory is the sum.
    /// </summary>
    public bool KeepReferenceNetworks { get; init; }

    /// <summary>
    /// CPU backend: let ONNX Runtime pre-pack constant weights (MatMul, Gemm, Conv) into its own layouts when a part is
    /// loaded. On (the default) the step is faster but ONNX Runtime holds a packed copy of those weights; off, the weights
    /// are held once and every run reads them unpacked. <c>rain bench</c> measures both (<c>--no-prepack</c>).
    /// </summary>
    public bool PrepackWeights { get; init; } = true;
}

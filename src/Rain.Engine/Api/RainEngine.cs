using Rain.Engine.Backends;
using Rain.Engine.Backends.Cpu;
using Rain.Engine.Backends.Cuda;
using Rain.Engine.Backends.TensorRt;
using Rain.Engine.Bundle;
using Rain.Engine.Media;
using Rain.Engine.Pose;

namespace Rain.Engine.Api;

/// <summary>
/// The engine: a validated model bundle loaded on a backend (every network part loaded once — an ONNX Runtime session on
/// the CPU, a deserialized TensorRT engine on the GPU — and every buffer allocated once). Create an <see cref="AnimationSession"/> per reference image. An engine runs one session at a time;
/// its members are thread-safe, the session has its own threading rules. Dispose the engine after its session.
/// </summary>
/// <example>
/// <code>
/// using var engine = RainEngine.Load("bundle", new EngineOptions { Seed = 7 });
/// using var session = engine.CreateSession(ImageCodec.Load("character.png"));
/// session.PushPose(pose);                       // p poses make one step
/// using var frame = session.ReadFrame();        // frames come out in order, the first after L−1 steps
/// </code>
/// </example>
public sealed class RainEngine : IDisposable
{
    private readonly IStreamBackend _backend;
    private readonly Lock _lock = new();
    private AnimationSession? _active;
    private PoseFrontEnd? _pose;
    private bool _disposed, _abandoned;

    private RainEngine(ModelBundle bundle, EngineOptions options, IStreamBackend backend)
    {
        Bundle = bundle;
        Options = options;
        _backend = backend;
    }

    /// <summary>The loaded bundle.</summary>
    public ModelBundle Bundle { get; }

    /// <summary>The options the engine was loaded with.</summary>
    public EngineOptions Options { get; }

    /// <summary>Width of pose images and frames.</summary>
    public int Width => Bundle.Manifest.Width;

    /// <summary>Height of pose images and frames.</summary>
    public int Height => Bundle.Manifest.Height;

    /// <summary>p: poses per step, frames out per step.</summary>
    public int FramesPerStep => Bundle.Manifest.FramesPerLevel;

    /// <summary>Steps before the first frame comes out: L − 1 (the first chunk passes every noise level first).</summary>
    public int StartupSteps => Bundle.Manifest.Levels - 1;

    /// <summary>Bytes of the buffers the backend holds (activations, inputs, outputs; not the weights). On a GPU backend, device memory.</summary>
    public long BufferBytes => _backend.BufferBytes;

    /// <summary>
    /// What runs where, in words, for logs and reports: the backend, its library version, precision and device; on a GPU also
    /// whether the step replays a captured CUDA graph (known after the session's first emitting step, with the reason if
    /// capture failed and the step runs part by part).
    /// </summary>
    public string BackendDescription => _backend.Description;

    /// <summary>The backend (the GPU checks read its state).</summary>
    internal IStreamBackend Backend => _backend;

    /// <summary>Loads and validates a bundle and creates the backend.</summary>
    /// <param name="bundlePath">Bundle folder written by <c>rain export</c>.</param>
    /// <param name="options">Engine options (defaults when null).</param>
    /// <exception cref="BundleException">The bundle is missing, altered, of another version, or a part breaks its contract.</exception>
    /// <exception cref="BackendUnavailableException">The backend asked for cannot run here: TensorRT, the GPU or the bundle's current plans are
    /// missing (checked before any work), or a plan or kernel refused to load on this GPU (the cause is the inner exception).</exception>
    public static RainEngine Load(string bundlePath, EngineOptions? options = null) => Load(bundlePath, options, null);

    /// <summary><see cref="Load(string, EngineOptions?)"/> with the GPU probe supplied (tests); null probes <see cref="EngineOptions.Device"/>.</summary>
    internal static RainEngine Load(string bundlePath, EngineOptions? options, Func<CudaCapability>? probeGpu)
    {
        options ??= new EngineOptions();
        var (bundle, backend) = CreateBackend(bundlePath, options, probeGpu);
        return new RainEngine(bundle, options, backend);
    }

    /// <summary>An engine over a backend made elsewhere (tests wrap a real backend to inject faults).</summary>
    internal static RainEngine Create(ModelBundle bundle, EngineOptions options, IStreamBackend backend) => new(bundle, options, backend);

    /// <summary>Loads the bundle and makes the backend <paramref name="options"/> asks for (the bench drives it directly).</summary>
    internal static (ModelBundle Bundle, IStreamBackend Backend) CreateBackend(string bundlePath, EngineOptions options, Func<CudaCapability>? probeGpu = null)
    {
        probeGpu ??= () => CudaDevice.Probe(options.Device);
        switch (options.Backend)
        {
            case EngineBackend.Cpu:
            {
                var bundle = ModelBundle.Load(bundlePath, options.VerifyBundleHashes);
                return (bundle, new CpuBackend(bundle, options));
            }

            case EngineBackend.TensorRt:
            {
                // TensorRT and the GPU are probed before the bundle is read: a machine without them fails at once.
                var (library, gpu) = TrtBackendProbe.ProbeRuntime(options.TensorRtDirectory, probeGpu);
                var bundle = ModelBundle.Load(bundlePath, options.VerifyBundleHashes);
                var target = TrtBackendProbe.LocatePlans(bundle, library, gpu, options.VerifyBundleHashes);
                try
                {
                    return (bundle, new TrtBackend(target, options));
                }
                catch (Exception e) when (RainException.CategoryOf(e) == RainErrorCategory.DeviceFault)
                {
                    // E.g. a plan TensorRT refuses to deserialize, a contract mismatch, kernels that cannot load on this GPU.
                    throw new BackendUnavailableException($"The TensorRT backend could not start on {gpu.DeviceName} with TensorRT {library.VersionText} " +
                        $"and the plans in {target.PlanFolder}: {e.Message} Nothing was loaded.", e);
                }
            }

            default:
                throw new System.Diagnostics.UnreachableException($"EngineOptions let through backend {options.Backend}.");
        }
    }

    /// <summary>
    /// Fuses <paramref name="reference"/> (CLIP, VAE encoder and ReferenceNet run once) and starts a stream for it. The
    /// image may be any size; it is resized as RAIN's processors do. Only one session may be open at a time.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another session of this engine is still open, or the engine is disposed.</exception>
    /// <exception cref="SessionFaultedException">A step of the previous session hung (<see cref="EngineOptions.StepTimeout"/>); the engine cannot run another.</exception>
    public AnimationSession CreateSession(RgbImage reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_abandoned)
                throw new SessionFaultedException("A step of this engine's previous session never returned (it outlived EngineOptions.StepTimeout) and still holds the engine's buffers; load a new engine.");
            if (_active is not null)
                throw new InvalidOperationException("This engine already runs a session; dispose it before creating another (one stream per engine).");
            _active = new AnimationSession(this, _backend.Start(reference, new StageTimings()), Options);
            return _active;
        }
    }

    /// <summary>True when the bundle carries RAIN's pose models, so sessions take camera frames (<see cref="AnimationSession.PushCameraFrame(ReadOnlySpan{byte}, int, int, int, long, CancellationToken)"/>).</summary>
    public bool HasPoseModels => Bundle.Manifest.PoseModels is not null;

    /// <summary>
    /// The bundle's pose front end, which turns camera frames into pose images for this engine's sessions: loaded on first
    /// use (call it once up front to keep the model load out of the first camera frame's latency), with
    /// <see cref="EngineOptions.PoseOptions"/> (default: RAIN's live app at the bundle's image size). Sessions run it on
    /// their own pose thread; use it directly only while no session takes camera frames.
    /// </summary>
    /// <exception cref="BundleException">The bundle has no pose models (the message says how to add them).</exception>
    /// <exception cref="ArgumentException"><see cref="EngineOptions.PoseOptions"/> has another size than the bundle's images.</exception>
    public PoseFrontEnd PoseFrontEnd
    {
        get
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_pose is not null)
                    return _pose;
                var options = Options.PoseOptions ?? new PoseFrontEndOptions { Width = Width, Height = Height };
                if (options.Width != Width || options.Height != Height)
                    throw new ArgumentException($"EngineOptions.PoseOptions makes {options.Width}x{options.Height} pose images; this bundle animates {Width}x{Height}.");
                _pose = PoseFrontEnd.Load(Bundle, options);
                return _pose;
            }
        }
    }

    /// <summary>Releases the sessions, buffers and native resources. Disposes an open session first.</summary>
    public void Dispose()
    {
        AnimationSession? active;
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            active = _active;
        }

        active?.Dispose();
        _pose?.Dispose();

        // A hung step may still be inside the backend: freeing its native buffers under it could crash the process.
        if (!_abandoned)
            _backend.Dispose();
    }

    /// <summary>The session's step never returned: keep the backend (its step still uses it) and refuse new sessions.</summary>
    internal void Abandon(AnimationSession session)
    {
        lock (_lock)
        {
            if (_active == session)
                _abandoned = true;
        }
    }

    internal void Release(AnimationSession session)
    {
        lock (_lock)
        {
            if (_active == session)
                _active = null;
        }
    }
}

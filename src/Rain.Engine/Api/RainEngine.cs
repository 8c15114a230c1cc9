using Rain.Engine.Backends.Cpu;
using Rain.Engine.Backends.Cuda;
using Rain.Engine.Backends.TensorRt;
using Rain.Engine.Bundle;
using Rain.Engine.Media;

namespace Rain.Engine.Api;

/// <summary>
/// The engine: a validated model bundle loaded on a backend (one ONNX Runtime session per network part, every buffer
/// allocated once). Create an <see cref="AnimationSession"/> per reference image. An engine runs one session at a time;
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
    private readonly CpuPipeline _pipeline;
    private readonly Lock _lock = new();
    private AnimationSession? _active;
    private bool _disposed;

    private RainEngine(ModelBundle bundle, EngineOptions options, CpuPipeline pipeline)
    {
        Bundle = bundle;
        Options = options;
        _pipeline = pipeline;
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

    /// <summary>Bytes of the buffers the backend holds (activations, inputs, outputs; not the weights).</summary>
    public long BufferBytes => _pipeline.BufferBytes;

    /// <summary>Loads and validates a bundle and creates the backend.</summary>
    /// <param name="bundlePath">Bundle folder written by <c>rain export</c>.</param>
    /// <param name="options">Engine options (defaults when null).</param>
    /// <exception cref="BundleException">The bundle is missing, altered, of another version, or a part breaks its contract.</exception>
    /// <exception cref="BackendUnavailableException">The backend asked for cannot run here (TensorRT, the GPU or the bundle's plans are missing); checked before any work.</exception>
    /// <exception cref="NotSupportedException">The backend is not available in this build.</exception>
    public static RainEngine Load(string bundlePath, EngineOptions? options = null) => Load(bundlePath, options, () => CudaDevice.Probe());

    /// <summary><see cref="Load(string, EngineOptions?)"/> with the GPU probe supplied (tests).</summary>
    internal static RainEngine Load(string bundlePath, EngineOptions? options, Func<CudaCapability> probeGpu)
    {
        options ??= new EngineOptions();
        if (options.Backend == EngineBackend.TensorRt)
        {
            // TensorRT and the GPU are probed before the bundle is read: a machine without them fails at once.
            var (library, gpu) = TrtBackendProbe.ProbeRuntime(options.TensorRtDirectory, probeGpu);
            var trtBundle = ModelBundle.Load(bundlePath, options.VerifyBundleHashes);
            var target = TrtBackendProbe.LocatePlans(trtBundle, library, gpu, options.VerifyBundleHashes);
            throw new NotSupportedException(
                $"TensorRT {library.VersionText}, {gpu.Reason} and current plans in {target.PlanFolder} were found, but the TensorRT stream " +
                "pipeline is not enabled in this build: it has not yet been verified on a GPU (run bench/gpu-check.sh's TensorRT section). " +
                "Nothing was loaded; use the CPU backend (EngineBackend.Cpu).");
        }

        if (options.Backend != EngineBackend.Cpu)
            throw new NotSupportedException($"Backend {options.Backend} is not available in this build; the CPU backend (EngineBackend.Cpu, ONNX Runtime float32) is. Nothing was loaded.");
        var bundle = ModelBundle.Load(bundlePath, options.VerifyBundleHashes);
        var pipeline = new CpuPipeline(bundle, options.Threads, options.ParallelAttention);
        return new RainEngine(bundle, options, pipeline);
    }

    /// <summary>
    /// Fuses <paramref name="reference"/> (CLIP, VAE encoder and ReferenceNet run once) and starts a stream for it. The
    /// image may be any size; it is resized as RAIN's processors do. Only one session may be open at a time.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another session of this engine is still open, or the engine is disposed.</exception>
    public AnimationSession CreateSession(RgbImage reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_active is not null)
                throw new InvalidOperationException("This engine already runs a session; dispose it before creating another (one stream per engine).");
            _pipeline.SetReference(reference);
            _active = new AnimationSession(this, new CpuStreamer(_pipeline, Options.Seed, new StageTimings()), Options);
            return _active;
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
        _pipeline.Dispose();
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

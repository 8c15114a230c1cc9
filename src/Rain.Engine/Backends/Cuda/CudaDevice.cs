using System.Text;
using Rain.Engine.Interop;

namespace Rain.Engine.Backends.Cuda;

/// <summary>How a host thread waits for the device (the primary context's scheduling flag, set when the device is opened).</summary>
internal enum CudaHostWait
{
    /// <summary>
    /// <c>CU_CTX_SCHED_BLOCKING_SYNC</c>: a synchronising thread sleeps until the device signals, so a step's wait costs
    /// no CPU time (a few microseconds more wake-up latency than spinning). The engine's choice.
    /// </summary>
    BlockingSync,

    /// <summary>CUDA's default (<c>CU_CTX_SCHED_AUTO</c>): spin while the process has fewer CUDA contexts than cores, which keeps one core busy for the whole wait.</summary>
    Default,
}

/// <summary>
/// One CUDA device with its primary context retained: the owner of every buffer, stream, event, module and graph made
/// from it. Open it after <see cref="Probe"/> said the device is available.
/// </summary>
/// <remarks>
/// Threading: the methods make the context current on the calling thread themselves; the objects are not thread-safe
/// (one thread drives one device's streams). Ownership: dispose the children first; a child disposed after the device
/// is not freed (it died with the context). Undisposed children are leaked, never freed from a finalizer.
/// </remarks>
internal sealed unsafe class CudaDevice : IDisposable
{
    [ThreadStatic]
    private static nint s_current;

    private readonly nint _context;
    private readonly int _handle;
    private bool _disposed;

    private CudaDevice(int ordinal, int handle, nint context, CudaCapability capability, string hostWait)
    {
        Ordinal = ordinal;
        _handle = handle;
        _context = context;
        Capability = capability;
        HostWait = hostWait;
    }

    /// <summary>The device ordinal.</summary>
    public int Ordinal { get; }

    /// <summary>How host threads wait for this device, as the driver reports the primary context's flags (e.g. "blocking sync").</summary>
    public string HostWait { get; }

    /// <summary>What the probe found (name, SM, memory).</summary>
    public CudaCapability Capability { get; }

    /// <summary>The SM number (e.g. 89).</summary>
    public int ComputeCapability => Capability.ComputeCapability;

    internal bool IsAlive => !_disposed;

    /// <summary>
    /// Finds out whether device <paramref name="ordinal"/> can run the CUDA backend. Never throws for a missing driver,
    /// a machine without a device or an old device: the answer says why (e.g. "no CUDA driver found: tried
    /// libcuda.so.1 (…), libcuda.so (…)").
    /// </summary>
    public static CudaCapability Probe(int ordinal = 0) => ProbeDevice(ordinal) with { Ordinal = ordinal };

    private static CudaCapability ProbeDevice(int ordinal)
    {
        var driver = NativeLibraries.Load(NativeLibraries.Cuda);
        if (!driver.Loaded)
            return CudaCapability.Unavailable($"no CUDA driver found: {driver.Describe()}");
        try
        {
            CudaResult init = CudaDriver.Init(0);
            int version = 0;
            _ = CudaDriver.DriverGetVersion(&version);
            if (init == CudaResult.ErrorNoDevice)
                return CudaCapability.Unavailable($"the CUDA driver ({driver.LoadedFrom}, CUDA {FormatVersion(version)}) reports no CUDA device (CUDA_ERROR_NO_DEVICE)", version);
            if (init != CudaResult.Success)
                return CudaCapability.Unavailable($"cuInit failed: {CudaDriver.ErrorName(init)} ({CudaDriver.ErrorText(init)}); driver {driver.LoadedFrom}", version);

            int count = 0;
            CudaDriver.ThrowIfFailed(CudaDriver.DeviceGetCount(&count));
            if (ordinal < 0 || ordinal >= count)
                return CudaCapability.Unavailable($"CUDA device {ordinal} does not exist: the driver sees {count} device(s)", version, count);

            int device;
            CudaDriver.ThrowIfFailed(CudaDriver.DeviceGet(&device, ordinal));
            byte* name = stackalloc byte[256];
            CudaDriver.ThrowIfFailed(CudaDriver.DeviceGetName(name, 256, device));
            string deviceName = Encoding.UTF8.GetString(name, new ReadOnlySpan<byte>(name, 256).IndexOf((byte)0) is int n and >= 0 ? n : 256);
            int major = Attribute(device, CudaDriver.DeviceAttributeComputeCapabilityMajor);
            int minor = Attribute(device, CudaDriver.DeviceAttributeComputeCapabilityMinor);
            int sms = Attribute(device, CudaDriver.DeviceAttributeMultiprocessorCount);
            nuint memory;
            CudaDriver.ThrowIfFailed(CudaDriver.DeviceTotalMem(&memory, device));
            int cc = (major * 10) + minor;
            bool usable = cc >= CudaCapability.MinimumComputeCapability;
            string reason = $"{deviceName} (SM {major}.{minor}, {sms} SMs, {(long)memory / (1L << 20)} MiB), CUDA driver {FormatVersion(version)}"
                + (usable ? "" : $": SM {major}.{minor} is older than SM 8.0, the oldest the kernels target");
            return new CudaCapability(usable, reason, version, count, deviceName, cc, (long)memory, sms);
        }
        catch (EntryPointNotFoundException e)
        {
            return CudaCapability.Unavailable($"the CUDA driver {driver.LoadedFrom} lacks a function the engine needs ({e.Message}); update the NVIDIA driver");
        }
        catch (CudaException e)
        {
            return CudaCapability.Unavailable($"probing CUDA device {ordinal} failed: {e.Message}");
        }
    }

    /// <summary>
    /// Opens device <paramref name="ordinal"/>: sets the primary context's scheduling to <paramref name="wait"/> (blocking
    /// sync by default, so that a thread waiting for a step sleeps instead of spinning a core for the whole step), then
    /// retains it. When the driver refuses the flag (another user of the primary context set others), the device still
    /// opens and <see cref="HostWait"/> says what is in effect.
    /// </summary>
    /// <exception cref="CudaException">The device is not available; the message is the probe's reason.</exception>
    public static CudaDevice Open(int ordinal = 0, CudaHostWait wait = CudaHostWait.BlockingSync)
    {
        var capability = Probe(ordinal);
        if (!capability.Available)
            throw new CudaException($"CUDA device {ordinal} is not available: {capability.Reason}.");
        int device;
        CudaDriver.ThrowIfFailed(CudaDriver.DeviceGet(&device, ordinal));
        string? refused = null;
        uint flags = 0;
        int active = 0;
        if (CudaDriver.DevicePrimaryCtxGetState(device, &flags, &active) == CudaResult.Success)
        {
            uint wanted = (flags & ~CudaDriver.CtxSchedMask) | (wait == CudaHostWait.BlockingSync ? CudaDriver.CtxSchedBlockingSync : 0u);
            CudaResult set = wanted == flags ? CudaResult.Success : CudaDriver.DevicePrimaryCtxSetFlags(device, wanted);
            if (set != CudaResult.Success)
                refused = $"cuDevicePrimaryCtxSetFlags refused ({CudaDriver.ErrorName(set)}{(active != 0 ? ", the primary context is already active" : "")})";
        }

        nint context;
        CudaDriver.ThrowIfFailed(CudaDriver.DevicePrimaryCtxRetain(&context, device));
        string hostWait = CudaDriver.DevicePrimaryCtxGetState(device, &flags, &active) != CudaResult.Success ? "unknown"
            : (flags & CudaDriver.CtxSchedMask) switch
            {
                CudaDriver.CtxSchedBlockingSync => "blocking sync",
                1 => "spin",
                2 => "yield",
                _ => "default (spin while contexts < cores)",
            };
        var opened = new CudaDevice(ordinal, device, context, capability, refused is null ? hostWait : $"{hostWait} ({refused})");
        opened.MakeCurrent();
        return opened;
    }

    /// <summary>Makes this device's context current on the calling thread (cheap when it already is).</summary>
    public void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (s_current == _context)
            return;
        CudaDriver.ThrowIfFailed(CudaDriver.CtxSetCurrent(_context));
        s_current = _context;
    }

    /// <summary>Allocates <paramref name="bytes"/> of device memory (uninitialised).</summary>
    public DeviceBuffer Allocate(long bytes) => new(this, bytes);

    /// <summary>Allocates <paramref name="bytes"/> of page-locked host memory for asynchronous copies.</summary>
    public PinnedBuffer AllocatePinned(long bytes) => new(this, bytes);

    /// <summary>Creates a non-blocking stream.</summary>
    public CudaStream CreateStream() => new(this);

    /// <summary>Creates an event with timing enabled.</summary>
    public CudaEvent CreateEvent() => new(this);

    /// <summary>
    /// Releases the primary context. Must not be called from a finalizer (this class has none: an undisposed device
    /// keeps its context until the process ends).
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (s_current == _context)
        {
            _ = CudaDriver.CtxSetCurrent(0);
            s_current = 0;
        }

        CudaDriver.ThrowIfFailed(CudaDriver.DevicePrimaryCtxRelease(_handle));
    }

    /// <inheritdoc/>
    public override string ToString() => Capability.Reason;

    private static int Attribute(int device, int attribute)
    {
        int value;
        CudaDriver.ThrowIfFailed(CudaDriver.DeviceGetAttribute(&value, attribute, device));
        return value;
    }

    private static string FormatVersion(int version) => $"{version / 1000}.{version % 1000 / 10}";
}

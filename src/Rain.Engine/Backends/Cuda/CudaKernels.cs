using System.Text;
using Rain.Engine.Interop;
using Rain.Kernels;

namespace Rain.Engine.Backends.Cuda;

/// <summary>
/// The engine's CUDA kernels on one device: loads each op's module on first use from the best image for the device
/// (the embedded CUBIN of exactly its SM, else the embedded PTX of the newest virtual architecture not above it,
/// JIT-compiled by the driver, else the embedded source compiled with NVRTC at run time) and enqueues
/// <see cref="KernelLaunch"/>es that the launchers of Rain.Kernels describe.
/// </summary>
/// <remarks>Not thread-safe. Dispose before the device.</remarks>
internal sealed unsafe class CudaKernels : IDisposable
{
    private readonly CudaDevice _device;
    private readonly Dictionary<string, ModuleHandle> _modules = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Op, string Entry), nint> _functions = [];
    private readonly Dictionary<string, string> _origins = new(StringComparer.Ordinal);

    /// <summary>Creates the kernel set of <paramref name="device"/> (modules load lazily).</summary>
    public CudaKernels(CudaDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
    }

    /// <summary>How each loaded op was obtained (e.g. "CUBIN sm_90 (embedded)", "PTX compute_90 (embedded, driver JIT)").</summary>
    public IReadOnlyDictionary<string, string> Origins => _origins;

    /// <summary>Loads the module of <paramref name="op"/> now (otherwise it loads on first launch) and says how.</summary>
    public string Load(string op)
    {
        _ = Module(op);
        return _origins[op];
    }

    /// <summary>
    /// Loads the module and looks up the entry point of <paramref name="launch"/> now. Capture needs this: loading a
    /// module is not allowed while a stream is being captured, so every kernel of a graph is prepared before.
    /// </summary>
    public void Prepare(KernelLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        _device.MakeCurrent();
        _ = Function(launch.Op, launch.EntryPoint);
    }

    /// <summary>Enqueues <paramref name="launch"/> on <paramref name="stream"/> (also while the stream is being captured).</summary>
    public void Launch(CudaStream stream, KernelLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(launch);
        _device.MakeCurrent();
        nint function = Function(launch.Op, launch.EntryPoint);
        var arguments = launch.Arguments;
        int total = 0;
        for (int i = 0; i < arguments.Count; i++)
            total += arguments[i].Length;
        // cuLaunchKernel copies the argument values before it returns (also into a captured graph node), so the
        // storage only has to live for the call.
        byte* storage = stackalloc byte[Math.Max(total, 8) + (8 * arguments.Count)];
        void** pointers = stackalloc void*[Math.Max(arguments.Count, 1)];
        byte* at = (byte*)(((nint)storage + 7) & ~7);
        for (int i = 0; i < arguments.Count; i++)
        {
            var value = arguments[i];
            value.CopyTo(new Span<byte>(at, value.Length));
            pointers[i] = at;
            at += (value.Length + 7) & ~7;
        }

        var (g, b) = (launch.Grid, launch.Block);
        CudaDriver.ThrowIfFailed(CudaDriver.LaunchKernel(function, g.X, g.Y, g.Z, b.X, b.Y, b.Z, launch.SharedBytes, stream.Handle, pointers, null));
    }

    /// <summary>Unloads the modules.</summary>
    public void Dispose()
    {
        foreach (var module in _modules.Values)
            module.Dispose();
        _modules.Clear();
        _functions.Clear();
    }

    private nint Function(string op, string entry)
    {
        if (_functions.TryGetValue((op, entry), out nint cached))
            return cached;
        var module = Module(op);
        nint function;
        byte[] name = Encoding.UTF8.GetBytes(entry + '\0');
        fixed (byte* p = name)
        {
            CudaResult result = CudaDriver.ModuleGetFunction(&function, module.Value, p);
            if (result != CudaResult.Success)
                throw new CudaException($"Kernel {entry} is not in module {op} ({_origins[op]}): {CudaDriver.ErrorName(result)}.");
        }

        _functions[(op, entry)] = function;
        return function;
    }

    private ModuleHandle Module(string op)
    {
        if (_modules.TryGetValue(op, out var loaded))
            return loaded;
        int sm = _device.ComputeCapability;
        var image = KernelImages.Best(op, sm);
        string? embeddedFailure = null;
        if (image is not null)
        {
            string origin = image.Kind == KernelImageKind.Cubin ? $"CUBIN sm_{image.Sm} (embedded)" : $"PTX compute_{image.Sm} (embedded, driver JIT)";
            var module = TryLoad(image.Bytes, out string? log);
            if (module is not null)
                return Keep(op, module, origin);
            embeddedFailure = $"the embedded {origin} did not load: {log}";
        }

        var (compiled, compiledOrigin) = CompileAtRunTime(op, sm, embeddedFailure);
        return Keep(op, compiled, compiledOrigin);
    }

    private ModuleHandle Keep(string op, ModuleHandle module, string origin)
    {
        _modules[op] = module;
        _origins[op] = origin;
        return module;
    }

    private (ModuleHandle Module, string Origin) CompileAtRunTime(string op, int sm, string? embeddedFailure)
    {
        string why = embeddedFailure ?? $"this build embeds no image for SM {sm / 10}.{sm % 10} (embedded: {string.Join(' ', KernelImages.EmbeddedNames().Where(n => n.StartsWith(op + ".", StringComparison.Ordinal)).DefaultIfEmpty("none"))})";
        if (!NvrtcCompiler.IsAvailable(out string reason))
            throw new CudaException($"No loadable kernel {op} for {_device.Capability.DeviceName}: {why}; and {reason}. Install NVRTC or rebuild with it present.");
        var supported = NvrtcCompiler.SupportedArchs();
        string target = RunTimeTarget(sm, supported)
            ?? throw new CudaException($"No loadable kernel {op}: {why}; NVRTC {NvrtcCompiler.Version} supports none of SM ≤ {sm} ({string.Join(' ', supported)}).");
        var output = NvrtcCompiler.Compile(op + ".cu", KernelImages.Source(op), KernelImages.Headers(), KernelImages.CompileOptions(op, target));
        byte[] bytes = target.StartsWith("sm_", StringComparison.Ordinal) && output.Cubin is not null ? output.Cubin : output.Ptx;
        var module = TryLoad(bytes, out string? log)
            ?? throw new CudaException($"Kernel {op} compiled at run time by NVRTC {NvrtcCompiler.Version} for {target} does not load: {log}");
        return (module, $"{target} (NVRTC {NvrtcCompiler.Version} at run time)");
    }

    /// <summary>
    /// What run-time NVRTC compiles for a device of SM <paramref name="sm"/>: CUBIN for exactly that SM when NVRTC knows
    /// it, else PTX for the newest SM it knows below it (the driver JIT-compiles PTX forward), else null.
    /// </summary>
    internal static string? RunTimeTarget(int sm, IReadOnlyList<int> supported) =>
        supported.Contains(sm) ? $"sm_{sm}"
        : supported.Where(s => s <= sm).DefaultIfEmpty(0).Max() is int best and > 0 ? $"compute_{best}"
        : null;

    private ModuleHandle? TryLoad(byte[] image, out string? log)
    {
        const int logSize = 8192;
        byte* buffer = stackalloc byte[logSize];
        buffer[0] = 0;
        int* options = stackalloc int[2] { CudaDriver.JitErrorLogBuffer, CudaDriver.JitErrorLogBufferSizeBytes };
        void** values = stackalloc void*[2] { buffer, (void*)logSize };
        nint module;
        CudaResult result;
        fixed (byte* p = image)
            result = CudaDriver.ModuleLoadDataEx(&module, p, 2, options, values);
        if (result != CudaResult.Success)
        {
            string jit = Encoding.UTF8.GetString(buffer, new ReadOnlySpan<byte>(buffer, logSize).IndexOf((byte)0) is int n and >= 0 ? n : logSize).Trim();
            log = $"{CudaDriver.ErrorName(result)} ({CudaDriver.ErrorText(result)}){(jit.Length > 0 ? ": " + jit : "")}";
            return null;
        }

        log = null;
        var handle = new ModuleHandle(_device);
        handle.Adopt(module);
        return handle;
    }
}

using System.Runtime.InteropServices;
using System.Text;

namespace Rain.Engine.Interop;

/// <summary>What one NVRTC compilation produced: PTX always, CUBIN when the target was a real <c>sm_XX</c>.</summary>
internal sealed record NvrtcOutput(byte[] Ptx, byte[]? Cubin, string Log);

/// <summary>
/// NVRTC behind a small API: version, supported architectures and compilation of one source with in-memory headers.
/// Shared (as linked source) by the engine's run-time compilation and the build-time kernel compiler.
/// </summary>
internal static unsafe class NvrtcCompiler
{
    /// <summary>Whether NVRTC loads; <paramref name="reason"/> carries the resolver's trace when it does not.</summary>
    public static bool IsAvailable(out string reason)
    {
        var result = NativeLibraries.Load(NativeLibraries.Nvrtc);
        reason = result.Loaded ? $"NVRTC {Version} from {result.LoadedFrom}" : $"no NVRTC library found: {result.Describe()}";
        return result.Loaded;
    }

    /// <summary>Throws <see cref="NvrtcException"/> with the resolver's trace when NVRTC does not load.</summary>
    public static void EnsureAvailable()
    {
        if (!IsAvailable(out string reason))
            throw new NvrtcException(reason + $". Install NVRTC (Debian: libnvrtc11.2 and libnvrtc-builtins11.8 from non-free) or point {NativeLibraries.SearchDirsVariable} or RAIN_NVRTC_PATH at it.");
    }

    /// <summary>The NVRTC version (major, minor).</summary>
    public static Version Version
    {
        get
        {
            int major, minor;
            Nvrtc.ThrowIfFailed(Nvrtc.Version(&major, &minor));
            return new Version(major, minor);
        }
    }

    /// <summary>The SM numbers NVRTC can compile for (e.g. 80, 86, 89, 90).</summary>
    public static IReadOnlyList<int> SupportedArchs()
    {
        EnsureAvailable();
        int count;
        Nvrtc.ThrowIfFailed(Nvrtc.GetNumSupportedArchs(&count));
        var archs = new int[count];
        fixed (int* p = archs)
            Nvrtc.ThrowIfFailed(Nvrtc.GetSupportedArchs(p));
        return archs;
    }

    /// <summary>
    /// Compiles <paramref name="source"/> with <paramref name="options"/>; <paramref name="headers"/> maps include names
    /// to their text. Throws <see cref="NvrtcException"/> with the compiler log when the source does not compile.
    /// </summary>
    public static NvrtcOutput Compile(string name, string source, IReadOnlyDictionary<string, string> headers, IReadOnlyList<string> options)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(options);
        EnsureAvailable();
        var pins = new List<GCHandle>();
        try
        {
            byte* Pin(string text)
            {
                var handle = GCHandle.Alloc(Encoding.UTF8.GetBytes(text + '\0'), GCHandleType.Pinned);
                pins.Add(handle);
                return (byte*)handle.AddrOfPinnedObject();
            }

            var headerTexts = new byte*[headers.Count];
            var headerNames = new byte*[headers.Count];
            int i = 0;
            foreach (var (include, text) in headers)
            {
                headerNames[i] = Pin(include);
                headerTexts[i] = Pin(text);
                i++;
            }

            var optionPtrs = new byte*[options.Count];
            for (int o = 0; o < options.Count; o++)
                optionPtrs[o] = Pin(options[o]);

            nint program;
            fixed (byte** ht = headerTexts, hn = headerNames)
                Nvrtc.ThrowIfFailed(Nvrtc.CreateProgram(&program, Pin(source), Pin(name), headers.Count, ht, hn));
            try
            {
                int compiled;
                fixed (byte** op = optionPtrs)
                    compiled = Nvrtc.CompileProgram(program, options.Count, op);
                string log = ReadLog(program);
                if (compiled != Nvrtc.Success)
                    throw new NvrtcException($"NVRTC could not compile {name} ({string.Join(' ', options)}): {Nvrtc.Describe(compiled)}\n{log}");

                nuint ptxSize;
                Nvrtc.ThrowIfFailed(Nvrtc.GetPtxSize(program, &ptxSize));
                var ptx = new byte[(int)ptxSize];
                fixed (byte* p = ptx)
                    Nvrtc.ThrowIfFailed(Nvrtc.GetPtx(program, p));

                byte[]? cubin = null;
                nuint cubinSize;
                if (Nvrtc.GetCubinSize(program, &cubinSize) == Nvrtc.Success && cubinSize > 0)
                {
                    cubin = new byte[(int)cubinSize];
                    fixed (byte* p = cubin)
                        Nvrtc.ThrowIfFailed(Nvrtc.GetCubin(program, p));
                }

                return new NvrtcOutput(ptx, cubin, log);
            }
            finally
            {
                Nvrtc.ThrowIfFailed(Nvrtc.DestroyProgram(&program));
            }
        }
        finally
        {
            foreach (var pin in pins)
                pin.Free();
        }
    }

    private static string ReadLog(nint program)
    {
        nuint size;
        if (Nvrtc.GetProgramLogSize(program, &size) != Nvrtc.Success || size <= 1)
            return "";
        var log = new byte[(int)size];
        fixed (byte* p = log)
        {
            if (Nvrtc.GetProgramLog(program, p) != Nvrtc.Success)
                return "";
        }

        return Encoding.UTF8.GetString(log, 0, log.Length - 1).Trim();
    }
}

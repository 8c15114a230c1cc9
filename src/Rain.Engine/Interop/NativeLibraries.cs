using System.Reflection;
using System.Runtime.InteropServices;

namespace Rain.Engine.Interop;

/// <summary>
/// The one native-library resolver of the assembly: maps the logical names of the bindings (<see cref="Cuda"/>,
/// <see cref="Nvrtc"/>) to the first candidate file that loads, newest version first, and keeps a trace of every
/// candidate tried so that a failure can say exactly what was looked for. Registered once, never throws.
/// </summary>
/// <remarks>
/// Search order for each library: an explicit file from the environment (<c>RAIN_CUDA_DRIVER_PATH</c>,
/// <c>RAIN_NVRTC_PATH</c>, <c>RAIN_TENSORRT_DIR</c>; a directory is searched too), then every directory of <c>RAIN_CUDA_LIBRARY_DIRS</c>
/// (path-list; for NVRTC wheels inside a Python environment: <c>site-packages/nvidia/cu13/lib</c> or
/// <c>site-packages/nvidia/cuda_nvrtc/lib</c>), then the bare names, which the OS loader resolves through its own
/// path (<c>LD_LIBRARY_PATH</c>, the ld cache, <c>PATH</c> on Windows).
/// </remarks>
internal static class NativeLibraries
{
    /// <summary>Logical name of the CUDA driver API library in the bindings.</summary>
    public const string Cuda = "rain-cuda-driver";

    /// <summary>Logical name of the NVRTC library in the bindings.</summary>
    public const string Nvrtc = "rain-nvrtc";

    /// <summary>Logical name of TensorRT's libnvinfer (majors 11 and 10, newest first).</summary>
    public const string TensorRt = "rain-nvinfer";

    /// <summary>Logical name of TensorRT's ONNX parser library.</summary>
    public const string OnnxParser = "rain-nvonnxparser";

    /// <summary>Logical name of an NVTX tool's injection library: only the file a profiler names in NVTX_INJECTION64_PATH, never a search.</summary>
    public const string NvtxInjection = "rain-nvtx-injection";

    /// <summary>Environment variable: a path-list of directories searched before the OS loader path.</summary>
    public const string SearchDirsVariable = "RAIN_CUDA_LIBRARY_DIRS";

    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, LoadResult> Results = new(StringComparer.Ordinal);
    private static readonly HashSet<Assembly> Registered = [];

    /// <summary>The outcome of resolving one logical library: the handle (0 when nothing loaded) and the trace.</summary>
    internal sealed record LoadResult(nint Handle, string? LoadedFrom, IReadOnlyList<string> Trace)
    {
        public bool Loaded => Handle != 0;

        /// <summary>One line for error messages: "tried a (why), b (why)".</summary>
        public string Describe() => Loaded ? $"loaded {LoadedFrom}" : "tried " + string.Join(", ", Trace);
    }

    /// <summary>Registers the resolver for the assembly that holds the bindings; later calls do nothing.</summary>
    public static void EnsureRegistered()
    {
        var assembly = typeof(NativeLibraries).Assembly;
        lock (Gate)
        {
            if (!Registered.Add(assembly))
                return;
        }

        try
        {
            NativeLibrary.SetDllImportResolver(assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // Another resolver was set for this assembly by its host; ours cannot be added, and the bare names still
            // work through the OS loader. Not an error worth failing for.
        }
    }

    /// <summary>Resolves <paramref name="logicalName"/> (cached); never throws.</summary>
    public static LoadResult Load(string logicalName)
    {
        lock (Gate)
        {
            if (Results.TryGetValue(logicalName, out var cached))
                return cached;
            var result = Probe(logicalName, Environment.GetEnvironmentVariable);
            Results[logicalName] = result;
            return result;
        }
    }

    /// <summary>The candidate files for a logical name on this OS, in probing order, given an environment.</summary>
    public static IReadOnlyList<string> Candidates(string logicalName, Func<string, string?> environment, bool loaderPath = true)
    {
        var names = FileNames(logicalName);
        var list = new List<string>();
        string? explicitPath = environment(logicalName switch
        {
            Cuda => "RAIN_CUDA_DRIVER_PATH",
            Nvrtc => "RAIN_NVRTC_PATH",
            NvtxInjection => "NVTX_INJECTION64_PATH",
            _ => "RAIN_TENSORRT_DIR",
        });
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            if (Directory.Exists(explicitPath))
                list.AddRange(names.Select(n => Path.Combine(explicitPath, n)));
            else
                list.Add(explicitPath);
        }

        string? dirs = environment(SearchDirsVariable);
        if (!string.IsNullOrWhiteSpace(dirs) && names.Length > 0)
        {
            foreach (string dir in dirs.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                list.AddRange(names.Select(n => Path.Combine(dir, n)));
        }

        if (loaderPath)
            list.AddRange(names);
        return list;
    }

    private static string[] FileNames(string logicalName) => (logicalName, OperatingSystem.IsWindows()) switch
    {
        (Cuda, false) => ["libcuda.so.1", "libcuda.so"],
        (Cuda, true) => ["nvcuda.dll"],
        (Nvrtc, false) => ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"],
        (Nvrtc, true) => ["nvrtc64_130_0.dll", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll", "nvrtc64_111_0.dll"],
        (TensorRt, false) => ["libnvinfer.so.11", "libnvinfer.so.10"],
        (TensorRt, true) => ["nvinfer_11.dll", "nvinfer_10.dll"],
        (OnnxParser, false) => ["libnvonnxparser.so.11", "libnvonnxparser.so.10"],
        (OnnxParser, true) => ["nvonnxparser_11.dll", "nvonnxparser_10.dll"],
        _ => [],
    };

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName is not (Cuda or Nvrtc))
            return 0;
        return Load(libraryName).Handle;
    }

    /// <summary>Tries every candidate in order (uncached); never throws.</summary>
    /// <param name="logicalName">The library.</param>
    /// <param name="environment">Reads environment variables (tests substitute their own).</param>
    /// <param name="loaderPath">Also try the bare names through the OS loader path; false confines the search to explicit paths.</param>
    internal static LoadResult Probe(string logicalName, Func<string, string?> environment, bool loaderPath = true)
    {
        var trace = new List<string>();
        foreach (string candidate in Candidates(logicalName, environment, loaderPath))
        {
            bool isPath = candidate.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal);
            if (isPath && !File.Exists(candidate))
            {
                trace.Add($"{candidate} (no such file)");
                continue;
            }

            try
            {
                nint handle = NativeLibrary.Load(candidate);
                trace.Add($"{candidate} (loaded)");
                return new LoadResult(handle, candidate, trace);
            }
            catch (DllNotFoundException e)
            {
                trace.Add($"{candidate} ({LoaderReason(e.Message)})");
            }
            catch (BadImageFormatException e)
            {
                trace.Add($"{candidate} (not a loadable library: {LoaderReason(e.Message)})");
            }
        }

        return new LoadResult(0, null, trace);
    }

    private static string LoaderReason(string message)
    {
        // The runtime's message starts with generic advice; the loader's own lines ("name: reason") follow. Keep the
        // first of those reasons.
        foreach (string line in message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Skip(1))
        {
            int colon = line.IndexOf(": ", StringComparison.Ordinal);
            string reason = colon >= 0 ? line[(colon + 2)..] : line;
            return reason.Length > 160 ? reason[..160] + "…" : reason;
        }

        return message.Length > 160 ? message[..160] + "…" : message;
    }
}

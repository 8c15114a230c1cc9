using System.Runtime.InteropServices;

namespace Rain.Engine.Interop.TensorRt;

/// <summary>
/// A loaded libnvinfer (and, when present, libnvonnxparser) of a supported version: its C exports, its version and
/// the slot and enum tables that fit it. Loading never throws for an absent library until asked: <see cref="TryLoad"/>
/// reports what was looked for.
/// </summary>
internal sealed unsafe class TrtLibrary
{
    /// <summary>Oldest supported 10.x minor: the binding uses <c>getDeviceMemorySizeV2</c>/<c>setDeviceMemoryV2</c> (10.1+).</summary>
    public const int MinimumVersion = 10_01_00;

    private readonly delegate* unmanaged[Cdecl]<nint, int, nint> _createRuntime;
    private readonly delegate* unmanaged[Cdecl]<nint, int, nint> _createBuilder;
    private readonly delegate* unmanaged[Cdecl]<nint, nint, int, nint> _createParser;

    private TrtLibrary(nint inferHandle, nint parserHandle, string inferPath, string? parserPath, int version, TrtSlots slots, TrtEnums enums)
    {
        InferHandle = inferHandle;
        ParserHandle = parserHandle;
        InferPath = inferPath;
        ParserPath = parserPath;
        Version = version;
        Slots = slots;
        Enums = enums;
        _createRuntime = (delegate* unmanaged[Cdecl]<nint, int, nint>)NativeLibrary.GetExport(inferHandle, "createInferRuntime_INTERNAL");
        _createBuilder = (delegate* unmanaged[Cdecl]<nint, int, nint>)NativeLibrary.GetExport(inferHandle, "createInferBuilder_INTERNAL");
        if (parserHandle != 0)
            _createParser = (delegate* unmanaged[Cdecl]<nint, nint, int, nint>)NativeLibrary.GetExport(parserHandle, "createNvOnnxParser_INTERNAL");
    }

    public nint InferHandle { get; }
    public nint ParserHandle { get; }
    public string InferPath { get; }
    public string? ParserPath { get; }

    /// <summary><c>getInferLibVersion()</c>: (major·100 + minor)·100 + patch.</summary>
    public int Version { get; }

    public int Major => Version / 10000;
    public string VersionText => $"{Version / 10000}.{Version / 100 % 100}.{Version % 100}";
    public TrtSlots Slots { get; }
    public TrtEnums Enums { get; }

    /// <summary>
    /// The version passed to the factories as <c>NV_TENSORRT_VERSION</c>: the loaded library's own (same encoding). A C++
    /// caller passes the version of the headers it was compiled with; the binding has no headers, and its slot tables are
    /// checked for every 10.x and 11.x release, so it claims exactly the release it talks to (TensorRT may refuse or adapt
    /// to a header version newer than itself).
    /// </summary>
    public int FactoryVersion => Version;

    /// <summary>
    /// Loads TensorRT through the shared resolver (<see cref="NativeLibraries"/>): only <paramref name="directory"/> when
    /// given; otherwise the environment variable <c>RAIN_TENSORRT_DIR</c>, then <c>RAIN_CUDA_LIBRARY_DIRS</c>, then the OS loader path;
    /// libnvinfer of major 11, then 10. The ONNX parser of the same major is loaded from beside it when present.
    /// Returns null and the trace of every attempt when no libnvinfer loads; throws <see cref="TrtException"/> when one
    /// loads but cannot be used (unsupported version, missing export).
    /// </summary>
    public static TrtLibrary? TryLoad(string? directory, out string trace)
    {
        // An explicit directory is the only place looked at: a caller who names a folder means that TensorRT.
        Func<string, string?> environment = name => directory is null ? Environment.GetEnvironmentVariable(name)
            : name == "RAIN_TENSORRT_DIR" ? directory : null;
        var infer = NativeLibraries.Probe(NativeLibraries.TensorRt, environment, loaderPath: directory is null);
        if (!infer.Loaded)
        {
            trace = string.Join("; ", infer.Trace);
            return null;
        }

        // The parser must have the same major as libnvinfer: take the candidate whose version suffix matches.
        string suffix = OperatingSystem.IsWindows()
            ? Path.GetFileName(infer.LoadedFrom!)["nvinfer".Length..]
            : Path.GetFileName(infer.LoadedFrom!)["libnvinfer".Length..];
        string parserName = (OperatingSystem.IsWindows() ? "nvonnxparser" : "libnvonnxparser") + suffix;
        string? inferDir = Path.GetDirectoryName(infer.LoadedFrom!);
        string parserPath = string.IsNullOrEmpty(inferDir) ? parserName : Path.Combine(inferDir, parserName);
        var attempts = infer.Trace.ToList();
        if (!NativeLibrary.TryLoad(parserPath, out nint parser))
        {
            attempts.Add($"{parserPath} (not found: ONNX parsing, needed only to build engines, is unavailable)");
            parser = 0;
        }

        trace = string.Join("; ", attempts);
        return Open(infer.Handle, parser, infer.LoadedFrom!, parser == 0 ? null : parserPath);
    }

    /// <summary>Like <see cref="TryLoad"/> but throws a <see cref="TrtException"/> naming every attempt when TensorRT is absent.</summary>
    public static TrtLibrary Load(string? directory = null) =>
        TryLoad(directory, out string trace) ?? throw new TrtException(
            $"TensorRT was not found (tried {trace}). Install TensorRT 10.x or 11.x for your CUDA version (NVIDIA's tar or " +
            "deb packages, or `pip install tensorrt-cu13`), then put its lib folder on LD_LIBRARY_PATH (Linux) or PATH " +
            "(Windows), or point RAIN_TENSORRT_DIR at it.");

    private static TrtLibrary Open(nint infer, nint parser, string inferPath, string? parserPath)
    {
        if (!NativeLibrary.TryGetExport(infer, "getInferLibVersion", out nint versionFn))
            throw new TrtException($"{inferPath} has no export getInferLibVersion: it is not a TensorRT libnvinfer.");
        int version = ((delegate* unmanaged[Cdecl]<int>)versionFn)();
        int major = version / 10000;
        var slots = TrtSlots.For(major, TrtSlots.CurrentAbi);
        var enums = TrtEnums.For(major);
        if (slots is null || enums is null || version < MinimumVersion)
        {
            throw new TrtException(
                $"{inferPath} is TensorRT {version / 10000}.{version / 100 % 100}.{version % 100}; Rain.Engine supports TensorRT 10.1 to 10.x and 11.x " +
                "(the vtable slot tables it carries). Install a supported version.");
        }

        foreach (string export in new[] { "createInferRuntime_INTERNAL", "createInferBuilder_INTERNAL" })
        {
            if (!NativeLibrary.TryGetExport(infer, export, out _))
                throw new TrtException($"{inferPath} (TensorRT {version}) has no export {export}.");
        }

        if (parser != 0 && !NativeLibrary.TryGetExport(parser, "createNvOnnxParser_INTERNAL", out _))
            throw new TrtException($"{parserPath} has no export createNvOnnxParser_INTERNAL: it is not TensorRT's ONNX parser.");
        return new TrtLibrary(infer, parser, inferPath, parserPath, version, slots, enums);
    }

    public nint CreateRuntime(TrtLogger logger) => _createRuntime(logger.Pointer, FactoryVersion);

    public nint CreateBuilder(TrtLogger logger) => _createBuilder(logger.Pointer, FactoryVersion);

    public nint CreateParser(nint networkPublic, TrtLogger logger)
    {
        if (_createParser is null)
            throw new TrtException($"TensorRT's ONNX parser library was not found beside {InferPath}; it is needed to build engines.");
        return _createParser(networkPublic, logger.Pointer, 100); // NV_ONNX_PARSER_VERSION 0.1.0
    }
}

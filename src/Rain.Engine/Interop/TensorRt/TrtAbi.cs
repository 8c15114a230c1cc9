using System.Runtime.InteropServices;

namespace Rain.Engine.Interop.TensorRt;

/// <summary>The C++ ABI a libnvinfer build uses: Itanium on Linux, MSVC on Windows.</summary>
internal enum TrtAbiKind
{
    Itanium,
    Msvc,
}

/// <summary>
/// Vtable slot numbers of the TensorRT calls the binding makes, per (major version, ABI). The numbers are the index
/// into the <b>impl</b> object's vtable (<c>apiv::V*</c>), or into the object's own vtable for the ONNX parser, its
/// errors and the logger. They come from the compiler's vtable dumps of NVIDIA's public headers
/// (<c>shared/trt-abi/vtables.json</c>); a test checks every number here against that file for every 10.x and 11.x tag.
/// </summary>
internal sealed record TrtSlots
{
    public required int Major { get; init; }
    public required TrtAbiKind Abi { get; init; }

    /// <summary>Deleting destructor of every public wrapper (Itanium: slot 1; MSVC: slot 0, called with flags = 1).</summary>
    public required int PublicDelete { get; init; }

    /// <summary><c>getPImpl()</c> of VRuntime, VCudaEngine and VExecutionContext: returns the public pointer.</summary>
    public required int GetPImpl { get; init; }

    public required int RuntimeDeserializeCudaEngine { get; init; }
    public required int EngineCreateExecutionContext { get; init; }
    public required int EngineGetTensorShape { get; init; }
    public required int EngineGetTensorDataType { get; init; }
    public required int EngineGetTensorIOMode { get; init; }
    public required int EngineGetNbIOTensors { get; init; }
    public required int EngineGetIOTensorName { get; init; }
    public required int EngineGetDeviceMemorySizeV2 { get; init; }
    public required int ContextGetEngine { get; init; }
    public required int ContextSetInputShape { get; init; }
    public required int ContextGetTensorShape { get; init; }
    public required int ContextSetTensorAddress { get; init; }
    public required int ContextEnqueueV3 { get; init; }
    public required int ContextSetDeviceMemoryV2 { get; init; }
    public required int HostMemoryData { get; init; }
    public required int HostMemorySize { get; init; }
    public required int BuilderCreateBuilderConfig { get; init; }
    public required int BuilderCreateNetworkV2 { get; init; }
    public required int BuilderCreateOptimizationProfile { get; init; }
    public required int BuilderBuildSerializedNetwork { get; init; }
    public required int ConfigSetFlag { get; init; }
    public required int ConfigAddOptimizationProfile { get; init; }
    public required int ConfigSetMemoryPoolLimit { get; init; }
    public required int ConfigCreateTimingCache { get; init; }
    public required int ConfigSetTimingCache { get; init; }
    public required int TimingCacheSerialize { get; init; }
    public required int ProfileSetDimensions { get; init; }
    public required int ParserParse { get; init; }
    public required int ParserGetNbErrors { get; init; }
    public required int ParserGetError { get; init; }
    public required int ParserDelete { get; init; }
    public required int ParserErrorDesc { get; init; }
    public required int ParserErrorNodeName { get; init; }

    /// <summary>Slot of <c>ILogger::log</c> in the logger vtable we build, and the vtable's length.</summary>
    public required int LoggerLog { get; init; }
    public required int LoggerVtableLength { get; init; }

    public static readonly TrtSlots Linux10 = new()
    {
        Major = 10, Abi = TrtAbiKind.Itanium, PublicDelete = 1, GetPImpl = 2,
        RuntimeDeserializeCudaEngine = 3,
        EngineCreateExecutionContext = 5, EngineGetTensorShape = 19, EngineGetTensorDataType = 20, EngineGetTensorIOMode = 23,
        EngineGetNbIOTensors = 30, EngineGetIOTensorName = 31, EngineGetDeviceMemorySizeV2 = 52,
        ContextGetEngine = 7, ContextSetInputShape = 21, ContextGetTensorShape = 22, ContextSetTensorAddress = 24,
        ContextEnqueueV3 = 37, ContextSetDeviceMemoryV2 = 49,
        HostMemoryData = 2, HostMemorySize = 3,
        BuilderCreateBuilderConfig = 7, BuilderCreateNetworkV2 = 8, BuilderCreateOptimizationProfile = 9, BuilderBuildSerializedNetwork = 14,
        ConfigSetFlag = 11, ConfigAddOptimizationProfile = 25, ConfigSetMemoryPoolLimit = 43,
        ConfigCreateTimingCache = 40, ConfigSetTimingCache = 41, TimingCacheSerialize = 2,
        ProfileSetDimensions = 2,
        ParserParse = 0, ParserGetNbErrors = 5, ParserGetError = 6, ParserDelete = 9, ParserErrorDesc = 1, ParserErrorNodeName = 6,
        LoggerLog = 0, LoggerVtableLength = 3,
    };

    public static readonly TrtSlots Windows10 = new()
    {
        Major = 10, Abi = TrtAbiKind.Msvc, PublicDelete = 0, GetPImpl = 1,
        RuntimeDeserializeCudaEngine = 3,
        EngineCreateExecutionContext = 4, EngineGetTensorShape = 18, EngineGetTensorDataType = 19, EngineGetTensorIOMode = 22,
        EngineGetNbIOTensors = 29, EngineGetIOTensorName = 30, EngineGetDeviceMemorySizeV2 = 51,
        ContextGetEngine = 6, ContextSetInputShape = 20, ContextGetTensorShape = 21, ContextSetTensorAddress = 23,
        ContextEnqueueV3 = 36, ContextSetDeviceMemoryV2 = 48,
        HostMemoryData = 1, HostMemorySize = 2,
        BuilderCreateBuilderConfig = 6, BuilderCreateNetworkV2 = 7, BuilderCreateOptimizationProfile = 8, BuilderBuildSerializedNetwork = 13,
        ConfigSetFlag = 10, ConfigAddOptimizationProfile = 24, ConfigSetMemoryPoolLimit = 42,
        ConfigCreateTimingCache = 39, ConfigSetTimingCache = 40, TimingCacheSerialize = 1,
        ProfileSetDimensions = 1,
        ParserParse = 0, ParserGetNbErrors = 5, ParserGetError = 6, ParserDelete = 8, ParserErrorDesc = 1, ParserErrorNodeName = 6,
        LoggerLog = 0, LoggerVtableLength = 2,
    };

    public static readonly TrtSlots Linux11 = new()
    {
        Major = 11, Abi = TrtAbiKind.Itanium, PublicDelete = 1, GetPImpl = 2,
        RuntimeDeserializeCudaEngine = 3,
        EngineCreateExecutionContext = 5, EngineGetTensorShape = 15, EngineGetTensorDataType = 16, EngineGetTensorIOMode = 19,
        EngineGetNbIOTensors = 26, EngineGetIOTensorName = 27, EngineGetDeviceMemorySizeV2 = 44,
        ContextGetEngine = 7, ContextSetInputShape = 20, ContextGetTensorShape = 21, ContextSetTensorAddress = 23,
        ContextEnqueueV3 = 36, ContextSetDeviceMemoryV2 = 48,
        HostMemoryData = 2, HostMemorySize = 3,
        BuilderCreateBuilderConfig = 5, BuilderCreateNetworkV2 = 6, BuilderCreateOptimizationProfile = 7, BuilderBuildSerializedNetwork = 11,
        ConfigSetFlag = 9, ConfigAddOptimizationProfile = 23, ConfigSetMemoryPoolLimit = 32,
        ConfigCreateTimingCache = 29, ConfigSetTimingCache = 30, TimingCacheSerialize = 2,
        ProfileSetDimensions = 2,
        ParserParse = 0, ParserGetNbErrors = 3, ParserGetError = 4, ParserDelete = 7, ParserErrorDesc = 1, ParserErrorNodeName = 6,
        LoggerLog = 4, LoggerVtableLength = 5,
    };

    public static readonly TrtSlots Windows11 = new()
    {
        Major = 11, Abi = TrtAbiKind.Msvc, PublicDelete = 0, GetPImpl = 1,
        RuntimeDeserializeCudaEngine = 2,
        EngineCreateExecutionContext = 4, EngineGetTensorShape = 14, EngineGetTensorDataType = 15, EngineGetTensorIOMode = 18,
        EngineGetNbIOTensors = 25, EngineGetIOTensorName = 26, EngineGetDeviceMemorySizeV2 = 43,
        ContextGetEngine = 6, ContextSetInputShape = 19, ContextGetTensorShape = 20, ContextSetTensorAddress = 22,
        ContextEnqueueV3 = 35, ContextSetDeviceMemoryV2 = 47,
        HostMemoryData = 1, HostMemorySize = 2,
        BuilderCreateBuilderConfig = 4, BuilderCreateNetworkV2 = 5, BuilderCreateOptimizationProfile = 6, BuilderBuildSerializedNetwork = 10,
        ConfigSetFlag = 8, ConfigAddOptimizationProfile = 22, ConfigSetMemoryPoolLimit = 31,
        ConfigCreateTimingCache = 28, ConfigSetTimingCache = 29, TimingCacheSerialize = 1,
        ProfileSetDimensions = 1,
        ParserParse = 0, ParserGetNbErrors = 3, ParserGetError = 4, ParserDelete = 6, ParserErrorDesc = 1, ParserErrorNodeName = 6,
        LoggerLog = 3, LoggerVtableLength = 4,
    };

    /// <summary>Every table the binding carries.</summary>
    public static IReadOnlyList<TrtSlots> All { get; } = [Linux10, Windows10, Linux11, Windows11];

    /// <summary>The table for a major version and ABI, or null when the binding has none.</summary>
    public static TrtSlots? For(int major, TrtAbiKind abi) => All.FirstOrDefault(t => t.Major == major && t.Abi == abi);

    /// <summary>The ABI of the process the binding runs in.</summary>
    public static TrtAbiKind CurrentAbi => OperatingSystem.IsWindows() ? TrtAbiKind.Msvc : TrtAbiKind.Itanium;
}

/// <summary>
/// Enum values the binding passes or reads, per major version (TensorRT 11 renumbered some and removed the
/// precision builder flags). Values from NVIDIA's public headers as recorded in <c>shared/trt-abi/README.md</c> §2.4.
/// </summary>
internal sealed record TrtEnums
{
    public required int Major { get; init; }

    /// <summary><c>BuilderFlag::kFP16</c>; null where the flag no longer exists (11.x builds strongly typed networks).</summary>
    public required int? BuilderFlagFp16 { get; init; }

    public required int MemoryPoolWorkspace { get; init; }
    public required int OptProfileMin { get; init; }
    public required int OptProfileOpt { get; init; }
    public required int OptProfileMax { get; init; }
    public required int AllocationStrategyUserManaged { get; init; }
    public required int IOModeInput { get; init; }
    public required int IOModeOutput { get; init; }

    public static readonly TrtEnums V10 = new()
    {
        Major = 10, BuilderFlagFp16 = 0, MemoryPoolWorkspace = 0, OptProfileMin = 0, OptProfileOpt = 1, OptProfileMax = 2,
        AllocationStrategyUserManaged = 2, IOModeInput = 1, IOModeOutput = 2,
    };

    public static readonly TrtEnums V11 = V10 with { Major = 11, BuilderFlagFp16 = null };

    public static TrtEnums? For(int major) => major switch { 10 => V10, 11 => V11, _ => null };
}

/// <summary>TensorRT's element types (<c>nvinfer1::DataType</c>, identical in 10.x and 11.x for these values).</summary>
internal enum TrtDataType
{
    Float = 0,
    Half = 1,
    Int8 = 2,
    Int32 = 3,
    Bool = 4,
    UInt8 = 5,
    Fp8 = 6,
    BFloat16 = 7,
    Int64 = 8,
    Int4 = 9,
}

/// <summary><c>nvinfer1::Dims64</c>: 72 bytes, <c>int32 nbDims</c> at 0 and <c>int64 d[8]</c> at 8.</summary>
[StructLayout(LayoutKind.Sequential, Size = 72)]
internal unsafe struct Dims64
{
    public const int MaxDims = 8;
    public int NbDims;
    private fixed long _d[MaxDims];

    public static Dims64 From(ReadOnlySpan<long> dims)
    {
        if (dims.Length > MaxDims)
            throw new ArgumentException($"TensorRT tensors have at most {MaxDims} dimensions; got {dims.Length}.", nameof(dims));
        var result = new Dims64 { NbDims = dims.Length };
        for (int i = 0; i < dims.Length; i++)
            result._d[i] = dims[i];
        return result;
    }

    public readonly long[] ToArray()
    {
        if (NbDims < 0 || NbDims > MaxDims)
            throw new TrtException($"TensorRT returned a Dims64 with nbDims = {NbDims} (valid: 0..{MaxDims}); the slot table may not match this libnvinfer.");
        var result = new long[NbDims];
        for (int i = 0; i < NbDims; i++)
            result[i] = _d[i];
        return result;
    }
}

using System.Text.Json;
using Rain.Engine.Interop.TensorRt;

namespace Rain.Engine.Tests.TensorRt;

/// <summary>
/// Every slot the binding uses equals the compiler-derived vtable dumps of NVIDIA's public headers
/// (<c>tests/data/trt-abi/vtables.json</c>, a copy of the team's shared/trt-abi), for every 10.x and 11.x tag and
/// both ABIs.
/// </summary>
public sealed class TrtSlotTableTests
{
    private static readonly (string Field, string Class, string Signature)[] Methods =
    [
        (nameof(TrtSlots.GetPImpl), "nvinfer1::apiv::VRuntime", "getPImpl()"),
        (nameof(TrtSlots.GetPImpl), "nvinfer1::apiv::VCudaEngine", "getPImpl()"),
        (nameof(TrtSlots.GetPImpl), "nvinfer1::apiv::VExecutionContext", "getPImpl()"),
        (nameof(TrtSlots.RuntimeDeserializeCudaEngine), "nvinfer1::apiv::VRuntime", "deserializeCudaEngine(const void *, std::size_t)"),
        (nameof(TrtSlots.EngineCreateExecutionContext), "nvinfer1::apiv::VCudaEngine", "createExecutionContext(nvinfer1::ExecutionContextAllocationStrategy)"),
        (nameof(TrtSlots.EngineGetTensorShape), "nvinfer1::apiv::VCudaEngine", "getTensorShape(const char *) const"),
        (nameof(TrtSlots.EngineGetTensorDataType), "nvinfer1::apiv::VCudaEngine", "getTensorDataType(const char *) const"),
        (nameof(TrtSlots.EngineGetTensorIOMode), "nvinfer1::apiv::VCudaEngine", "getTensorIOMode(const char *) const"),
        (nameof(TrtSlots.EngineGetNbIOTensors), "nvinfer1::apiv::VCudaEngine", "getNbIOTensors() const"),
        (nameof(TrtSlots.EngineGetIOTensorName), "nvinfer1::apiv::VCudaEngine", "getIOTensorName(int32_t) const"),
        (nameof(TrtSlots.EngineGetDeviceMemorySizeV2), "nvinfer1::apiv::VCudaEngine", "getDeviceMemorySizeV2() const"),
        (nameof(TrtSlots.ContextGetEngine), "nvinfer1::apiv::VExecutionContext", "getEngine() const"),
        (nameof(TrtSlots.ContextSetInputShape), "nvinfer1::apiv::VExecutionContext", "setInputShape(const char *, const nvinfer1::Dims &)"),
        (nameof(TrtSlots.ContextGetTensorShape), "nvinfer1::apiv::VExecutionContext", "getTensorShape(const char *) const"),
        (nameof(TrtSlots.ContextSetTensorAddress), "nvinfer1::apiv::VExecutionContext", "setTensorAddress(const char *, void *)"),
        (nameof(TrtSlots.ContextEnqueueV3), "nvinfer1::apiv::VExecutionContext", "enqueueV3(cudaStream_t)"),
        (nameof(TrtSlots.ContextSetDeviceMemoryV2), "nvinfer1::apiv::VExecutionContext", "setDeviceMemoryV2(void *, int64_t)"),
        (nameof(TrtSlots.HostMemoryData), "nvinfer1::apiv::VHostMemory", "data() const"),
        (nameof(TrtSlots.HostMemorySize), "nvinfer1::apiv::VHostMemory", "size() const"),
        (nameof(TrtSlots.BuilderCreateBuilderConfig), "nvinfer1::apiv::VBuilder", "createBuilderConfig()"),
        (nameof(TrtSlots.BuilderCreateNetworkV2), "nvinfer1::apiv::VBuilder", "createNetworkV2(nvinfer1::NetworkDefinitionCreationFlags)"),
        (nameof(TrtSlots.BuilderCreateOptimizationProfile), "nvinfer1::apiv::VBuilder", "createOptimizationProfile()"),
        (nameof(TrtSlots.BuilderBuildSerializedNetwork), "nvinfer1::apiv::VBuilder", "buildSerializedNetwork(nvinfer1::INetworkDefinition &, nvinfer1::IBuilderConfig &)"),
        (nameof(TrtSlots.ConfigSetFlag), "nvinfer1::apiv::VBuilderConfig", "setFlag(nvinfer1::BuilderFlag)"),
        (nameof(TrtSlots.ConfigAddOptimizationProfile), "nvinfer1::apiv::VBuilderConfig", "addOptimizationProfile(const nvinfer1::IOptimizationProfile *)"),
        (nameof(TrtSlots.ConfigSetMemoryPoolLimit), "nvinfer1::apiv::VBuilderConfig", "setMemoryPoolLimit(nvinfer1::MemoryPoolType, std::size_t)"),
        (nameof(TrtSlots.ConfigCreateTimingCache), "nvinfer1::apiv::VBuilderConfig", "createTimingCache(const void *, std::size_t) const"),
        (nameof(TrtSlots.ConfigSetTimingCache), "nvinfer1::apiv::VBuilderConfig", "setTimingCache(const nvinfer1::ITimingCache &, bool)"),
        (nameof(TrtSlots.TimingCacheSerialize), "nvinfer1::apiv::VTimingCache", "serialize() const"),
        (nameof(TrtSlots.ProfileSetDimensions), "nvinfer1::apiv::VOptimizationProfile", "setDimensions(const char *, nvinfer1::OptProfileSelector, const nvinfer1::Dims &)"),
        (nameof(TrtSlots.ParserParse), "nvonnxparser::IParser", "parse(const void *, size_t, const char *)"),
        (nameof(TrtSlots.ParserGetNbErrors), "nvonnxparser::IParser", "getNbErrors() const"),
        (nameof(TrtSlots.ParserGetError), "nvonnxparser::IParser", "getError(int) const"),
        (nameof(TrtSlots.ParserErrorDesc), "nvonnxparser::IParserError", "desc() const"),
        (nameof(TrtSlots.ParserErrorNodeName), "nvonnxparser::IParserError", "nodeName() const"),
    ];

    private static readonly string[] PublicWrappers =
        ["IRuntime", "ICudaEngine", "IExecutionContext", "IHostMemory", "IBuilder", "IBuilderConfig", "INetworkDefinition", "ITimingCache"];

    public static TheoryData<string> Tags()
    {
        using var doc = Load();
        return new TheoryData<string>(doc.RootElement.EnumerateObject().Select(p => p.Name).Where(n => n.StartsWith("v10", StringComparison.Ordinal) || n.StartsWith("v11", StringComparison.Ordinal)));
    }

    private static JsonDocument Load() => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TensorRt", "vtables.json")));

    private static int VersionOf(string tag)
    {
        var parts = tag[1..tag.IndexOf('|', StringComparison.Ordinal)].Split('.').Select(int.Parse).ToArray();
        return (parts[0] * 10000) + (parts[1] * 100) + (parts.Length > 2 ? parts[2] : 0);
    }

    [Theory]
    [MemberData(nameof(Tags))]
    public void EverySlotMatchesTheCompilerDump(string tag)
    {
        using var doc = Load();
        var classes = doc.RootElement.GetProperty(tag);
        int version = VersionOf(tag);
        var abi = tag.EndsWith("|msvc", StringComparison.Ordinal) ? TrtAbiKind.Msvc : TrtAbiKind.Itanium;
        var slots = TrtSlots.For(version / 10000, abi) ?? throw new Xunit.Sdk.XunitException($"no table for {tag}");
        int checkedSlots = 0;
        foreach (var (field, cls, signature) in Methods)
        {
            if (!classes.TryGetProperty(cls, out var list))
            {
                // The snapshot lacks IParser headers for 10.1–10.13 (trt-abi README §2.4); every other class is present.
                Assert.StartsWith("nvonnxparser::", cls, StringComparison.Ordinal);
                continue;
            }

            var names = list.EnumerateArray().Select(e => e.GetString()).ToList();
            int index = names.IndexOf(signature);
            if (index < 0)
            {
                // Only the V2 memory calls are newer than 10.0, and the binding refuses versions before 10.1.
                Assert.True(version < TrtLibrary.MinimumVersion, $"{tag}: {cls}::{signature} is missing but {version} is supported");
                continue;
            }

            int ours = (int)typeof(TrtSlots).GetProperty(field)!.GetValue(slots)!;
            Assert.True(index == ours, $"{tag}: {cls}::{signature} is at slot {index}, the binding uses {ours} ({field})");
            checkedSlots++;
        }

        foreach (string wrapper in PublicWrappers)
        {
            var names = classes.GetProperty($"nvinfer1::{wrapper}").EnumerateArray().Select(e => e.GetString()).ToList();
            int delete = names.IndexOf(abi == TrtAbiKind.Msvc ? "~DTOR[scalar deleting]" : "~DTOR[deleting]");
            Assert.Equal(slots.PublicDelete, delete);
        }

        if (classes.TryGetProperty("nvonnxparser::IParser", out var parser))
        {
            var names = parser.EnumerateArray().Select(e => e.GetString()).ToList();
            Assert.Equal(slots.ParserDelete, names.IndexOf(abi == TrtAbiKind.Msvc ? "~DTOR[scalar deleting]" : "~DTOR[deleting]"));
        }

        var logger = classes.TryGetProperty("nvinfer1::ILogger", out var l10) ? l10 : classes.GetProperty("nvinfer1::v_1_0::ILogger");
        var loggerNames = logger.EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(slots.LoggerVtableLength, loggerNames.Count);
        Assert.StartsWith("log(", loggerNames[slots.LoggerLog], StringComparison.Ordinal);
        if (slots.Major >= 11)
            Assert.Equal(["getAPILanguage() const", "getInterfaceInfo() const"], loggerNames.Take(2));
        int parserMethods = Methods.Count(m => m.Class.StartsWith("nvonnxparser::", StringComparison.Ordinal));
        if (version >= TrtLibrary.MinimumVersion)
            Assert.True(checkedSlots >= Methods.Length - parserMethods, $"{tag}: only {checkedSlots} of {Methods.Length} slots checked");
    }

    [Fact]
    public void TablesExistForBothMajorsAndAbis()
    {
        foreach (int major in new[] { 10, 11 })
            foreach (var abi in new[] { TrtAbiKind.Itanium, TrtAbiKind.Msvc })
                Assert.NotNull(TrtSlots.For(major, abi));
        Assert.Null(TrtSlots.For(9, TrtAbiKind.Itanium));
        Assert.Null(TrtSlots.For(12, TrtAbiKind.Msvc));
    }

    [Fact]
    public void EnumValuesFollowTheHeaders()
    {
        // shared/trt-abi/README.md §2.4: OptProfileSelector 0/1/2, kUSER_MANAGED 2, kWORKSPACE 0, TensorIOMode 1/2,
        // DataType kFLOAT 0 / kHALF 1 / kBF16 7, BuilderFlag::kFP16 0 in 10.x and removed in 11.x.
        foreach (var e in new[] { TrtEnums.V10, TrtEnums.V11 })
        {
            Assert.Equal((0, 1, 2), (e.OptProfileMin, e.OptProfileOpt, e.OptProfileMax));
            Assert.Equal((2, 0, 1, 2), (e.AllocationStrategyUserManaged, e.MemoryPoolWorkspace, e.IOModeInput, e.IOModeOutput));
        }

        Assert.Equal(0, TrtEnums.V10.BuilderFlagFp16);
        Assert.Null(TrtEnums.V11.BuilderFlagFp16);
        Assert.Equal((0, 1, 7), ((int)TrtDataType.Float, (int)TrtDataType.Half, (int)TrtDataType.BFloat16));
    }
}

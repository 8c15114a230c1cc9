using Rain.Engine.Backends.TensorRt;
using Rain.Engine.Bundle;
using Rain.Engine.Interop.TensorRt;
using Rain.Models.Bundle;
using Rain.Models.Config;
using Rain.Models.Onnx;
using Rain.Testing;

namespace Rain.Models.Tests;

/// <summary>
/// onnx2trt's build flow over a real exported bundle, against the fake libnvinfer (compiled from C, laid out per the
/// 10.x Linux tables): every part parsed and built through the binding, plans and index written under the GPU key, a
/// second run reusing every plan, a change of flags building into another folder. This checks our side of the ABI and
/// the cache logic, not TensorRT itself.
/// </summary>
[Collection(nameof(FakeTensorRtGroup))]
public sealed class EngineBuildTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"rain-engines-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }

    /// <summary>onnx2trt's flow: the UNet form's models written, then every engine built.</summary>
    private static BundleBuildResult Build(ModelBundle bundle, EngineBuildSettings settings, TrtLibrary library, int sm, Action<int, int, PartBuildResult>? progress = null)
    {
        UNetForms.Write(bundle, settings.UNet, settings.Fp16);
        return EngineBuilder.BuildBundle(bundle, settings, library, sm, progress);
    }

    private static IReadOnlyList<string> Engines(ModelBundle bundle, EngineBuildSettings settings) =>
        [.. UNetLayout.For(bundle.Manifest, settings.UNet, settings.Fp16).Engines(bundle.Manifest).Select(e => e.Part)];

    private ModelBundle ExportTiny()
    {
        string yaml = RainPresets.Materialize("tiny", Path.Combine(_root, "rain"));
        string folder = Path.Combine(_root, "bundle");
        BundleExport.Write(RainConfig.Load(yaml), folder, randomSeed: 3);
        return ModelBundle.Load(folder);
    }

    [Fact]
    public void AnInterruptedBuildKeepsItsFinishedPlansAndTheNextRunBuildsOnlyTheRest()
    {
        var bundle = ExportTiny();
        var settings = new EngineBuildSettings { TensorRtDirectory = FakeTensorRt.Directory, ComputeCapability = 90 };
        var (library, sm) = EngineBuilder.Prepare(settings);
        FakeTensorRt.Reset(library.InferHandle);
        const int finished = 5;
        // A time-limited session ends the build after five parts (the progress callback is where it stops here).
        Assert.Throws<OperationCanceledException>(() => Build(bundle, settings, library, sm, (done, _, _) =>
        {
            if (done == finished)
                throw new OperationCanceledException();
        }));
        string folder = Path.Combine(bundle.Folder, "engines", "trt10.16.0-sm90-fp16-whole");
        var partial = EngineIndex.TryRead(folder) ?? throw new Xunit.Sdk.XunitException("no index.json after an interrupted build");
        Assert.Equal(finished, partial.Parts.Count);
        Assert.All(partial.Parts.Values, e => Assert.True(File.Exists(Path.Combine(folder, e.Plan))));

        var second = Build(bundle, settings, library, sm).Parts;
        Assert.Equal(finished, second.Count(r => !r.Built));
        Assert.Equal(Engines(bundle, settings).Count - finished, second.Count(r => r.Built));
        Assert.Equal(Engines(bundle, settings).Count, EngineIndex.TryRead(folder)!.Parts.Count);
    }

    [Theory]
    [InlineData(UNetForm.Whole)]
    [InlineData(UNetForm.Cut)]
    public void BuildsEveryEngineOfTheFormOnceAndReusesUnchangedPlans(UNetForm form)
    {
        var bundle = ExportTiny();
        var settings = new EngineBuildSettings { TensorRtDirectory = FakeTensorRt.Directory, ComputeCapability = 90, UNet = form };
        var (library, sm) = EngineBuilder.Prepare(settings);
        FakeTensorRt.Reset(library.InferHandle);
        Assert.Equal(90, sm);

        var first = Build(bundle, settings, library, sm).Parts;
        var engines = Engines(bundle, settings);
        Assert.Equal(engines.Count, first.Count);
        // The whole UNet is one engine; the cut one an engine per part (43 for RAIN, as many as the plan runs); six more networks.
        Assert.Equal(form == UNetForm.Whole ? 7 : 6 + bundle.Manifest.UNetPlan.Steps.Count(s => s.StepKind == PlanStepKind.RunPart), engines.Count);
        Assert.All(first, r => Assert.True(r.Built));
        string folder = Path.Combine(bundle.Folder, "engines", $"trt10.16.0-sm90-fp16-{UNetLayout.Name(form)}");
        var index = EngineIndex.TryRead(folder) ?? throw new Xunit.Sdk.XunitException("no index.json");
        Assert.Equal(engines.Order(), index.Parts.Keys.Order());
        Assert.Equal(UNetLayout.Name(form), index.UNet);
        foreach (var (part, entry) in index.Parts)
        {
            string plan = File.ReadAllText(Path.Combine(folder, entry.Plan));
            Assert.StartsWith("FAKEPLAN in=x out=y", plan, StringComparison.Ordinal); // parsed, then built by the fake
            Assert.Contains("flags=0,", plan, StringComparison.Ordinal);                // kFP16 went through setFlag
            Assert.Contains("ws=4294967296", plan, StringComparison.Ordinal);          // and the workspace limit through setMemoryPoolLimit
            Assert.StartsWith(part + ".", entry.Plan, StringComparison.Ordinal);
        }

        string[] events = FakeTensorRt.Events(library.InferHandle);
        Assert.Equal(engines.Count, events.Count(e => e.StartsWith("parse ", StringComparison.Ordinal)));
        // The parser reads the form's models from the bundle folder, where their external data is.
        string unetModel = form == UNetForm.Whole ? "unet.whole.onnx" : "unet.cut16.part00.onnx";
        Assert.Contains(events, e => e.Contains($"path={Path.Combine(bundle.Folder, unetModel)}", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Contains($"path={bundle.PathOf("pose_guider")}", StringComparison.Ordinal));
        Assert.DoesNotContain("trap", events);
        Assert.Equal(0, FakeTensorRt.LiveObjects(library.InferHandle));

        var second = Build(bundle, settings, library, sm).Parts;
        Assert.All(second, r => Assert.False(r.Built));

        var fp32 = Build(bundle, settings with { Fp16 = false }, library, sm).Parts;
        Assert.All(fp32, r => Assert.True(r.Built));
        Assert.True(Directory.Exists(Path.Combine(bundle.Folder, "engines", $"trt10.16.0-sm90-fp32-{UNetLayout.Name(form)}")));
    }

    [Fact]
    public void OneTimingCacheServesEveryPartAndTheNextRunAndIsKeptBesideThePlans()
    {
        var bundle = ExportTiny();
        var settings = new EngineBuildSettings { TensorRtDirectory = FakeTensorRt.Directory, ComputeCapability = 90 };
        var (library, sm) = EngineBuilder.Prepare(settings);
        FakeTensorRt.Reset(library.InferHandle);
        int parts = Engines(bundle, settings).Count;

        // First run: a new cache (created once, from an empty blob), given to every part's config, every part timed.
        var first = Build(bundle, settings, library, sm);
        string[] events = FakeTensorRt.Events(library.InferHandle);
        Assert.Equal(0, first.TimingCacheLoadedBytes);
        Assert.Equal(["createTimingCache 0 bytes"], events.Where(e => e.StartsWith("createTimingCache", StringComparison.Ordinal)));
        Assert.Equal(parts, events.Count(e => e == "setTimingCache ignoreMismatch=0"));
        Assert.Equal(parts, events.Count(e => e.StartsWith("timing cache miss ", StringComparison.Ordinal)));
        string cacheFile = Path.Combine(first.Folder, PlanTimingCache.FileName);
        Assert.Equal(new FileInfo(cacheFile).Length, first.TimingCacheBytes);
        Assert.Contains("unet.whole.onnx\n", File.ReadAllText(cacheFile), StringComparison.Ordinal);
        Assert.Equal(0, FakeTensorRt.LiveObjects(library.InferHandle)); // the cache was deleted after the last builder

        // Next run (every plan rebuilt): the cache on disk is loaded and every part's tactics come from it.
        FakeTensorRt.Reset(library.InferHandle);
        var again = Build(bundle, settings with { Force = true }, library, sm);
        events = FakeTensorRt.Events(library.InferHandle);
        Assert.Equal(first.TimingCacheBytes, again.TimingCacheLoadedBytes);
        Assert.Equal([$"createTimingCache {first.TimingCacheBytes} bytes"], events.Where(e => e.StartsWith("createTimingCache", StringComparison.Ordinal)));
        Assert.Equal(parts, events.Count(e => e.StartsWith("timing cache hit ", StringComparison.Ordinal)));
        Assert.DoesNotContain(events, e => e.StartsWith("timing cache miss ", StringComparison.Ordinal));
        Assert.Null(again.TimingCacheNote);

        // A cache measured on another GPU model is not loaded (its timings would not hold here).
        var index = EngineIndex.TryRead(first.Folder)!;
        new EngineIndex { TensorRtVersion = index.TensorRtVersion, ComputeCapability = index.ComputeCapability, Precision = index.Precision, UNet = index.UNet, WorkspaceBytes = index.WorkspaceBytes, Parts = index.Parts, TimingCacheDevice = "NVIDIA A100" }
            .Write(first.Folder);
        var elsewhere = Build(bundle, settings with { Force = true }, library, sm);
        Assert.Equal(0, elsewhere.TimingCacheLoadedBytes);
        Assert.Contains("was measured on NVIDIA A100", elsewhere.TimingCacheNote, StringComparison.Ordinal);
    }

    [Fact]
    public void PartKeysChangeWithEveryInput()
    {
        var part = new PartManifest
        {
            File = "p.onnx", Sha256 = "aa", DataFile = "p.onnx.data", DataSha256 = "bb",
            Inputs = [new TensorContract("x", "float32", [1, 4])], Outputs = [new TensorContract("y", "float32", [1, 4])],
        };
        string key = EngineIndex.PartKey(part, "10.16.0", 90, true, 1 << 30);
        Assert.Equal(16, key.Length);
        Assert.Equal(key, EngineIndex.PartKey(part, "10.16.0", 90, true, 1 << 30));
        Assert.NotEqual(key, EngineIndex.PartKey(new PartManifest { File = part.File, Sha256 = "ab", DataFile = part.DataFile, DataSha256 = part.DataSha256, Inputs = part.Inputs, Outputs = part.Outputs }, "10.16.0", 90, true, 1 << 30));
        Assert.NotEqual(key, EngineIndex.PartKey(new PartManifest { File = part.File, Sha256 = part.Sha256, DataFile = part.DataFile, DataSha256 = "bc", Inputs = part.Inputs, Outputs = part.Outputs }, "10.16.0", 90, true, 1 << 30));
        Assert.NotEqual(key, EngineIndex.PartKey(new PartManifest { File = part.File, Sha256 = part.Sha256, DataFile = part.DataFile, DataSha256 = part.DataSha256, Inputs = [new TensorContract("x", "float32", [2, 4])], Outputs = part.Outputs }, "10.16.0", 90, true, 1 << 30));
        Assert.NotEqual(key, EngineIndex.PartKey(part, "10.16.1", 90, true, 1 << 30));
        Assert.NotEqual(key, EngineIndex.PartKey(part, "10.16.0", 89, true, 1 << 30));
        Assert.NotEqual(key, EngineIndex.PartKey(part, "10.16.0", 90, false, 1 << 30));
        Assert.NotEqual(key, EngineIndex.PartKey(part, "10.16.0", 90, true, 1 << 31));
    }

    [Fact]
    public void WithoutTensorRtTheBuildFailsFastNamingWhatWasTried()
    {
        string empty = Path.Combine(_root, "no-trt");
        Directory.CreateDirectory(empty);
        var e = Assert.Throws<TrtException>(() => EngineBuilder.Prepare(new EngineBuildSettings { TensorRtDirectory = empty, ComputeCapability = 90 }));
        Assert.Contains($"{empty}/libnvinfer.so.10 (no such file)", e.Message, StringComparison.Ordinal);
        Assert.Contains("Install TensorRT", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutAGpuAndWithoutSmTheBuildSaysWhy()
    {
        // This machine has no CUDA driver; with TensorRT present the missing GPU is named.
        var e = Assert.Throws<TrtException>(() => EngineBuilder.Prepare(new EngineBuildSettings { TensorRtDirectory = FakeTensorRt.Directory }));
        Assert.Contains("Cannot tell which GPU to build for", e.Message, StringComparison.Ordinal);
        Assert.Contains("pass --sm", e.Message, StringComparison.Ordinal);
    }
}

using Rain.Engine.Backends.Cuda;
using Rain.Engine.Interop;
using Rain.Testing;

namespace Rain.Engine.Tests.Diagnostics;

/// <summary>
/// NVTX through the injection protocol: absent (the normal case), present but broken in each way a tool can be, and a
/// working fake tool (compiled with cc) that records the ranges the driver's enqueue loop opens.
/// </summary>
[Collection(nameof(FakeNvtxGroup))]
public sealed class NvtxTests
{
    private static Func<string, string?> Env(string? injection) => name => name == NvtxTool.InjectionVariable ? injection : null;

    private static NvtxTool? Attach(string? injection, out string status) =>
        NvtxTool.Attach(NativeLibraries.Probe(NativeLibraries.NvtxInjection, Env(injection)), out status);

    [Fact]
    public void WithoutTheVariableNoToolIsAttachedAndNothingIsSearched()
    {
        Assert.Null(Attach(null, out string status));
        Assert.Equal("no NVTX tool attached (NVTX_INJECTION64_PATH is not set)", status);
        Assert.Empty(NativeLibraries.Candidates(NativeLibraries.NvtxInjection, name => name == NativeLibraries.SearchDirsVariable ? "/usr/lib" : null));
        if (Environment.GetEnvironmentVariable(NvtxTool.InjectionVariable) is null)
        {
            Assert.Null(NvtxTool.Current);
            Assert.Equal(status, NvtxTool.Status);
        }
    }

    [Fact]
    public void AVariableNamingAMissingFileIsReportedWithThePath()
    {
        Assert.Null(Attach("/nonexistent/libToolsInjection64.so", out string status));
        Assert.Equal("no NVTX tool attached: NVTX_INJECTION64_PATH names a library that does not load (tried /nonexistent/libToolsInjection64.so (no such file))", status);
    }

    [SkippableFact]
    public void BrokenToolsAreRefusedWithTheReason()
    {
        Requires.Program("cc", "the fake NVTX tools are compiled with the C compiler");
        Assert.Null(Attach(FakeNvtx.WithoutInit, out string noInit));
        Assert.Equal($"no NVTX tool attached: {FakeNvtx.WithoutInit} exports no InitializeInjectionNvtx2", noInit);
        Assert.Null(Attach(FakeNvtx.Refusing, out string refused));
        Assert.Equal($"no NVTX tool attached: {FakeNvtx.Refusing}'s InitializeInjectionNvtx2 reported failure", refused);
        Assert.Null(Attach(FakeNvtx.WithoutDomains, out string noDomains));
        Assert.StartsWith($"no NVTX tool attached: {FakeNvtx.WithoutDomains} does not implement NVTX domains", noDomains, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void TheDriverEnqueueHooksOpenOneRangePerStepAndPerPartInTheTool()
    {
        Requires.Program("cc", "the fake NVTX tool is compiled with the C compiler");
        var tool = Attach(FakeNvtx.Library, out string status);
        Assert.NotNull(tool);
        Assert.Equal($"NVTX ranges go to {FakeNvtx.Library} (domain Rain.Engine)", status);

        // The profiler as the step driver calls it, on an uncaptured step with no trace (so no CUDA event is recorded:
        // the device and the stream are never touched).
        var profiler = new StepProfiler(null!, tool);
        var parts = new[] { new NamedPart("pose_guider"), new NamedPart("unet.part00") };
        for (long step = 3; step <= 4; step++)
        {
            profiler.BeginStep(step);
            profiler.BeginEnqueue(capturing: false);
            foreach (var part in parts)
            {
                profiler.Before(null!, part);
                profiler.After(null!);
            }

            profiler.EndEnqueue(null!);
            profiler.EndStep();
        }

        var log = FakeNvtx.Log(NativeLibraries.Probe(NativeLibraries.NvtxInjection, Env(FakeNvtx.Library)).Handle);
        Assert.Equal(
        [
            "init version 3", "domain Rain.Engine",
            "string 1 device step", "push 0 device step color=ff1e5ac8 payload=3",
            "string 2 pose_guider", "push 1 pose_guider color=ffe67828 payload=3", "pop 1",
            "string 3 unet.part00", "push 1 unet.part00 color=ffe67828 payload=3", "pop 1",
            "pop 0",
            "push 0 device step color=ff1e5ac8 payload=4",
            "push 1 pose_guider color=ffe67828 payload=4", "pop 1",
            "push 1 unet.part00 color=ffe67828 payload=4", "pop 1",
            "pop 0",
        ], log[^17..]);
    }

    private sealed class NamedPart(string name) : IPartRunner
    {
        public string Name => name;

        public void Enqueue(CudaStream stream) => throw new InvalidOperationException("not enqueued in this test");
    }
}

/// <summary>Tests that load the fake NVTX tool share its log: they run one at a time.</summary>
[CollectionDefinition(nameof(FakeNvtxGroup), DisableParallelization = true)]
public sealed class FakeNvtxGroup;

using Rain.Engine.Backends.Cuda;
using Rain.Engine.Interop;
using Rain.Testing;

namespace Rain.Engine.Tests;

/// <summary>The native-library resolver's probing order and trace, and the no-driver capability answer.</summary>
public sealed class NativeLibraryResolverTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [SkippableFact]
    public void NamesAreProbedNewestFirstAfterTheEnvironment()
    {
        Skip.If(OperatingSystem.IsWindows(), "the candidate names checked here are Linux's");
        Assert.Equal(["libcuda.so.1", "libcuda.so"], NativeLibraries.Candidates(NativeLibraries.Cuda, Env()));
        Assert.Equal(["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"], NativeLibraries.Candidates(NativeLibraries.Nvrtc, Env()));

        var withDirs = NativeLibraries.Candidates(NativeLibraries.Nvrtc, Env(
            ("RAIN_NVRTC_PATH", "/opt/x/libnvrtc.so.13.0"),
            (NativeLibraries.SearchDirsVariable, "/site-packages/nvidia/cu13/lib:/site-packages/nvidia/cuda_nvrtc/lib")));
        Assert.Equal("/opt/x/libnvrtc.so.13.0", withDirs[0]);
        Assert.Equal("/site-packages/nvidia/cu13/lib/libnvrtc.so.13", withDirs[1]);
        Assert.Equal("/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.13", withDirs[5]);
        Assert.Equal("libnvrtc.so.13", withDirs[9]);
        Assert.Equal(13, withDirs.Count);
    }

    [SkippableFact]
    public void AnExplicitDirectoryIsSearchedForEveryName()
    {
        Skip.If(OperatingSystem.IsWindows(), "the candidate names checked here are Linux's");
        string dir = Path.GetTempPath();
        var candidates = NativeLibraries.Candidates(NativeLibraries.Cuda, Env(("RAIN_CUDA_DRIVER_PATH", dir)));
        Assert.Equal([Path.Combine(dir, "libcuda.so.1"), Path.Combine(dir, "libcuda.so"), "libcuda.so.1", "libcuda.so"], candidates);
    }

    [Fact]
    public void TheTraceNamesEveryCandidateAndWhyItFailed()
    {
        var result = NativeLibraries.Probe(NativeLibraries.Cuda, Env(("RAIN_CUDA_DRIVER_PATH", "/nonexistent/libcuda.so.1")));
        Assert.Equal("/nonexistent/libcuda.so.1 (no such file)", result.Trace[0]);
        if (result.Loaded)
        {
            Assert.EndsWith("(loaded)", result.Trace[^1], StringComparison.Ordinal);
            Assert.StartsWith("loaded ", result.Describe(), StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(3, result.Trace.Count);
            Assert.StartsWith("libcuda.so.1 (", result.Trace[1], StringComparison.Ordinal);
            Assert.StartsWith("libcuda.so (", result.Trace[2], StringComparison.Ordinal);
            Assert.StartsWith("tried /nonexistent/libcuda.so.1 (no such file), libcuda.so.1 (", result.Describe(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void NoDriverIsACapabilityAnswerNotACrash()
    {
        var capability = CudaDevice.Probe();
        var driver = NativeLibraries.Load(NativeLibraries.Cuda);
        if (!driver.Loaded)
        {
            Assert.False(capability.Available);
            Assert.StartsWith("no CUDA driver found: tried libcuda.so.1 (", capability.Reason, StringComparison.Ordinal);
            Assert.Contains("libcuda.so (", capability.Reason, StringComparison.Ordinal);
            Assert.Equal(0, capability.DriverVersion);
            var e = Assert.Throws<CudaException>(() => CudaDevice.Open());
            Assert.Contains(capability.Reason, e.Message, StringComparison.Ordinal);
        }
        else
        {
            // A machine with a driver: either a usable device or a reason that says why not.
            Assert.True(capability.Available || capability.Reason.Length > 0);
            Assert.True(capability.DriverVersion > 0);
        }

        Assert.False(CudaDevice.Probe(ordinal: 1_000).Available);
    }

    [SkippableFact]
    public void NvrtcResultsNameTheFailingCall()
    {
        Requires.Tool(NvrtcCompiler.IsAvailable(out string reason), reason);
        var e = Assert.Throws<NvrtcException>(() => Nvrtc.ThrowIfFailed(AnInvalidInputResult()));
        Assert.Contains("AnInvalidInputResult()", e.Message, StringComparison.Ordinal);
        Assert.Contains("NVRTC_ERROR_INVALID_INPUT", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, e.Result);
    }

    private static int AnInvalidInputResult() => 3;
}

using System.Diagnostics;
using Rain.Engine.Backends.Cuda;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Engine.Tests;

/// <summary>
/// bench/gpu-check.sh where there is no GPU: it stops at once with exit code 2 and the probe's reason, before any slow
/// step (the PyTorch baseline, the NVRTC search), so a device run that drew no usable GPU costs seconds, not minutes.
/// </summary>
public sealed class GpuCheckScriptTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void WithoutAGPUTheCheckExits2AtOnceWithTheProbesReason()
    {
        Requires.Program("bash", "the GPU check is a bash script");
        Skip.If(CudaDevice.Probe().Available, "this machine has a usable GPU, so the check would run");
        var (code, text, seconds) = RunScript(GpuCheck.ConsoleDirectory, []);
        output.WriteLine(text);
        Assert.Equal(2, code);
        Assert.Contains("device: no CUDA driver found: tried libcuda.so.1 (", text, StringComparison.Ordinal);
        Assert.Contains("gpu-check: no usable GPU (the line above says why); nothing was run", text, StringComparison.Ordinal);
        Assert.DoesNotContain("PyTorch", text, StringComparison.Ordinal);
        Assert.True(seconds < 30, $"took {seconds:F1} s");
    }

    [SkippableFact]
    public void WithoutThePackTheCheckSaysHowToMakeIt()
    {
        Requires.Program("bash", "the GPU check is a bash script");
        Skip.If(File.Exists(Path.Combine(GpuCheck.RepositoryRoot, "artifacts", "gpu-check", "app.tar.xz")), "a pack was made in this clone, so the script unpacks and runs it");
        var (code, text, _) = RunScript(null, []);
        Assert.Equal(2, code);
        Assert.Contains("artifacts/gpu-check/app.tar.xz not found. Make it on a .NET machine with: bash bench/gpu-pack.sh", text, StringComparison.Ordinal);
    }

    /// <summary>Runs bench/gpu-check.sh with the app in <paramref name="appDirectory"/> (null: the pack).</summary>
    internal static (int Code, string Output, double Seconds) RunScript(string? appDirectory, string[] arguments, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(GpuCheck.RepositoryRoot, "bench", "gpu-check.sh"), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment.Remove("RAIN_CUDA_DRIVER_PATH");
        start.Environment.Remove("RAIN_GPU_CHECK_DIR");
        if (appDirectory is not null)
            start.Environment["RAIN_GPU_CHECK_DIR"] = appDirectory;
        // The locally built app is framework-dependent: its apphost finds the runtime that runs these tests.
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host)
            start.Environment["DOTNET_ROOT"] = Path.GetDirectoryName(host);
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(8)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("bench/gpu-check.sh did not finish within 8 minutes");
        }

        return (process.ExitCode, stdout + stderr.Result, clock.Elapsed.TotalSeconds);
    }
}

/// <summary>Where the GPU check's console and the repository are, seen from the test output folder.</summary>
internal static class GpuCheck
{
    private static string Configuration => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // …/bin/<Configuration>/net10.0/

    public static string RepositoryRoot => Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));

    public static string ConsoleDirectory => Path.Combine(RepositoryRoot, "bench", "Rain.Bench.Gpu", "bin", Configuration, "net10.0");
}

using System.Diagnostics;
using Rain.Engine.Bundle;
using Rain.Engine.Tests.Api;
using Rain.Testing;
using Rain.Kernels;
using Xunit.Abstractions;

namespace Rain.Engine.Tests.FakeCuda;

/// <summary>
/// The whole CUDA backend — bindings, handles, modules, streams, graph capture, update and replay, the step driver
/// and the GPU check console — run against a fake libcuda.so.1 (fake_cuda.cpp) whose kernels are the real kernel
/// sources in the host emulation. Each run is a child process (a process binds one CUDA driver for its life), the
/// very console that bench/gpu-check.sh runs on a GPU. Needs g++; CI has it, so there these tests cannot skip.
/// </summary>
public sealed class FakeCudaDriverTests(ITestOutputHelper output, GoldenBundle bundle) : IClassFixture<GoldenBundle>
{
    private static readonly Lazy<string?> Driver = new(Build);
    private static string BuildProblem = "";

    private static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    [Fact]
    public void TheGpuChecksPassOnTheFakeDriver()
    {
        if (!Ready())
            return;
        var (code, text) = RunConsole("--checks-only", skipKernels: false);
        output.WriteLine(text);
        Assert.Contains("device: Fake CUDA device (CPU host emulation) (SM 9.0", text, StringComparison.Ordinal);
        Assert.Contains("kernel noise: CUBIN sm_90 (embedded)", text, StringComparison.Ordinal);
        Assert.Equal(11, text.Split('\n').Count(l => l.Contains("| PASS: ", StringComparison.Ordinal)));
        Assert.DoesNotContain("FAIL", text, StringComparison.Ordinal);
        Assert.Contains("all checks passed", text, StringComparison.Ordinal);
        Assert.Equal(0, code);
    }

    [Fact]
    public void TheBenchmarksRunEndToEndOnTheFakeDriver()
    {
        if (!Ready())
            return;
        // Kernels recorded but not run: the point is that every launch validates and the tables come out.
        var (code, text) = RunConsole("--bench-only", skipKernels: true);
        output.WriteLine(text);
        Assert.Equal(0, code);
        Assert.Equal(4, text.Split('\n').Count(l => l.StartsWith("| cross_noise_attention (v8) | F=16", StringComparison.Ordinal)));
        Assert.Contains("| lcm_step_roll (fp32) | F=16 p=4 E=16384 |", text, StringComparison.Ordinal);
        Assert.Contains("| CUDA graph replay |", text, StringComparison.Ordinal);
    }

    [Fact]
    public void TheTensorRtStreamIsWiredEndToEndOnTheFakeDriverAndFakeTensorRt()
    {
        if (!Ready())
            return;
        // Plans for every part of the golden bundle, in the fake's multi-tensor format: the engines then have exactly the
        // parts' contracts, check at each enqueue that every tensor is bound and zero their outputs.
        string copy = bundle.Copy("trt-wiring");
        var manifest = ModelBundle.Load(copy, verifyHashes: false).Manifest;
        FakeTensorRt.WriteWiringPlans(copy);
        int scratch = 4096 + (256 * manifest.Parts.Count); // the largest scratch of WriteWiringPlans' engines
        var (code, text2) = RunConsole($"--tensorrt-wiring \"{copy}\"", skipKernels: false, ("RAIN_TENSORRT_DIR", FakeTensorRt.Directory));
        output.WriteLine(text2);
        Assert.Contains($"tensorrt wiring: {manifest.Parts.Count} engines, arena {scratch} bytes", text2, StringComparison.Ordinal);
        Assert.Contains("6 steps, 3 chunks emitted, frames all zero, graph captured", text2, StringComparison.Ordinal);
        Assert.Equal(0, code);
    }

    private bool Ready()
    {
        if (Driver.Value is not null)
            return true;
        Assert.False(InCi, BuildProblem);
        output.WriteLine($"not run here: {BuildProblem}");
        return false;
    }

    private static (int Code, string Output) RunConsole(string arguments, bool skipKernels, params (string Name, string Value)[] environment)
    {
        string console = ConsolePath();
        Assert.True(File.Exists(console), $"{console} was not built (Rain.Engine.Tests references the project for that).");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet, $"exec \"{console}\" {arguments}") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["RAIN_CUDA_DRIVER_PATH"] = Driver.Value!;
        if (skipKernels)
            start.Environment["FAKE_CUDA_SKIP_KERNELS"] = "1";
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the GPU check console did not finish within 5 minutes on the fake driver");
        }

        return (process.ExitCode, stdout + stderr.Result);
    }

    private static string ConsolePath()
    {
        string config = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // …/bin/<Configuration>/net10.0/
        return Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "bench", "Rain.Bench.Gpu", "bin", config, "net10.0", "Rain.Bench.Gpu.dll"));
    }

    private static string? Build()
    {
        if (!OperatingSystem.IsLinux())
        {
            BuildProblem = "the fake CUDA driver is built for Linux only";
            return null;
        }

        string dir = Path.Combine(Path.GetTempPath(), $"rain-fake-cuda-{Environment.ProcessId}");
        Directory.CreateDirectory(Path.Combine(dir, "common"));
        foreach (string op in KernelImages.Ops)
            File.WriteAllText(Path.Combine(dir, op + ".cu"), KernelImages.Source(op));
        foreach (var (include, text) in KernelImages.Headers())
            File.WriteAllText(Path.Combine(dir, include), text);
        string here = AppContext.BaseDirectory;
        File.Copy(Path.Combine(here, "HostEmulation", "common", "half.cuh"), Path.Combine(dir, "common", "half.cuh"), overwrite: true);
        foreach (string file in new[] { "HostEmulation/cuda_host.h", "HostEmulation/harness.cpp", "FakeCuda/fake_cuda.cpp" })
            File.Copy(Path.Combine(here, file), Path.Combine(dir, Path.GetFileName(file)), overwrite: true);
        string library = Path.Combine(dir, "libcuda.so.1");
        try
        {
            using var p = Process.Start(new ProcessStartInfo("g++", $"-std=c++20 -O2 -ffp-contract=off -fno-fast-math -shared -fPIC -pthread -Wall -Werror -fsanitize=alignment -fno-sanitize-recover=all -Wl,-soname,libcuda.so.1 -o {library} harness.cpp fake_cuda.cpp")
            {
                WorkingDirectory = dir,
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            })!;
            string errors = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                BuildProblem = $"g++ could not build the fake CUDA driver ({p.ExitCode}): {errors}";
                return null;
            }
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            BuildProblem = $"g++ is not installed ({e.Message})";
            return null;
        }

        return library;
    }
}

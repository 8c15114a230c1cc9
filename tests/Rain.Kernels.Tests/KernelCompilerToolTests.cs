using System.Diagnostics;
using Rain.Engine.Interop;
using Rain.Testing;

namespace Rain.Kernels.Tests;

/// <summary>The build step itself (tools/kernelc): a kernel that does not compile fails the build with the compiler's words.</summary>
public sealed class KernelCompilerToolTests
{
    [SkippableFact]
    public void ABrokenKernelFailsTheBuildStepNamingTheFileAndTheError()
    {
        Requires.Tool(NvrtcCompiler.IsAvailable(out string reason), reason);

        string src = Path.Combine(Path.GetTempPath(), $"rain-kernelc-{Environment.ProcessId}");
        Directory.CreateDirectory(Path.Combine(src, "common"));
        foreach (string op in KernelImages.Ops)
            File.WriteAllText(Path.Combine(src, op + ".cu"), KernelImages.Source(op));
        foreach (var (include, text) in KernelImages.Headers())
            File.WriteAllText(Path.Combine(src, include), text);
        File.AppendAllText(Path.Combine(src, "lcm_step_roll.cu"), "\nextern \"C\" __global__ void broken() { not_declared_anywhere(); }\n");

        var (code, output) = Run(src, Path.Combine(src, "out"));
        Assert.Equal(1, code);
        Assert.Contains("lcm_step_roll.cu", output, StringComparison.Ordinal);
        Assert.Contains("not_declared_anywhere", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(src, "out", "kernels.stamp")), "a failed build step must not leave a stamp that makes it look up to date");
    }

    [Fact]
    public void BadArgumentsAreRejectedWithUsage()
    {
        var (code, output) = Run(null, null);
        Assert.Equal(2, code);
        Assert.Contains("--src", output, StringComparison.Ordinal);
    }

    private static (int Code, string Output) Run(string? src, string? output)
    {
        string config = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        string tool = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "tools", "kernelc", "bin", config, "net10.0", "kernelc.dll"));
        Assert.True(File.Exists(tool), $"{tool} was not built.");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        string arguments = src is null ? $"exec \"{tool}\"" : $"exec \"{tool}\" --src \"{src}\" --out \"{output}\" --require";
        using var process = Process.Start(new ProcessStartInfo(dotnet, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }
}

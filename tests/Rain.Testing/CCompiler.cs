using System.Diagnostics;

namespace Rain.Testing;

/// <summary>Runs the machine's C compiler for the native test fixtures (fake libnvinfer, fake NVTX tools).</summary>
public static class CCompiler
{
    /// <summary>Runs <paramref name="file"/> with <paramref name="args"/>; throws with the compiler's errors when it fails.</summary>
    public static void Run(string file, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })
            ?? throw new InvalidOperationException($"could not start {file}");
        var output = p.StandardOutput.ReadToEndAsync();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        output.Wait();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {args} failed ({p.ExitCode}): {err}");
    }
}

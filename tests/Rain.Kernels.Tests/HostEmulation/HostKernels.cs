using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Rain.Kernels.Tests.HostEmulation;

/// <summary>
/// The kernels of this assembly (their embedded CUDA sources, byte for byte) compiled for the CPU with the host
/// emulation in cuda_host.h (fibers for threads, warp barriers and collectives, mma.sync and cp.async stand-ins) and
/// run through the same <see cref="KernelLaunch"/> a GPU receives: grid, block, shared memory and packed arguments. Lets the CPU tests execute the kernel code itself where no GPU exists. Needs g++
/// (C++20); in CI its absence fails the tests that use it.
/// </summary>
internal static unsafe class HostKernels
{
    private static readonly Lazy<(nint Launch, string? Problem)> Library = new(Build);

    public static bool IsAvailable(out string problem)
    {
        problem = Library.Value.Problem ?? "";
        return Library.Value.Problem is null;
    }

    /// <summary>Runs <paramref name="launch"/>; "device" addresses are host addresses (pinned arrays).</summary>
    public static void Run(KernelLaunch launch)
    {
        var (entry, problem) = Library.Value;
        if (problem is not null)
            throw new InvalidOperationException(problem);
        var arguments = launch.Arguments;
        var storage = new byte[arguments.Count * 8];
        for (int i = 0; i < arguments.Count; i++)
            arguments[i].CopyTo(storage.AsSpan(i * 8));
        byte[] name = System.Text.Encoding.ASCII.GetBytes(launch.EntryPoint + '\0');
        int result;
        fixed (byte* s = storage, n = name)
        {
            void** pointers = stackalloc void*[Math.Max(1, arguments.Count)];
            for (int i = 0; i < arguments.Count; i++)
                pointers[i] = s + (i * 8);
            var f = (delegate* unmanaged<byte*, uint, uint, uint, uint, uint, uint, uint, void**, int>)entry;
            result = f(n, launch.Grid.X, launch.Grid.Y, launch.Grid.Z, launch.Block.X, launch.Block.Y, launch.Block.Z, launch.SharedBytes, pointers);
        }

        if (result != 0)
            throw new InvalidOperationException($"host launch of {launch} failed with code {result} (1 unknown entry, 2 shared memory too large, 3 partial warp, 4 a barrier no thread can pass, 5 a misaligned or out-of-range cp.async, 6 a warp exchange too large).");
    }

    private static (nint, string?) Build()
    {
        if (!OperatingSystem.IsLinux())
            return (0, "the host emulation is built with g++ on Linux only");
        string dir = Path.Combine(Path.GetTempPath(), $"rain-kernels-host-{Environment.ProcessId}");
        Directory.CreateDirectory(Path.Combine(dir, "common"));
        foreach (string op in KernelImages.Ops)
            File.WriteAllText(Path.Combine(dir, op + ".cu"), KernelImages.Source(op));
        foreach (var (include, text) in KernelImages.Headers())
            File.WriteAllText(Path.Combine(dir, include), text);
        string here = Path.Combine(AppContext.BaseDirectory, "HostEmulation");
        // The PTX of common/half.cuh (cvt conversions) and common/mma.cuh (mma.sync, cp.async, shuffles) have host
        // stand-ins; everything else is the shipped source.
        foreach (string header in Directory.GetFiles(Path.Combine(here, "common")))
            File.Copy(header, Path.Combine(dir, "common", Path.GetFileName(header)), overwrite: true);
        File.Copy(Path.Combine(here, "cuda_host.h"), Path.Combine(dir, "cuda_host.h"), overwrite: true);
        File.Copy(Path.Combine(here, "harness.cpp"), Path.Combine(dir, "harness.cpp"), overwrite: true);
        string library = Path.Combine(dir, "libkernels_host.so");
        try
        {
            using var p = Process.Start(new ProcessStartInfo("g++", $"-std=c++20 -O2 -ffp-contract=off -fno-fast-math -shared -fPIC -pthread -Wall -Werror -fsanitize=alignment -fno-sanitize-recover=all -o {library} {Path.Combine(dir, "harness.cpp")}")
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                WorkingDirectory = dir,
            })!;
            string errors = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                return (0, $"g++ could not compile the kernels for the host ({p.ExitCode}): {errors}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (0, $"g++ is not installed ({e.Message}); install g++ to run the kernels on the CPU");
        }

        nint handle = NativeLibrary.Load(library);
        return (NativeLibrary.GetExport(handle, "rain_host_launch"), null);
    }
}

using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Rain.Testing;

/// <summary>
/// Compiles <c>fake_nvinfer.c</c> with the machine's C compiler into libnvinfer.so.10 and libnvonnxparser.so.10 (once
/// per test run) and exposes the fake's control exports.
/// </summary>
public static unsafe class FakeTensorRt
{
    private static readonly Lazy<string> DirectoryLazy = new(Build);

    public static string Directory => DirectoryLazy.Value;

    private static string Build()
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("The fake libnvinfer is laid out for the Linux (Itanium) 10.x tables.");
        string source = Path.Combine(AppContext.BaseDirectory, "Native", "fake_nvinfer.c");
        string dir = Path.Combine(Path.GetTempPath(), $"rain-fake-trt-{Environment.ProcessId}");
        System.IO.Directory.CreateDirectory(dir);
        Run("cc", $"-shared -fPIC -O1 -Wall -Wno-unused-function -Wl,-soname,libnvinfer.so.10 -o {dir}/libnvinfer.so.10 {source}");
        Run("cc", $"-shared -fPIC -O1 -Wall -Wno-unused-function -DFAKE_PARSER -o {dir}/libnvonnxparser.so.10 {source} -L{dir} -l:libnvinfer.so.10");
        return dir;
    }

    private static void Run(string file, string args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })
            ?? throw new InvalidOperationException($"could not start {file}");
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {args} failed ({p.ExitCode}): {err}");
    }

    private static nint Export(nint lib, string name) => NativeLibrary.GetExport(lib, name);

    public static void Reset(nint lib) => ((delegate* unmanaged<void>)Export(lib, "fake_reset"))();

    public static void SetVersion(nint lib, int version) => ((delegate* unmanaged<int, void>)Export(lib, "fake_set_version"))(version);

    public static void SetWrongPImpl(nint lib, bool on) => ((delegate* unmanaged<int, void>)Export(lib, "fake_set_wrong_pimpl"))(on ? 1 : 0);

    public static int LiveObjects(nint lib) => ((delegate* unmanaged<int>)Export(lib, "fake_live_objects"))();

    public static void SetEnqueueFail(nint lib, bool on) => ((delegate* unmanaged<int, void>)Export(lib, "fake_set_enqueue_fail"))(on ? 1 : 0);

    public static nint LastStream(nint lib) => ((delegate* unmanaged<nint>)Export(lib, "fake_last_stream"))();

    public static string[] Events(nint lib) =>
        (Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)Export(lib, "fake_events"))()) ?? string.Empty)
            .Split(';', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>Tests that load the fake libnvinfer share its global state: they run one at a time.</summary>
[Xunit.CollectionDefinition(nameof(FakeTensorRtGroup), DisableParallelization = true)]
public sealed class FakeTensorRtGroup;

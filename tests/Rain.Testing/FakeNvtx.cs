using System.Runtime.InteropServices;

namespace Rain.Testing;

/// <summary>
/// Compiles <c>fake_nvtx.c</c> (a fake NVTX injection library, as Nsight Systems sets in NVTX_INJECTION64_PATH) with the
/// machine's C compiler, once per test run, in four variants: the working tool and three that fail in the ways a tool can.
/// </summary>
public static unsafe class FakeNvtx
{
    private static readonly Lazy<string> DirectoryLazy = new(Build);

    /// <summary>The working fake: records domains, strings, pushes, pops and marks.</summary>
    public static string Library => Path.Combine(DirectoryLazy.Value, "libfake_nvtx.so");

    /// <summary>Its InitializeInjectionNvtx2 returns 0.</summary>
    public static string Refusing => Path.Combine(DirectoryLazy.Value, "libfake_nvtx_refuse.so");

    /// <summary>Initialises but fills no function slot.</summary>
    public static string WithoutDomains => Path.Combine(DirectoryLazy.Value, "libfake_nvtx_nodomains.so");

    /// <summary>Exports no InitializeInjectionNvtx2.</summary>
    public static string WithoutInit => Path.Combine(DirectoryLazy.Value, "libfake_nvtx_noinit.so");

    /// <summary>What the loaded fake recorded so far, one call per line.</summary>
    public static string[] Log(nint library) =>
        (Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)NativeLibrary.GetExport(library, "fake_nvtx_log"))()) ?? "")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static string Build()
    {
        string source = Path.Combine(AppContext.BaseDirectory, "Native", "fake_nvtx.c");
        string dir = Path.Combine(Path.GetTempPath(), $"rain-fake-nvtx-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        foreach (var (name, define) in new[] { ("libfake_nvtx.so", ""), ("libfake_nvtx_refuse.so", "-DFAKE_REFUSE"), ("libfake_nvtx_nodomains.so", "-DFAKE_NO_DOMAINS"), ("libfake_nvtx_noinit.so", "-DFAKE_NO_INIT") })
            CCompiler.Run("cc", $"-shared -fPIC -O1 -Wall -Werror -Wno-unused-function {define} -o {Path.Combine(dir, name)} {source} -lpthread");
        return dir;
    }
}

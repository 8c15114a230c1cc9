using System.Diagnostics;
using System.Runtime.CompilerServices;
using Rain.Engine.Interop;
using Rain.Kernels;

[assembly: DisableRuntimeMarshalling]

namespace Rain.Tools.KernelCompiler;

/// <summary>
/// kernelc --src &lt;kernels dir&gt; --out &lt;dir&gt;: compiles every op of <see cref="KernelBuild.Ops"/> with NVRTC to PTX
/// (compute_XX) and CUBIN (sm_XX) for every SM of <see cref="KernelBuild.Sms"/> that NVRTC supports, and writes a
/// stamp listing what was built. Without NVRTC it exits 0 with a message (the CPU engine does not need kernels) unless
/// kernels are required (CI=true, RAIN_REQUIRE_KERNELS=1 or --require): then a missing NVRTC, an unsupported target or
/// a kernel that does not compile fails with exit code 1.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        string? src = null, output = null;
        bool require = IsSet("CI", "true") || IsSet("RAIN_REQUIRE_KERNELS", "1");
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--src" when i + 1 < args.Length: src = args[++i]; break;
                case "--out" when i + 1 < args.Length: output = args[++i]; break;
                case "--require": require = true; break;
                default:
                    Console.Error.WriteLine($"kernelc: unknown argument '{args[i]}'. Usage: kernelc --src <kernels dir> --out <dir> [--require]");
                    return 2;
            }
        }

        if (src is null || output is null || !Directory.Exists(src))
        {
            Console.Error.WriteLine($"kernelc: --src must name the kernels directory (got '{src}') and --out the output directory (got '{output}').");
            return 2;
        }

        // Nothing stale survives: a run that compiles nothing (no NVRTC) or fails leaves no stamp (so the build step reruns)
        // and no images of earlier sources (which the build would otherwise embed as if they were current).
        Directory.CreateDirectory(output);
        File.Delete(Path.Combine(output, "kernels.stamp"));
        foreach (string stale in Directory.EnumerateFiles(output, "*.ptx").Concat(Directory.EnumerateFiles(output, "*.cubin")))
            File.Delete(stale);

        if (!NvrtcCompiler.IsAvailable(out string reason))
        {
            string what = $"kernelc: CUDA kernels not compiled ahead of time: {reason}.";
            if (require)
            {
                Console.Error.WriteLine(what + " Kernels are required here (CI=true or RAIN_REQUIRE_KERNELS=1): install libnvrtc11.2 and libnvrtc-builtins11.8 (Debian non-free).");
                return 1;
            }

            Console.WriteLine(what + " The CPU engine is unaffected; a GPU run compiles them with NVRTC at run time where it exists.");
            return 0;
        }

        try
        {
            return Compile(src, output, require);
        }
        catch (AggregateException e) when (e.InnerExceptions.All(i => i is NvrtcException or IOException))
        {
            // Parallel compilation: report every kernel that failed, each with its compiler log.
            foreach (var inner in e.InnerExceptions)
                Console.Error.WriteLine($"kernelc: {inner.Message}");
            return 1;
        }
        catch (Exception e) when (e is NvrtcException or IOException)
        {
            Console.Error.WriteLine($"kernelc: {e.Message}");
            return 1;
        }
    }

    private static int Compile(string src, string output, bool require)
    {
        var version = NvrtcCompiler.Version;
        var supported = NvrtcCompiler.SupportedArchs().ToHashSet();
        var sms = KernelBuild.Sms.Where(supported.Contains).ToArray();
        var missing = KernelBuild.Sms.Except(sms).ToArray();
        if (missing.Length > 0)
        {
            string what = $"kernelc: NVRTC {version} cannot compile for sm_{string.Join(", sm_", missing)} (it supports {string.Join(' ', supported.Order())}).";
            if (require)
            {
                Console.Error.WriteLine(what + " Kernels for every listed target are required here.");
                return 1;
            }

            Console.WriteLine(what + " Those GPUs will use a newer run-time NVRTC or the driver's PTX JIT.");
        }

        var headers = KernelBuild.Headers.ToDictionary(h => h, h => File.ReadAllText(Path.Combine(src, h)));
        var jobs = KernelBuild.Ops.SelectMany(op => sms.SelectMany(KernelBuild.Targets).Select(target => (op, target))).ToArray();
        var sources = KernelBuild.Ops.ToDictionary(op => op, op => File.ReadAllText(Path.Combine(src, op + ".cu")));
        var clock = Stopwatch.StartNew();
        var built = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.ForEach(jobs, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) }, job =>
        {
            var result = NvrtcCompiler.Compile(job.op + ".cu", sources[job.op], headers, KernelBuild.Options(job.op, job.target));
            string name = KernelBuild.ImageName(job.op, job.target);
            byte[] image = job.target.StartsWith("sm_", StringComparison.Ordinal)
                ? result.Cubin ?? throw new NvrtcException($"NVRTC {version} produced no CUBIN for {job.op} at {job.target}.")
                : result.Ptx;
            File.WriteAllBytes(Path.Combine(output, name), image);
            built.Add($"{name} {image.Length}");
        });

        var lines = built.Order(StringComparer.Ordinal).Prepend($"nvrtc {version}").ToArray();
        File.WriteAllLines(Path.Combine(output, "kernels.stamp"), lines);
        Console.WriteLine($"kernelc: NVRTC {version}: {built.Count} images ({KernelBuild.Ops.Length} ops × PTX+CUBIN for sm_{string.Join(", sm_", sms)}) in {clock.Elapsed.TotalSeconds:F1} s → {output}");
        return 0;
    }

    private static bool IsSet(string variable, string value) =>
        string.Equals(Environment.GetEnvironmentVariable(variable), value, StringComparison.OrdinalIgnoreCase);
}

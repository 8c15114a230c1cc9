using Rain.Engine.Interop;
using Xunit.Abstractions;

namespace Rain.Kernels.Tests;

/// <summary>
/// Every kernel compiles with NVRTC for every listed target, and the build embedded the images. NVRTC is optional on a
/// developer machine, but CI (CI=true) must have it, so the checks there cannot skip silently.
/// </summary>
public sealed class KernelCompilationTests(ITestOutputHelper output)
{
    private static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    [Fact]
    public void NvrtcIsPresentInCi()
    {
        bool available = NvrtcCompiler.IsAvailable(out string reason);
        output.WriteLine(reason);
        if (InCi)
            Assert.True(available, $"CI must compile the kernels: {reason}");
        else if (available)
            Assert.Contains("NVRTC", reason, StringComparison.Ordinal);
        else
            Assert.StartsWith("no NVRTC library found: tried ", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryKernelCompilesForEveryTarget()
    {
        if (!NvrtcCompiler.IsAvailable(out string reason))
        {
            Assert.False(InCi, reason);
            output.WriteLine($"not checked here: {reason}");
            return;
        }

        var supported = NvrtcCompiler.SupportedArchs();
        output.WriteLine($"NVRTC {NvrtcCompiler.Version}, supports sm {string.Join(' ', supported)}");
        Assert.All(KernelBuild.Sms, sm => Assert.Contains(sm, supported));
        var headers = KernelImages.Headers();
        foreach (string op in KernelImages.Ops)
        {
            foreach (string target in KernelBuild.Sms.SelectMany(KernelBuild.Targets))
            {
                var result = NvrtcCompiler.Compile(op + ".cu", KernelImages.Source(op), headers, KernelImages.CompileOptions(target));
                Assert.True(result.Ptx.Length > 100, $"{op} {target}: empty PTX");
                Assert.Equal(0, result.Ptx[^1]);
                Assert.Contains($".target sm_{target.Split('_')[1]}", System.Text.Encoding.ASCII.GetString(result.Ptx), StringComparison.Ordinal);
                if (target.StartsWith("sm_", StringComparison.Ordinal))
                    Assert.True(result.Cubin is { Length: > 100 } && result.Cubin[0] == 0x7F && result.Cubin[1] == (byte)'E', $"{op} {target}: no ELF CUBIN");
            }
        }
    }

    [Fact]
    public void ABrokenKernelFailsWithTheCompilerLog()
    {
        if (!NvrtcCompiler.IsAvailable(out _))
            return;
        var e = Assert.Throws<NvrtcException>(() => NvrtcCompiler.Compile("broken.cu", "extern \"C\" __global__ void k() { undeclared_thing(); }", new Dictionary<string, string>(), KernelImages.CompileOptions("compute_80")));
        Assert.Contains("broken.cu", e.Message, StringComparison.Ordinal);
        Assert.Contains("undeclared_thing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheBuildEmbeddedEveryImageWhereNvrtcExists()
    {
        var names = KernelImages.EmbeddedNames();
        output.WriteLine($"{names.Count} embedded images");
        if (!NvrtcCompiler.IsAvailable(out string reason))
        {
            Assert.False(InCi, reason);
            return;
        }

        var expected = KernelImages.Ops.SelectMany(op => KernelBuild.Sms.SelectMany(KernelBuild.Targets).Select(t => KernelBuild.ImageName(op, t))).Order(StringComparer.Ordinal);
        Assert.Equal(expected, names);
    }

    [Fact]
    public void TheNoiseKernelIsCompiledWithoutContractionOrApproximateMath()
    {
        // Bit identity with CounterNoise rests on these flags; a change to them must fail here, not on a GPU.
        var options = KernelImages.CompileOptions("sm_90");
        Assert.Contains("--fmad=false", options);
        Assert.Contains("--prec-div=true", options);
        Assert.Contains("--prec-sqrt=true", options);
        Assert.Contains("--ftz=false", options);
        Assert.DoesNotContain(options, o => o.Contains("fast-math", StringComparison.Ordinal));
    }
}

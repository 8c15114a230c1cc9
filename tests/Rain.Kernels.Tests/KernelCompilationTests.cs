using Rain.Engine.Interop;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Kernels.Tests;

/// <summary>
/// Every kernel compiles with NVRTC for every listed target, and the build embedded the images. NVRTC is optional on a
/// developer machine, but CI (CI=true) must have it, so the checks there cannot skip silently.
/// </summary>
public sealed class KernelCompilationTests(ITestOutputHelper output)
{
    [Fact]
    public void NvrtcIsPresentInCi()
    {
        bool available = NvrtcCompiler.IsAvailable(out string reason);
        output.WriteLine(reason);
        if (Requires.InCi)
            Assert.True(available, $"CI must compile the kernels: {reason}");
        else if (available)
            Assert.Contains("NVRTC", reason, StringComparison.Ordinal);
        else
            Assert.StartsWith("no NVRTC library found: tried ", reason, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void EveryKernelCompilesForEveryTarget()
    {
        Requires.Tool(NvrtcCompiler.IsAvailable(out string reason), reason);

        var supported = NvrtcCompiler.SupportedArchs();
        output.WriteLine($"NVRTC {NvrtcCompiler.Version}, supports sm {string.Join(' ', supported)}");
        Assert.All(KernelBuild.Sms, sm => Assert.Contains(sm, supported));
        var headers = KernelImages.Headers();
        foreach (string op in KernelImages.Ops)
        {
            foreach (string target in KernelBuild.Sms.SelectMany(KernelBuild.Targets))
            {
                var result = NvrtcCompiler.Compile(op + ".cu", KernelImages.Source(op), headers, KernelImages.CompileOptions(op, target));
                Assert.True(result.Ptx.Length > 100, $"{op} {target}: empty PTX");
                Assert.Equal(0, result.Ptx[^1]);
                Assert.Contains($".target sm_{target.Split('_')[1]}", System.Text.Encoding.ASCII.GetString(result.Ptx), StringComparison.Ordinal);
                if (target.StartsWith("sm_", StringComparison.Ordinal))
                    Assert.True(result.Cubin is { Length: > 100 } && result.Cubin[0] == 0x7F && result.Cubin[1] == (byte)'E', $"{op} {target}: no ELF CUBIN");
            }
        }
    }

    [SkippableFact]
    public void ABrokenKernelFailsWithTheCompilerLog()
    {
        Requires.Tool(NvrtcCompiler.IsAvailable(out string reason), reason);
        var e = Assert.Throws<NvrtcException>(() => NvrtcCompiler.Compile("broken.cu", "extern \"C\" __global__ void k() { undeclared_thing(); }", new Dictionary<string, string>(), KernelImages.CompileOptions("noise", "compute_80")));
        Assert.Contains("broken.cu", e.Message, StringComparison.Ordinal);
        Assert.Contains("undeclared_thing", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void TheBuildEmbeddedEveryImageWhereNvrtcExists()
    {
        var names = KernelImages.EmbeddedNames();
        output.WriteLine($"{names.Count} embedded images");
        Requires.Tool(NvrtcCompiler.IsAvailable(out string reason), reason);

        var expected = KernelImages.Ops.SelectMany(op => KernelBuild.Sms.SelectMany(KernelBuild.Targets).Select(t => KernelBuild.ImageName(op, t))).Order(StringComparer.Ordinal);
        Assert.Equal(expected, names);
    }

    [Theory]
    [InlineData("noise")]
    [InlineData("frame_convert")]
    public void TheBitIdenticalKernelsAreCompiledWithoutContractionOrApproximateMath(string op)
    {
        // Bit identity with CounterNoise and FrameConversion rests on these flags; a change to them must fail here, not on a GPU.
        var options = KernelImages.CompileOptions(op, "sm_90");
        Assert.Contains("--fmad=false", options);
        Assert.Contains("--prec-div=true", options);
        Assert.Contains("--prec-sqrt=true", options);
        Assert.Contains("--ftz=false", options);
        Assert.DoesNotContain(options, o => o.Contains("fast_math", StringComparison.Ordinal));
    }

    [SkippableTheory]
    [InlineData("cross_noise_attention")]
    [InlineData("lcm_step_roll")]
    public void OnlyTheExactKernelsPayForExactMath(string op)
    {
        // The other kernels are compiled for speed: their PTX flushes denormals even in the correctly rounded operations
        // (add.rn.ftz.f32 …), where exact compilation (the flags of noise) keeps them. Checked on the PTX NVRTC makes, so
        // a flag that stops working shows here.
        Requires.Tool(NvrtcCompiler.IsAvailable(out string reason), reason);
        var headers = KernelImages.Headers();
        string fast = System.Text.Encoding.ASCII.GetString(NvrtcCompiler.Compile(op + ".cu", KernelImages.Source(op), headers, KernelImages.CompileOptions(op, "compute_80")).Ptx);
        string exact = System.Text.Encoding.ASCII.GetString(NvrtcCompiler.Compile(op + ".cu", KernelImages.Source(op), headers, KernelImages.CompileOptions("noise", "compute_80")).Ptx);
        Assert.Contains("--use_fast_math", KernelImages.CompileOptions(op, "sm_90"));
        Assert.Contains(".rn.ftz.f32", fast, StringComparison.Ordinal);
        Assert.DoesNotContain(".rn.ftz.f32", exact, StringComparison.Ordinal);
    }
}

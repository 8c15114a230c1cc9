namespace Rain.Kernels;

/// <summary>
/// How the CUDA kernels are compiled, shared (as linked source) by the build-time compiler <c>tools/kernelc</c>, the
/// engine's run-time NVRTC fallback and the tests, so that all three compile with the same flags.
/// </summary>
internal static class KernelBuild
{
    /// <summary>The kernel sources, one per op (<c>kernels/&lt;op&gt;.cu</c>).</summary>
    public static readonly string[] Ops = ["cross_noise_attention", "lcm_step_roll", "noise", "frame_convert", "bench_baseline"];

    /// <summary>The shared headers (<c>kernels/common/*.cuh</c>), by include name.</summary>
    public static readonly string[] Headers = ["common/half.cuh", "common/mma.cuh", "common/types.cuh"];

    /// <summary>The SMs compiled ahead of time: Ampere (80, 86), Ada (89), Hopper (90).</summary>
    public static readonly int[] Sms = [80, 86, 89, 90];

    /// <summary>
    /// The ops whose results must equal their C# references bit for bit: <c>noise</c> (CounterNoise's float32 ln/sincos
    /// built from correctly rounded operations) and <c>frame_convert</c> (FrameConversion). They are compiled without
    /// contraction, with correctly rounded division and square root and without flushing denormals.
    /// </summary>
    public static readonly string[] ExactOps = ["noise", "frame_convert"];

    /// <summary>
    /// NVRTC options for an op and a target (<c>compute_XX</c> gives PTX, <c>sm_XX</c> gives CUBIN too). The
    /// <see cref="ExactOps"/> get exact arithmetic; every other kernel is compiled for speed (<c>--use_fast_math</c>:
    /// contraction into FMA, approximate division, square root and exponential, denormals flushed), which its
    /// tolerance-based test against the reference allows. Operations a kernel needs exact are written with the
    /// <c>__f*_rn</c> intrinsics, which no flag changes.
    /// </summary>
    public static string[] Options(string op, string target) => ExactOps.Contains(op)
        ? [$"--gpu-architecture={target}", "--fmad=false", "--prec-div=true", "--prec-sqrt=true", "--ftz=false", "-default-device"]
        : [$"--gpu-architecture={target}", "--use_fast_math", "-default-device"];

    /// <summary>Every target: PTX for compute_XX and CUBIN for sm_XX of each of <see cref="Sms"/>.</summary>
    public static IEnumerable<string> Targets(int sm) => [$"compute_{sm}", $"sm_{sm}"];

    /// <summary>The resource name of an image: <c>&lt;op&gt;.&lt;target&gt;.ptx</c> or <c>.cubin</c>.</summary>
    public static string ImageName(string op, string target) => $"{op}.{target}.{(target.StartsWith("sm_", StringComparison.Ordinal) ? "cubin" : "ptx")}";

    /// <summary>Prefix of the manifest resource names of compiled images.</summary>
    public const string ImageResourcePrefix = "Rain.Kernels.Images/";

    /// <summary>Prefix of the manifest resource names of the CUDA sources (for run-time NVRTC).</summary>
    public const string SourceResourcePrefix = "Rain.Kernels.Sources/";
}

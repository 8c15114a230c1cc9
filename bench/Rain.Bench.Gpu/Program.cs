using Rain.Bench.Gpu;
using Rain.Engine.Backends.Cuda;
using Rain.Gpu.Checks;

// Rain.Bench.Gpu [--checks-only | --bench-only] [--tensorrt <bundle> [--steps N]] [--tensorrt-session <bundle> [--steps N]
// [--max-diff D]]: the GPU checks (the same code as tests/Rain.Gpu.Tests), then the kernel benchmarks, each against a
// baseline and the bandwidth floor measured in the same run; with --tensorrt, the TensorRT section only (TensorRtCheck,
// which ends with the session check); with --tensorrt-session, the TensorRT backend through the public API against the
// CPU backend (SessionCheck). Exit code: 0 all checks passed, 1 a check failed, 2 no usable GPU.
int tensorrt = Array.IndexOf(args, "--tensorrt"), wiring = Array.IndexOf(args, "--tensorrt-wiring"), session = Array.IndexOf(args, "--tensorrt-session");
int stepsAt = Array.IndexOf(args, "--steps"), maxDiffAt = Array.IndexOf(args, "--max-diff");
int? stepsArg = stepsAt >= 0 && stepsAt + 1 < args.Length ? int.Parse(args[stepsAt + 1], System.Globalization.CultureInfo.InvariantCulture) : null;
int? maxDiff = maxDiffAt >= 0 && maxDiffAt + 1 < args.Length ? int.Parse(args[maxDiffAt + 1], System.Globalization.CultureInfo.InvariantCulture) : null;
bool checks = !args.Contains("--bench-only"), bench = !args.Contains("--checks-only");
var capability = CudaDevice.Probe();
Console.WriteLine($"device: {capability.Reason}");
if (!capability.Available)
    return 2;

using var device = CudaDevice.Open();
using (var kernels = new CudaKernels(device))
{
    foreach (string op in Rain.Kernels.KernelImages.Ops)
        Console.WriteLine($"kernel {op}: {kernels.Load(op)}");
}

if (wiring >= 0 && wiring + 1 < args.Length)
    return TensorRtCheck.Wiring(device, args[wiring + 1], 6, Console.Out);

if (session >= 0 && session + 1 < args.Length)
    return SessionCheck.Run(args[session + 1], stepsArg ?? 8, maxDiff, Console.Out);

if (tensorrt >= 0)
{
    if (tensorrt + 1 >= args.Length)
    {
        Console.Error.WriteLine("--tensorrt needs the bundle folder.");
        return 2;
    }

    return TensorRtCheck.Run(device, args[tensorrt + 1], stepsArg ?? 30, Console.Out);
}

int failed = 0;
if (checks)
{
    Console.WriteLine();
    Console.WriteLine("| check | result |");
    Console.WriteLine("| --- | --- |");
    (string Name, Func<CudaDevice, string> Run)[] all =
    [
        ("noise", KernelChecks.Noise), ("cross_noise_attention", d => KernelChecks.Attention(d)), ("cross_noise_attention fp32", KernelChecks.AttentionFloat32),
        ("baseline attention", d => KernelChecks.Attention(d, baseline: true)), ("lcm_step_roll", KernelChecks.LcmStepRoll),
        ("frame conversion", KernelChecks.FrameConversion), ("graph vs eager step", d => StepChecks.GraphVersusEager(d)), ("graph update", StepChecks.GraphUpdate),
        ("capture fallback", d => StepChecks.CaptureFallback(d)), ("TensorRT step I/O", d => StepChecks.TensorRtIo(d)),
        ("handle leaks", StepChecks.Leaks),
    ];
    foreach (var (name, run) in all)
    {
        try
        {
            Console.WriteLine($"| {name} | PASS: {run(device)} |");
        }
        catch (Exception e)
        {
            // Every check runs and reports, whatever one of them throws.
            failed++;
            Console.WriteLine($"| {name} | FAIL: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")} |");
        }
    }
}

if (bench)
{
    Console.WriteLine();
    KernelBench.Run(device, Console.Out);
}

Console.WriteLine();
Console.WriteLine(!checks ? "checks not run (--bench-only)" : failed == 0 ? "all checks passed" : $"{failed} check(s) FAILED");
return failed == 0 ? 0 : 1;

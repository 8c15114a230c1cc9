using Rain.Bench.Gpu;
using Rain.Engine.Backends.Cuda;
using Rain.Gpu.Checks;

// Rain.Bench.Gpu [--probe] [--checks-only | --bench-only] [--sdpa <json>] [--tensorrt <bundle> [--steps N]]: the GPU
// checks (the same code as tests/Rain.Gpu.Tests), then the measurements (KernelBench: one table; --sdpa adds the device's
// PyTorch SDPA rows that bench/sdpa_baseline.py wrote); --probe only says whether a usable GPU is there (exit 0 or 2);
// --has-tensorrt says whether this build has the TensorRT section (exit 0) or is the device-only one (exit 3);
// with --tensorrt [<bundle>], the TensorRT section only (TensorRtCheck, ending with the session check; without a bundle
// it exports the tiny preset's on the spot).
// --tensorrt-wiring <bundle> and --tensorrt-stream <bundle> [--steps N] [--max-diff D] [--max-mean M] run the TensorRT
// stream on the bundle's plans (the CI's fake TensorRT): wired, or compared with the CPU streamer and judged.
// --tensorrt-session <bundle> [--steps N] [--max-diff D [--max-mean M]] runs the TensorRT backend through the public API against a CPU
// session (SessionCheck; judged only with --max-diff). Exit code: 0 all checks passed, 1 a check failed, 2 no usable GPU.
#if !RAIN_DEVICE_ONLY
int tensorrt = Array.IndexOf(args, "--tensorrt"), wiring = Array.IndexOf(args, "--tensorrt-wiring"), streamCheck = Array.IndexOf(args, "--tensorrt-stream");
int session = Array.IndexOf(args, "--tensorrt-session");
if (args.Contains("--has-tensorrt"))
    return 0;
#else
if (args.Contains("--has-tensorrt"))
    return 3;
if (args.Any(a => a.StartsWith("--tensorrt", StringComparison.Ordinal)))
{
    Console.Error.WriteLine("This is the device-only build of the GPU check (bench/gpu-pack.sh): it has no TensorRT section. Publish bench/Rain.Bench.Gpu without RainDeviceOnly for it.");
    return 2;
}
#endif
bool checks = !args.Contains("--bench-only"), bench = !args.Contains("--checks-only");
var capability = CudaDevice.Probe();
Console.WriteLine($"device: {capability.Reason}");
if (!capability.Available)
    return 2;
if (args.Contains("--probe"))
    return 0;

using var device = CudaDevice.Open();
using (var kernels = new CudaKernels(device))
{
    foreach (string op in Rain.Kernels.KernelImages.Ops)
        Console.WriteLine($"kernel {op}: {kernels.Load(op)}");
}

#if !RAIN_DEVICE_ONLY
if (wiring >= 0 && wiring + 1 < args.Length)
    return TensorRtCheck.Wiring(device, args[wiring + 1], 6, Console.Out);

if (streamCheck >= 0)
{
    if (streamCheck + 1 >= args.Length)
    {
        Console.Error.WriteLine("--tensorrt-stream needs the bundle folder.");
        return 2;
    }

    return TensorRtCheck.Stream(device, args[streamCheck + 1], (int)Option("--steps", 3), (int)Option("--max-diff", 1), Option("--max-mean", 0.01), Console.Out);
}

if (session >= 0)
{
    if (session + 1 >= args.Length)
    {
        Console.Error.WriteLine("--tensorrt-session needs the bundle folder.");
        return 2;
    }

    return SessionCheck.Run(args[session + 1], (int)Option("--steps", 8), args.Contains("--max-diff") ? (int)Option("--max-diff", 0) : null, Console.Out, Option("--max-mean", 0.01));
}

if (tensorrt >= 0)
{
    // Without a bundle folder, the tiny preset's bundle is exported here (random weights, 27 MB), so the lent machine
    // needs nothing carried but the app.
    bool given = tensorrt + 1 < args.Length && !args[tensorrt + 1].StartsWith("--", StringComparison.Ordinal);
    string bundlePath = given ? args[tensorrt + 1] : TensorRtCheck.ExportTinyBundle(Console.Out);
    return TensorRtCheck.Run(device, bundlePath, (int)Option("--steps", 30), Console.Out);
}

#endif
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
        ("handle leaks", StepChecks.Leaks), ("host wait", StepChecks.HostWait),
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
    int sdpa = Array.IndexOf(args, "--sdpa");
    KernelBench.Run(device, Console.Out, sdpa >= 0 && sdpa + 1 < args.Length ? args[sdpa + 1] : null);
}

Console.WriteLine();
Console.WriteLine(!checks ? "checks not run (--bench-only)" : failed == 0 ? "all checks passed" : $"{failed} check(s) FAILED");
return failed == 0 ? 0 : 1;

#if !RAIN_DEVICE_ONLY
double Option(string name, double fallback)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? double.Parse(args[at + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
}
#endif

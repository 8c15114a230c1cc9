using System.Diagnostics;
using Rain.Engine.Backends.TensorRt;
using Rain.Engine.Bundle;
using Rain.Engine.Interop;
using Rain.Engine.Tests.Api;
using Rain.Testing;
using Rain.Kernels;
using Xunit.Abstractions;

namespace Rain.Engine.Tests.FakeCuda;

/// <summary>
/// The whole CUDA backend — bindings, handles, modules, streams, graph capture, update and replay, the step driver
/// and the GPU check console — run against a fake libcuda.so.1 (fake_cuda.cpp) whose kernels are the real kernel
/// sources in the host emulation. Each run is a child process (a process binds one CUDA driver for its life), the
/// very console that bench/gpu-check.sh runs on a GPU. Needs g++; CI has it, so there these tests cannot skip.
/// </summary>
public sealed class FakeCudaDriverTests(ITestOutputHelper output, GoldenBundle bundle) : IClassFixture<GoldenBundle>
{
    private static readonly Lazy<string?> Driver = new(Build);
    private static string BuildProblem = "";

    [SkippableFact]
    public void TheGpuChecksPassOnTheFakeDriver()
    {
        RequireFakeDriver();
        var (code, text) = RunConsole("--checks-only", skipKernels: false);
        output.WriteLine(text);
        Assert.Contains("device: Fake CUDA device (CPU host emulation) (SM 9.0", text, StringComparison.Ordinal);
        Assert.Contains("kernel noise: CUBIN sm_90 (embedded)", text, StringComparison.Ordinal);
        Assert.Equal(12, text.Split('\n').Count(l => l.Contains("| PASS: ", StringComparison.Ordinal)));
        Assert.DoesNotContain("FAIL", text, StringComparison.Ordinal);
        Assert.Contains("all checks passed", text, StringComparison.Ordinal);
        Assert.Equal(0, code);
    }

    [SkippableFact]
    public void TheBenchmarksRunEndToEndOnTheFakeDriver()
    {
        RequireFakeDriver();
        // Kernels recorded but not run: the point is that every launch validates and the table comes out, with the rows
        // of the device's PyTorch SDPA baseline merged in from bench/sdpa_baseline.py's JSON (a made-up file here).
        string sdpa = Path.Combine(Path.GetTempPath(), $"rain-sdpa-{Environment.ProcessId}.json");
        File.WriteAllLines(sdpa, KernelBenchShapes.Select(s => $"{{\"frames\": 16, \"tokens\": {s.Tokens}, \"channels\": {s.Channels}, \"heads\": 8, \"sdpa_us\": 100.0, \"sdpa_permute_us\": 250.0, \"backend\": \"flash\"}}"));
        var (code, text) = RunConsole($"--bench-only --sdpa \"{sdpa}\"", skipKernels: true);
        output.WriteLine(text);
        Assert.Equal(0, code);
        foreach (var (tokens, channels) in KernelBenchShapes)
        {
            string shape = $"| F=16 N={tokens} C={channels} d={channels / 8} |";
            Assert.Contains($"| attention v1 (cross_noise_attention_vec8) {shape}", text, StringComparison.Ordinal);
            Assert.Contains($"| attention v2 (cross_noise_attention_mma) {shape}", text, StringComparison.Ordinal);
            Assert.Contains($"| PyTorch SDPA [N·h, F, d] (flash) {shape} 100.0 |", text, StringComparison.Ordinal);
            Assert.Contains($"| PyTorch SDPA + permutes from [F, N, C] {shape} 250.0 |", text, StringComparison.Ordinal);
        }

        Assert.Contains("| lcm_step_roll (fp32) | F=16 p=4 E=16384 |", text, StringComparison.Ordinal);
        Assert.Contains("| CUDA graph replay, per kernel node |", text, StringComparison.Ordinal);
        Assert.Contains("| step driver, one CUDA graph per step |", text, StringComparison.Ordinal);
        Assert.Contains("| step driver (graph), host waits: blocking sync |", text, StringComparison.Ordinal);
        Assert.Contains("| step driver (graph), host waits: default (spin while contexts < cores) |", text, StringComparison.Ordinal);
    }

    private static readonly (int Tokens, int Channels)[] KernelBenchShapes = [(4096, 320), (1024, 640), (256, 1280), (64, 1280)];

    [SkippableFact]
    public void TheGpuCheckScriptRunsTheChecksOnTheFakeDriver()
    {
        RequireFakeDriver();
        Requires.Program("bash", "the GPU check is a bash script");
        // The script as a lent machine runs it, on the locally built app: the probe passes, the checks run and pass.
        var (code, text, _) = GpuCheckScriptTests.RunScript(GpuCheck.ConsoleDirectory, ["--checks-only"], ("RAIN_CUDA_DRIVER_PATH", Driver.Value!));
        output.WriteLine(text);
        Assert.Equal(0, code);
        Assert.Contains("device: Fake CUDA device (CPU host emulation)", text, StringComparison.Ordinal);
        Assert.Equal(12, text.Split('\n').Count(l => l.Contains("| PASS: ", StringComparison.Ordinal)));
        Assert.Contains("all checks passed", text, StringComparison.Ordinal);
        Assert.Contains("gpu-check: TensorRT section not run (--checks-only)", text, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void TheTensorRtStreamIsWiredEndToEndOnTheFakeDriverAndFakeTensorRt()
    {
        RequireFakeDriver();
        // Plans for every part of the golden bundle, in the fake's multi-tensor format: the engines then have exactly the
        // parts' contracts, check at each enqueue that every tensor is bound and zero their outputs.
        string copy = bundle.Copy("trt-wiring");
        var manifest = ModelBundle.Load(copy, verifyHashes: false).Manifest;
        FakeTensorRt.WriteWiringPlans(copy);
        int scratch = 4096 + (256 * manifest.Parts.Count); // the largest scratch of WriteWiringPlans' engines
        var (code, text2) = RunConsole($"--tensorrt-wiring \"{copy}\"", skipKernels: false, ("RAIN_TENSORRT_DIR", FakeTensorRt.Directory));
        output.WriteLine(text2);
        Assert.Contains($"tensorrt wiring: {manifest.Parts.Count} engines, arena {scratch} bytes", text2, StringComparison.Ordinal);
        Assert.Contains("6 steps, 3 chunks emitted, frames all zero, graph captured", text2, StringComparison.Ordinal);
        Assert.Equal(0, code);
    }

    [SkippableTheory]
    [InlineData(UNetForm.Whole, 1, 0.01)]
    [InlineData(UNetForm.Cut, 2, 0.1)]
    public void TheTensorRtStreamMatchesTheCpuStreamerOnTheFakeDriverWithEnginesRunningOnnxRuntime(UNetForm form, int maxDiff, double maxMean)
    {
        RequireFakeDriver();
        // FAKEPLAN3 plans: each engine executes its ONNX model (the whole UNet, or the parts rewritten with fp16 cut
        // tensors, and the other networks) on ONNX Runtime as a host function on the enqueue stream, so the TensorRT stream
        // computes what the CPU streamer computes, and every binding, buffer, copy, roll, decoder memory, kernel and the
        // graph replay of TrtPipeline is checked numerically (TensorRT's own FP16 arithmetic is not: that needs a GPU).
        string copy = bundle.Copy($"trt-stream-{UNetLayout.Name(form)}");
        var manifest = ModelBundle.Load(copy, verifyHashes: false).Manifest;
        // The console's own ONNX Runtime (the fake prefers the one already loaded in the process anyway).
        FakeTensorRt.WriteOnnxRuntimePlans(copy, Path.Combine(Path.GetDirectoryName(ConsolePath())!, "runtimes", "linux-x64", "native", "libonnxruntime.so"), form);

        // Tolerance of the whole UNet. Both sides run the same fp32 models on the same ONNX Runtime; what differs is the
        // attention (ONNX Runtime's fp32 MatMul/Softmax inside the whole UNet vs the C# attention: another summation
        // order and exp), lcm_step_roll and the noise (the kernels vs C#), and ONNX Runtime's thread count (1 here, all
        // cores on the CPU side). Those are float32 rounding differences, a few ulps (~1e-7 of a value in [0, 1]) that
        // the recurrent steps carry but do not blow up. A frame byte is round(255·v) of a value v in [0, 1], so a
        // difference ε < 1/255 in v changes a byte by at most 1 (max |Δ| ≤ 1), and only when v lies within ε of a
        // rounding boundary: a fraction of about 255·ε of the bytes. Measured: 10 of 294,912 bytes differ by 1
        // (mean |Δ| 3.4e-5, i.e. ε ≈ 1.3e-7). The bound on the mean, 0.01, allows float disagreement about 250 times
        // that (ε up to ~4e-5) and still fails anything systematic: a pose window that does not roll gives max 13 and
        // mean 1.1, decoder memories that are not carried give max 232 and mean 12.
        // The cut UNet with fp16 cut tensors rounds every tensor crossing a cut to fp16 (2^-11 relative) and runs the fp16
        // attention kernel (v2 where it applies): the UNet's output moves by a relative L2 of about 8e-4 (UNetFormsTests),
        // so frame values move by ~1e-4 and about 2 % of the bytes sit near enough to a rounding boundary to change by 1
        // (measured: 6018 of 294,912, max 1, mean 0.020). Its bounds, max 2 and mean 0.1, allow five times that and still
        // fail a broken wiring (mean 1.1 and more, see above).
        const int Chunks = 3;
        var (code, text) = RunConsole($"--tensorrt-stream \"{copy}\" --steps {Chunks} --max-diff {maxDiff} --max-mean {maxMean}", skipKernels: false, ("RAIN_TENSORRT_DIR", FakeTensorRt.Directory));
        output.WriteLine(text);
        Assert.Contains($"tensorrt stream: TensorRT {FakeTensorRt.Version}", text, StringComparison.Ordinal);
        Assert.Contains($"{UNetLayout.For(manifest, form, fp16: true).Engines(manifest).Count()} engines, UNet {UNetLayout.Name(form)}", text, StringComparison.Ordinal);

        // Step by step: the same outcome on both (clean start: L−1 filler steps emit nothing), then one chunk per step: the
        // first eagerly (every engine, the decoder's included, runs once before capture — the fake TensorRT refuses a
        // context's first enqueue under capture, as TensorRT may), the rest from the graph captured at the step after.
        var steps = text.Split('\n').Where(l => l.StartsWith("tensorrt stream step ", StringComparison.Ordinal)).ToArray();
        int total = Chunks + manifest.Levels - 1;
        Assert.Equal(total, steps.Length);
        for (int k = 0; k < total; k++)
        {
            bool emit = k >= manifest.Levels - 1;
            Assert.StartsWith($"tensorrt stream step {k}: outcome StepOutcome {{ Step = {k}, DecodedChunk = {k - (manifest.Levels - 1)}, Emit = {emit} }} on both", steps[k], StringComparison.Ordinal);
            string how = k >= manifest.Levels ? "graph" : "eager";
            Assert.Contains(emit ? $"chunk {k - (manifest.Levels - 1)} emitted ({how}): max |Δ| " : "nothing emitted (eager)", steps[k], StringComparison.Ordinal);
        }

        var summary = System.Text.RegularExpressions.Regex.Match(text, @"stream of (\d+) steps \((\d+) frames\) vs the CPU engine: mean \|Δ\| ([0-9.]+) of 255, max (\d+), (\d+) of (\d+) bytes differ; graph captured");
        Assert.True(summary.Success, "no summary line with the graph captured");
        Assert.Equal(Chunks * manifest.FramesPerLevel, int.Parse(summary.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(double.Parse(summary.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture), 0, maxMean);
        Assert.InRange(int.Parse(summary.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture), 0, maxDiff);
        Assert.Contains("tensorrt stream: PASS", text, StringComparison.Ordinal);
        Assert.Equal(0, code);
    }

    [SkippableFact]
    public void TheTensorRtBackendThroughThePublicApiMatchesTheCpuBackendOnTheFakeDriver()
    {
        RequireFakeDriver();
        // The backend as a user runs it: RainEngine.Load with EngineBackend.TensorRt (TensorRT, GPU and plan checks, device,
        // kernels, engines, TrtPipeline), a session whose step thread is not the thread that loaded the engine (so the
        // CUDA context must follow it), poses pushed and frames read in order — against a CPU engine's session on the same
        // bundle, seed, reference and poses. The FAKEPLAN3 engines run each part's ONNX on ONNX Runtime in fp32, so the
        // bound is TheTensorRtStreamMatchesTheCpuStreamer…'s and for the same reasons: at most 1 of 255 on a byte, mean
        // at most 0.01 (fp32 rounding of the attention kernel, lcm_step_roll and noise against their C# counterparts).
        string copy = bundle.Copy("trt-session");
        var manifest = ModelBundle.Load(copy, verifyHashes: false).Manifest;
        FakeTensorRt.WriteOnnxRuntimePlans(copy, Path.Combine(Path.GetDirectoryName(ConsolePath())!, "runtimes", "linux-x64", "native", "libonnxruntime.so"), UNetForm.Whole);
        int steps = manifest.Levels + 1; // chunks pushed; the sessions drain the window at the end, so every pose gets its frame
        var (code, text) = RunConsole($"--tensorrt-session \"{copy}\" --steps {steps} --max-diff 1 --max-mean 0.01", skipKernels: false, ("RAIN_TENSORRT_DIR", FakeTensorRt.Directory));
        output.WriteLine(text);
        Assert.Contains($"tensorrt session: TensorRT {FakeTensorRt.Version} FP16 plans, UNet whole (one engine) (", text, StringComparison.Ordinal);
        Assert.Contains("each step replays one captured CUDA graph", text, StringComparison.Ordinal);
        int frames = steps * manifest.FramesPerLevel;
        var summary = System.Text.RegularExpressions.Regex.Match(text,
            $@"tensorrt session: {steps} steps, frames (\d+) \(CPU (\d+), expected {frames}\), vs the CPU session: mean \|Δ\| ([0-9.Ee+-]+) of 255, max (\d+), (\d+) of (\d+) bytes differ; (\d+) distinct byte values in the CPU frames; graph captured");
        Assert.True(summary.Success, "no summary line with the graph captured");
        Assert.Equal(frames, int.Parse(summary.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(frames, int.Parse(summary.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(double.Parse(summary.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture), 0, 0.01);
        Assert.InRange(int.Parse(summary.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture), 0, 1);
        Assert.Equal(frames * manifest.Width * manifest.Height * 3, long.Parse(summary.Groups[6].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(int.Parse(summary.Groups[7].Value, System.Globalization.CultureInfo.InvariantCulture), 17, 256); // not flat
        Assert.Contains("tensorrt session: PASS", text, StringComparison.Ordinal);
        Assert.Equal(0, code);
    }

    [SkippableFact]
    public void RainBenchRunsOnTheTensorRtBackendOnTheFakeDriver()
    {
        RequireFakeDriver();
        // The CLI path of the backend: `rain bench --backend tensorrt` loads it through the engine's factory, drives the
        // stream and reports the device stage, the graph and the JSON. Wiring plans and kernels recorded but not run
        // (numerics are the two tests above): this is about the command, quickly.
        string copy = bundle.Copy("trt-bench");
        var manifest = ModelBundle.Load(copy, verifyHashes: false).Manifest;
        FakeTensorRt.WriteWiringPlans(copy);
        string json = Path.Combine(copy, "bench.json");
        // On the second of two GPUs (--device 1): the engine opens that device and says so.
        var (code, text) = Run(CliPath(), $"bench --bundle \"{copy}\" --backend tensorrt --device 1 --warmup 4 --steps 3 --json \"{json}\"", skipKernels: true,
            ("RAIN_TENSORRT_DIR", FakeTensorRt.Directory), ("FAKE_CUDA_DEVICES", "2"));
        output.WriteLine(text);
        Assert.Equal(0, code);
        Assert.Contains($"backend: TensorRT {FakeTensorRt.Version} FP16 plans, UNet cut ({manifest.UNetPlan.Steps.Count(s => s.StepKind == PlanStepKind.RunPart)} engines, fp16 cut tensors, our attention kernel between them) (", text, StringComparison.Ordinal);
        Assert.Contains("on CUDA device 1, Fake CUDA device 1 (CPU host emulation) (SM 9.0, host waits: blocking sync)", text, StringComparison.Ordinal);
        Assert.Contains("backend after the run: ", text, StringComparison.Ordinal);
        Assert.Contains("each step replays one captured CUDA graph", text, StringComparison.Ordinal);
        Assert.Contains($"TensorRT warnings: {FakeTensorRt.Warning}", text, StringComparison.Ordinal);
        Assert.Matches(@"\n  Device +mean ", text);
        Assert.DoesNotMatch(@"\n  UNetParts ", text); // CPU stages are not timed on a GPU backend, so not listed
        Assert.Contains("engine overhead (step − device step)", text, StringComparison.Ordinal);
        var report = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(json))!;
        Assert.Equal("TensorRt", (string?)report["backend"]);
        Assert.Equal(3, (int?)report["steps"]);
        Assert.True((double?)report["stages_ms"]!["Device"]!["mean"] > 0);

        // A device that does not exist is refused before any work, with what the driver sees.
        var (missingCode, missing) = Run(CliPath(), $"bench --bundle \"{copy}\" --backend tensorrt --device 3 --steps 1", skipKernels: true, ("RAIN_TENSORRT_DIR", FakeTensorRt.Directory));
        output.WriteLine(missing);
        Assert.Equal(2, missingCode);
        Assert.Contains("CUDA device 3 does not exist: the driver sees 1 device(s)", missing, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void RainBenchTracesEachPartOnTheDeviceAndOpensNvtxRangesWhenUncapturedOnTheFakes()
    {
        RequireFakeDriver();
        // CUDA graphs off (RAIN_CUDA_GRAPHS=0): every part is enqueued each step, so the trace times each one with CUDA
        // events (the fake driver's events read the host clock as its immediate streams run), and the fake NVTX tool,
        // attached as Nsight Systems attaches its own, records a range per device step and per part.
        string copy = bundle.Copy("trt-trace");
        FakeTensorRt.WriteWiringPlans(copy);
        string trace = Path.Combine(copy, "trace.json"), nvtx = Path.Combine(copy, "nvtx.log");
        var (code, text) = Run(CliPath(), $"bench --bundle \"{copy}\" --backend tensorrt --warmup 4 --steps 2 --trace \"{trace}\"", skipKernels: true,
            ("RAIN_TENSORRT_DIR", FakeTensorRt.Directory), ("RAIN_CUDA_GRAPHS", "0"), ("NVTX_INJECTION64_PATH", FakeNvtx.Library), ("FAKE_NVTX_LOG", nvtx));
        output.WriteLine(text);
        Assert.Equal(0, code);
        Assert.Contains("steps enqueued part by part (CUDA graphs off)", text, StringComparison.Ordinal);

        // Per measured step: the pose guider, the 43 UNet parts, the decoder on the GPU track, each inside its step's Device stage.
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(trace));
        var events = document.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
        var device = events.Where(e => e.GetProperty("name").GetString() == "Device").Select(e => (Ts: e.GetProperty("ts").GetDouble(), End: e.GetProperty("ts").GetDouble() + e.GetProperty("dur").GetDouble())).ToList();
        Assert.Equal(2, device.Count);
        var gpu = events.Where(e => e.TryGetProperty("cat", out var c) && c.GetString() == "gpu").ToList();
        Assert.All(gpu, e => Assert.Equal(1_000_000, e.GetProperty("tid").GetInt32()));
        foreach (long step in new long[] { 4, 5 })
        {
            var ofStep = gpu.Where(e => e.GetProperty("args").GetProperty("step").GetInt64() == step).ToList();
            var names = ofStep.Select(e => e.GetProperty("name").GetString()!).ToList();
            Assert.Equal(1, names.Count(n => n == "pose_guider"));
            Assert.Equal(43, names.Count(n => n.StartsWith("unet.part", StringComparison.Ordinal)));
            Assert.Equal(1, names.Count(n => n == "taesdv_decoder"));
            var window = device[(int)(step - 4)];
            Assert.All(ofStep, e => Assert.InRange(e.GetProperty("ts").GetDouble(), window.Ts - 1000, window.End + 1000));
        }

        var log = File.ReadAllLines(nvtx);
        Assert.Equal("init version 3", log[0]);
        Assert.Equal("domain Rain.Engine", log[1]);
        // 4 warm-up steps, 2 measured, and 1 + 2 × 4 that measure the tracing cost.
        Assert.Equal(15, log.Count(l => l.StartsWith("push 0 device step ", StringComparison.Ordinal)));
        Assert.Equal(15 * 43, log.Count(l => l.StartsWith("push 1 unet.part", StringComparison.Ordinal)));
        Assert.Equal(log.Count(l => l.StartsWith("push ", StringComparison.Ordinal)), log.Count(l => l.StartsWith("pop ", StringComparison.Ordinal)));
        Assert.DoesNotContain(log, l => l.Contains("MALFORMED", StringComparison.Ordinal));
    }

    /// <summary>
    /// Skips the test (fails it under CI=true) without g++ to build the fake driver, or without kernels for it to load:
    /// the build embeds kernel images only where NVRTC was present, and otherwise the engine compiles them with NVRTC at
    /// run time.
    /// </summary>
    private static void RequireFakeDriver()
    {
        Requires.Tool(Driver.Value is not null, BuildProblem);
        Requires.Tool(KernelImages.Best("noise", 90) is not null || NvrtcCompiler.IsAvailable(out _),
            "the build embedded no kernel images and NVRTC is not installed, so no kernel can load (install NVRTC: libnvrtc11.2 and libnvrtc-builtins11.8 on Debian)");
    }

    private static (int Code, string Output) RunConsole(string arguments, bool skipKernels, params (string Name, string Value)[] environment) =>
        Run(ConsolePath(), arguments, skipKernels, environment);

    private static (int Code, string Output) Run(string console, string arguments, bool skipKernels, params (string Name, string Value)[] environment)
    {
        Assert.True(File.Exists(console), $"{console} was not built (Rain.Engine.Tests references the project for that).");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet, $"exec \"{console}\" {arguments}") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["RAIN_CUDA_DRIVER_PATH"] = Driver.Value!;
        if (skipKernels)
            start.Environment["FAKE_CUDA_SKIP_KERNELS"] = "1";
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(console)} did not finish within 5 minutes on the fake driver");
        }

        return (process.ExitCode, stdout + stderr.Result);
    }

    private static string CliPath()
    {
        string config = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        return Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "src", "Rain.Cli", "bin", config, "net10.0", "rain.dll"));
    }

    private static string ConsolePath()
    {
        string config = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // …/bin/<Configuration>/net10.0/
        return Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "bench", "Rain.Bench.Gpu", "bin", config, "net10.0", "Rain.Bench.Gpu.dll"));
    }

    private static string? Build()
    {
        if (!OperatingSystem.IsLinux())
        {
            BuildProblem = "the fake CUDA driver is built for Linux only";
            return null;
        }

        string dir = Path.Combine(Path.GetTempPath(), $"rain-fake-cuda-{Environment.ProcessId}");
        Directory.CreateDirectory(Path.Combine(dir, "common"));
        foreach (string op in KernelImages.Ops)
            File.WriteAllText(Path.Combine(dir, op + ".cu"), KernelImages.Source(op));
        foreach (var (include, text) in KernelImages.Headers())
            File.WriteAllText(Path.Combine(dir, include), text);
        string here = AppContext.BaseDirectory;
        foreach (string header in Directory.GetFiles(Path.Combine(here, "HostEmulation", "common")))
            File.Copy(header, Path.Combine(dir, "common", Path.GetFileName(header)), overwrite: true);
        foreach (string file in new[] { "HostEmulation/cuda_host.h", "HostEmulation/harness.cpp", "FakeCuda/fake_cuda.cpp" })
            File.Copy(Path.Combine(here, file), Path.Combine(dir, Path.GetFileName(file)), overwrite: true);
        string library = Path.Combine(dir, "libcuda.so.1");
        try
        {
            using var p = Process.Start(new ProcessStartInfo("g++", $"-std=c++20 -O2 -ffp-contract=off -fno-fast-math -shared -fPIC -pthread -Wall -Werror -fsanitize=alignment -fno-sanitize-recover=all -Wl,-soname,libcuda.so.1 -o {library} harness.cpp fake_cuda.cpp")
            {
                WorkingDirectory = dir,
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            })!;
            string errors = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                BuildProblem = $"g++ could not build the fake CUDA driver ({p.ExitCode}): {errors}";
                return null;
            }
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            BuildProblem = $"g++ is not installed ({e.Message})";
            return null;
        }

        return library;
    }
}

using System.Security.Cryptography;
using System.Text;
using Rain.Engine.Api;
using Rain.Engine.Backends.Cuda;
using Rain.Engine.Interop;
using Rain.Engine.Backends.TensorRt;
using Rain.Engine.Bundle;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Engine.Tests.Api;

/// <summary>
/// Choosing the TensorRT backend where it cannot run is one clear error before any work, naming what was looked for;
/// never a silent CPU run. TensorRT is the fake libnvinfer here and the GPU probe is supplied, so these tests mean the
/// same on a machine with a GPU.
/// </summary>
[Collection(nameof(FakeTensorRtGroup))]
public sealed class TensorRtSelectionTests(GoldenBundle bundle, ITestOutputHelper output) : IClassFixture<GoldenBundle>
{
    private static readonly CudaCapability NoDriver = new(false, "no CUDA driver found: tried libcuda.so.1 (not found), libcuda.so (not found)", 0, 0, null, 0, 0, 0);
    private static readonly CudaCapability Hopper = new(true, "NVIDIA H100 (SM 9.0, 132 SMs, 81000 MiB), CUDA driver 13.0", 13000, 1, "NVIDIA H100", 90, 81000L << 20, 132);

    [Fact]
    public void WithoutTensorRTOrAGPUTheErrorNamesEveryPathAndTheProbeAndReadsNothing()
    {
        string nowhere = Directory.CreateTempSubdirectory("rain-no-tensorrt-").FullName; // an empty folder
        var options = new EngineOptions { Backend = EngineBackend.TensorRt, TensorRtDirectory = nowhere };
        // The bundle path does not exist either: the backend check comes first, so the bundle is never read.
        var e = Assert.Throws<BackendUnavailableException>(() => RainEngine.Load(Path.Combine(nowhere, "bundle"), options, () => NoDriver));
        output.WriteLine(e.Message);
        Assert.Contains("TensorRT was not found", e.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(nowhere, "libnvinfer.so.10"), e.Message, StringComparison.Ordinal);
        Assert.Contains("RAIN_TENSORRT_DIR", e.Message, StringComparison.Ordinal);
        Assert.Contains(NoDriver.Reason, e.Message, StringComparison.Ordinal);
        Directory.Delete(nowhere);
    }

    [Fact]
    public void WithTensorRTButNoGPUTheErrorIsTheCUDAProbeAlone()
    {
        var options = new EngineOptions { Backend = EngineBackend.TensorRt, TensorRtDirectory = FakeTensorRt.Directory };
        var e = Assert.Throws<BackendUnavailableException>(() => RainEngine.Load(bundle.Folder, options, () => NoDriver));
        output.WriteLine(e.Message);
        Assert.Contains($"No usable CUDA GPU: {NoDriver.Reason}", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("TensorRT was not found", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutPlansForThisGPUAndTensorRTTheErrorPointsAtOnnx2trt()
    {
        string copy = bundle.Copy("no-plans");
        var options = new EngineOptions { Backend = EngineBackend.TensorRt, TensorRtDirectory = FakeTensorRt.Directory };
        var e = Assert.Throws<BackendUnavailableException>(() => RainEngine.Load(copy, options, () => Hopper));
        output.WriteLine(e.Message);
        // FP16 before FP32, the whole UNet before the cut one.
        string[] tried = ["trt10.16.0-sm90-fp16-whole", "trt10.16.0-sm90-fp16-cut", "trt10.16.0-sm90-fp32-whole", "trt10.16.0-sm90-fp32-cut"];
        var at = tried.Select(t => e.Message.IndexOf(Path.Combine(copy, "engines", t, "index.json") + " (missing)", StringComparison.Ordinal)).ToArray();
        Assert.All(at, i => Assert.True(i >= 0, e.Message));
        Assert.Equal(at.Order(), at);
        Assert.Contains($"--project tools/onnx2trt -- --bundle {copy}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APlanWhoseBytesOrKeyChangedIsNamedWithBothValues()
    {
        string copy = bundle.Copy("stale-plans");
        var manifest = ModelBundle.Load(copy, verifyHashes: false).Manifest;
        string folder = Path.Combine(copy, "engines", EngineIndex.GpuKey("10.16.0", 90, fp16: true, UNetForm.Whole));
        Directory.CreateDirectory(folder);
        const long workspace = 1L << 30;
        var entries = new Dictionary<string, EnginePlanEntry>();
        foreach (var (name, part) in UNetLayout.For(manifest, UNetForm.Whole, fp16: true).Engines(manifest))
        {
            byte[] plan = Encoding.ASCII.GetBytes($"FAKEPLAN {name}");
            File.WriteAllBytes(Path.Combine(folder, name + ".plan"), plan);
            string key = EngineIndex.PartKey(part, "10.16.0", 90, true, workspace);
            entries[name] = new EnginePlanEntry { Plan = name + ".plan", Key = key, PlanSha256 = Convert.ToHexStringLower(SHA256.HashData(plan)) };
        }

        var index = new EngineIndex { TensorRtVersion = "10.16.0", ComputeCapability = 90, Precision = "fp16", UNet = "whole", WorkspaceBytes = workspace, Parts = entries };
        index.Write(folder);
        var options = new EngineOptions { Backend = EngineBackend.TensorRt, TensorRtDirectory = FakeTensorRt.Directory };

        // Every plan current: the checks pass and the load goes on to open the device and deserialize the plans. That fails
        // here — no CUDA driver on this machine (on a GPU machine: these one-tensor fake plans break the parts' contracts) —
        // and the failure is the same one exception, naming the plans and the cause.
        var start = Assert.Throws<BackendUnavailableException>(() => RainEngine.Load(copy, options, () => Hopper));
        output.WriteLine(start.Message);
        Assert.Contains("The TensorRT backend could not start on NVIDIA H100 with TensorRT 10.16.0", start.Message, StringComparison.Ordinal);
        Assert.Contains(folder, start.Message, StringComparison.Ordinal);
        Assert.True(start.InnerException is CudaException or Rain.Engine.Interop.TensorRt.TrtException, start.InnerException?.ToString());

        string altered = Path.Combine(folder, "pose_guider.plan");
        File.AppendAllText(altered, "!");
        entries["vae_encoder"] = new EnginePlanEntry { Plan = "vae_encoder.plan", Key = "0123456789abcdef", PlanSha256 = entries["vae_encoder"].PlanSha256 };
        index.Write(folder);
        var e = Assert.Throws<BackendUnavailableException>(() => RainEngine.Load(copy, options, () => Hopper));
        output.WriteLine(e.Message);
        Assert.Contains($"{altered} has sha256 {ModelBundle.Sha256Of(altered)}, the index expects {entries["pose_guider"].PlanSha256}", e.Message, StringComparison.Ordinal);
        Assert.Contains("vae_encoder.plan was built from another version of part vae_encoder or with other settings (key 0123456789abcdef, expected "
            + EngineIndex.PartKey(manifest.Parts["vae_encoder"], "10.16.0", 90, true, workspace), e.Message, StringComparison.Ordinal);
        Assert.Contains("onnx2trt", e.Message, StringComparison.Ordinal);
    }
}

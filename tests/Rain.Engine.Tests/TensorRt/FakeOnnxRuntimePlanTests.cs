using Rain.Engine.Backends.Cuda;
using Rain.Engine.Backends.TensorRt;
using Rain.Engine.Bundle;
using Rain.Engine.Interop.TensorRt;
using Rain.Engine.Tests.Api;
using Rain.Testing;

namespace Rain.Engine.Tests.TensorRt;

/// <summary>
/// The fake libnvinfer's FAKEPLAN3 plans (engines that execute their part's ONNX on ONNX Runtime) and their writer,
/// <see cref="FakeTensorRt.WriteOnnxRuntimePlans"/>, in this process: the plans are current for the fake's TensorRT
/// and GPU, every engine opens an ONNX Runtime session that matches its plan, sessions go with the engines, and a plan
/// that disagrees with its ONNX file is refused with the reason in the TensorRT log. Running the engines needs the
/// fake CUDA driver (their runs are host functions on the stream): FakeCudaDriverTests does that in a child process.
/// </summary>
[Collection(nameof(FakeTensorRtGroup))]
public sealed class FakeOnnxRuntimePlanTests : IClassFixture<GoldenBundle>, IDisposable
{
    private static readonly CudaCapability FakeGpu = new(true, "Fake CUDA device (SM 9.0)", 13000, 1, "Fake CUDA device", FakeTensorRt.ComputeCapability, 1L << 30, 4);
    private readonly GoldenBundle _bundle;
    private readonly TrtLibrary _lib;

    public FakeOnnxRuntimePlanTests(GoldenBundle bundle)
    {
        _bundle = bundle;
        _lib = TrtLibrary.Load(FakeTensorRt.Directory);
        FakeTensorRt.Reset(_lib.InferHandle);
    }

    public void Dispose() => FakeTensorRt.Reset(_lib.InferHandle);

    [Fact]
    public void ThePlansOfAWholeBundleAreCurrentMatchTheirContractsAndReleaseTheirSessions()
    {
        string copy = _bundle.Copy("fake-ort-plans");
        string folder = FakeTensorRt.WriteOnnxRuntimePlans(copy);
        var bundle = ModelBundle.Load(copy);
        var target = TrtBackendProbe.LocatePlans(bundle, _lib, FakeGpu, verifyHashes: true);
        Assert.Equal(folder, target.PlanFolder);
        Assert.Equal(EngineIndex.GpuKey(FakeTensorRt.Version, FakeTensorRt.ComputeCapability, fp16: true, UNetForm.Cut), Path.GetFileName(folder));
        using (var set = target.OpenEngines())
        {
            Assert.Equal(bundle.Manifest.Parts.Count, set.Parts.Count);
            Assert.Equal(4096 + (256 * bundle.Manifest.Parts.Count), set.ArenaBytes);
            Assert.Empty(set.TakeErrors());
        }

        Assert.Equal(0, FakeTensorRt.LiveObjects(_lib.InferHandle));
        // The UNet's engines run its parts rewritten with fp16 cut tensors; the other networks run the bundle's files.
        var released = FakeTensorRt.Events(_lib.InferHandle).Where(e => e.StartsWith("release session ", StringComparison.Ordinal)).ToArray();
        var files = target.UNet.Engines(bundle.Manifest).Select(p => "release session " + p.Contract.File);
        Assert.Equal(files.Order(StringComparer.Ordinal), released.Order(StringComparer.Ordinal));
        Assert.Contains("release session unet.cut16.part00.onnx", released);
    }

    [Fact]
    public void APlanThatDisagreesWithItsONNXFileOrNamesNoneIsRefusedWithTheReason()
    {
        string copy = _bundle.Copy("fake-ort-bad-plans");
        string folder = FakeTensorRt.WriteOnnxRuntimePlans(copy);
        var bundle = ModelBundle.Load(copy);
        var part = bundle.Part("pose_guider");
        string plan = Path.Combine(folder, "pose_guider.plan");
        string good = File.ReadAllText(plan);

        // A tensor line whose shape is not the ONNX file's (the plan and the contract agree, the model does not).
        string line = good.Split('\n').Single(l => l.StartsWith("o ", StringComparison.Ordinal));
        File.WriteAllText(plan, good.Replace(line, line[..line.LastIndexOf(' ')] + " 999", StringComparison.Ordinal));
        var shape = Assert.Throws<TrtException>(() => new TrtEngineSet(_lib, [("pose_guider", plan, part)]));
        Assert.Contains($"{bundle.PathOf("pose_guider")}'s tensor {part.Outputs[0].Name}", shape.Message, StringComparison.Ordinal);
        Assert.Contains("differs from the plan's line", shape.Message, StringComparison.Ordinal);

        // An ONNX file that is not there: ONNX Runtime's own message.
        File.WriteAllText(plan, good.Replace(bundle.PathOf("pose_guider"), bundle.PathOf("pose_guider") + ".missing", StringComparison.Ordinal));
        var missing = Assert.Throws<TrtException>(() => new TrtEngineSet(_lib, [("pose_guider", plan, part)]));
        Assert.Contains($"ONNX Runtime could not create a session for {bundle.PathOf("pose_guider")}.missing", missing.Message, StringComparison.Ordinal);

        // No ONNX file named at all.
        File.WriteAllText(plan, string.Join('\n', good.Split('\n').Where(l => !l.StartsWith("onnx ", StringComparison.Ordinal))));
        var none = Assert.Throws<TrtException>(() => new TrtEngineSet(_lib, [("pose_guider", plan, part)]));
        Assert.Contains("names no ONNX file", none.Message, StringComparison.Ordinal);
        Assert.Equal(0, FakeTensorRt.LiveObjects(_lib.InferHandle));
    }
}

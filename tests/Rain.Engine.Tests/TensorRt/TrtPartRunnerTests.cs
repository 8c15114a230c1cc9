using System.Runtime.InteropServices;
using System.Text;
using Rain.Engine.Backends.TensorRt;
using Rain.Engine.Bundle;
using Rain.Engine.Interop.TensorRt;
using Rain.Testing;

namespace Rain.Engine.Tests.TensorRt;

/// <summary>
/// The part runners and the shared activation arena against the fake libnvinfer (its engine has one input and one
/// output and computes y = 2·x on host memory, so host buffers stand in for device buffers here). This checks our
/// wiring — contract checks, bindings, arena sizing, enqueue errors — not TensorRT, which cannot run here.
/// </summary>
[Collection(nameof(FakeTensorRtGroup))]
public sealed unsafe class TrtPartRunnerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("rain-trt-parts-").FullName;
    private readonly TrtLibrary _lib;
    private readonly List<nint> _host = [];

    public TrtPartRunnerTests()
    {
        _lib = TrtLibrary.Load(FakeTensorRt.Directory);
        FakeTensorRt.Reset(_lib.InferHandle);
    }

    public void Dispose()
    {
        foreach (nint p in _host)
            NativeMemory.AlignedFree((void*)p);
        FakeTensorRt.Reset(_lib.InferHandle);
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void PartsShareOneArenaSizedToTheLargestEngineAndRunOnTheirBoundBuffers()
    {
        // Two parts chained as in the step: a → b through the buffer "mid"; the arena must be the larger scratch.
        using var set = new TrtEngineSet(_lib, [
            ("a", Plan("a", "x", "mid", 2, 3, 4096), Part(("x", "float32", [2, 3]), ("mid", "float32", [2, 3]))),
            ("b", Plan("b", "mid", "y", 2, 3, 65536), Part(("mid", "float32", [2, 3]), ("y", "float32", [2, 3]))),
        ]);
        Assert.Equal(65536, set.ArenaBytes);
        Assert.Equal([4096L, 65536L], new[] { set["a"].DeviceMemorySize, set["b"].DeviceMemorySize });

        float* x = Alloc(6), mid = Alloc(6), y = Alloc(6);
        byte* arena = (byte*)Alloc(65536 / 4);
        float[] input = [1, -2, 3.5f, 0.25f, 5, -6];
        input.CopyTo(new Span<float>(x, 6));
        var addresses = new Dictionary<string, ulong> { ["x"] = (ulong)x, ["mid"] = (ulong)mid, ["y"] = (ulong)y };
        foreach (var part in set.Parts.Values)
        {
            Assert.False(part.IsReady);
            part.Bind(addresses);
        }

        set.UseArena((ulong)arena, 65536);
        Assert.True(set["a"].IsReady && set["b"].IsReady);
        set["a"].EnqueueOn(0x51);
        set["b"].EnqueueOn(0x52);

        Assert.Equal(input.Select(v => 4 * v), new Span<float>(y, 6).ToArray()); // 2·(2·x): b read what a wrote
        Assert.Equal(0x52, FakeTensorRt.LastStream(_lib.InferHandle));
        string[] events = FakeTensorRt.Events(_lib.InferHandle);
        Assert.Equal(2, events.Count(e => e == "setDeviceMemoryV2 65536")); // every context got the one arena
        Assert.Equal(2, events.Count(e => e == "setTensorAddress mid"));
        Assert.Equal(2, events.Count(e => e == "enqueueV3"));
        Assert.Contains("setInputShape x nb=2", events);
        Assert.Contains("setInputShape mid nb=2", events);
    }

    [Fact]
    public void EnginesAreDeletedWithTheSet()
    {
        var set = new TrtEngineSet(_lib, [("a", Plan("a", "x", "y", 4, 1, 0), Part(("x", "float32", [4, 1]), ("y", "float32", [4, 1])))]);
        Assert.True(FakeTensorRt.LiveObjects(_lib.InferHandle) >= 3); // runtime, engine, context
        set.Dispose();
        Assert.Equal(0, FakeTensorRt.LiveObjects(_lib.InferHandle));
        string[] events = FakeTensorRt.Events(_lib.InferHandle);
        Assert.True(Array.IndexOf(events, "delete IExecutionContext") < Array.IndexOf(events, "delete ICudaEngine"), string.Join(" | ", events));
    }

    [Theory]
    [InlineData("x", "float32", 2, 4, "y", "input x: expected input float32 [2, 4], found input float32 [2, 3]")]
    [InlineData("x", "uint8", 2, 3, "y", "input x: expected input uint8 [2, 3], found input float32 [2, 3]")]
    [InlineData("pose", "float32", 2, 3, "y", "input pose float32 [2, 3] is missing")]
    [InlineData("x", "float32", 2, 3, "out", "output y is not in the bundle's contract")]
    public void AnEngineThatBreaksTheContractIsNamedWithThePlanAndTensor(string input, string dtype, long d0, long d1, string output, string expected)
    {
        string plan = Plan("part07", "x", "y", 2, 3, 4096);
        var contract = Part((input, dtype, [d0, d1]), (output, "float32", [2, 3]));
        var e = Assert.Throws<TrtException>(() => new TrtEngineSet(_lib, [("unet.part07", plan, contract)]));
        Assert.Contains(plan, e.Message, StringComparison.Ordinal);
        Assert.Contains("part unet.part07", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("onnx2trt", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, FakeTensorRt.LiveObjects(_lib.InferHandle)); // the half-made set was deleted
    }

    [Fact]
    public void APlanThatDoesNotDeserializeIsNamedWithTheTensorRTLog()
    {
        string plan = Path.Combine(_folder, "bad.plan");
        File.WriteAllText(plan, "NOT A PLAN AT ALL");
        var e = Assert.Throws<TrtException>(() => new TrtEngineSet(_lib, [("vae_encoder", plan, Part(("x", "float32", [1]), ("y", "float32", [1])))]));
        Assert.Contains(plan, e.Message, StringComparison.Ordinal);
        Assert.Contains("fake: not a plan", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunningBeforeBindingOrAfterARefusedEnqueueIsAnErrorNamingThePart()
    {
        string plan = Plan("dec", "x", "y", 2, 3, 4096);
        using var set = new TrtEngineSet(_lib, [("taesdv_decoder", plan, Part(("x", "float32", [2, 3]), ("y", "float32", [2, 3])))]);
        var part = set["taesdv_decoder"];
        var notReady = Assert.Throws<InvalidOperationException>(() => part.EnqueueOn(1));
        Assert.Contains("no activation arena", notReady.Message, StringComparison.Ordinal);
        Assert.Contains("unbound tensors: [x, y]", notReady.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("enqueueV3", FakeTensorRt.Events(_lib.InferHandle));

        var missing = Assert.Throws<TrtException>(() => part.Bind(new Dictionary<string, ulong> { ["x"] = (ulong)Alloc(6) }));
        Assert.Contains("no device buffer for tensor(s) y float32 [2, 3]", missing.Message, StringComparison.Ordinal);
        var small = Assert.Throws<TrtException>(() => set.UseArena((ulong)Alloc(256), 1024));
        Assert.Contains("1024 bytes; the largest engine needs 4096", small.Message, StringComparison.Ordinal);

        part.Bind(new Dictionary<string, ulong> { ["x"] = (ulong)Alloc(6), ["y"] = (ulong)Alloc(6) });
        set.UseArena((ulong)Alloc(1024), 4096);
        FakeTensorRt.SetEnqueueFail(_lib.InferHandle, true);
        var refused = Assert.Throws<TrtException>(() => part.EnqueueOn(1));
        // The exception carries what TensorRT logged for this enqueue (and takes it: it is not left for the next error).
        Assert.Contains($"{plan} (part taesdv_decoder): enqueueV3 failed: TensorRT: fake: enqueueV3 refused", refused.Message, StringComparison.Ordinal);
        Assert.Equal("", set.TakeErrors());
        FakeTensorRt.SetEnqueueFail(_lib.InferHandle, false);
        part.EnqueueOn(1);
    }

    [Fact]
    public void TensorRtWarningsAreKeptForTheBackendDescription()
    {
        string plan = Path.Combine(_folder, "warned.plan");
        File.WriteAllText(plan, "FAKEPLAN2 dm=4096\nwarn fake: weights of this part were clamped to the FP16 range\ni 0 x 2 2 3\no 0 y 2 2 3\n");
        using var set = new TrtEngineSet(_lib, [("pose_guider", plan, Part(("x", "float32", [2, 3]), ("y", "float32", [2, 3])))]);
        Assert.Equal(["fake: weights of this part were clamped to the FP16 range"], set.Warnings);
        Assert.Equal("", set.TakeErrors()); // a warning is not an error
    }

    private string Plan(string name, string input, string output, long d0, long d1, long deviceMemory)
    {
        string path = Path.Combine(_folder, name + ".plan");
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes($"FAKEPLAN in={input} out={output} nb=2 d0={d0} d1={d1} dm={deviceMemory}"));
        return path;
    }

    private static PartManifest Part((string Name, string DType, long[] Shape) input, (string Name, string DType, long[] Shape) output) => new()
    {
        File = "part.onnx",
        Sha256 = new string('0', 64),
        Inputs = [new TensorContract(input.Name, input.DType, input.Shape)],
        Outputs = [new TensorContract(output.Name, output.DType, output.Shape)],
    };

    private float* Alloc(int floats)
    {
        nint p = (nint)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 256);
        new Span<float>((void*)p, floats).Clear();
        _host.Add(p);
        return (float*)p;
    }
}

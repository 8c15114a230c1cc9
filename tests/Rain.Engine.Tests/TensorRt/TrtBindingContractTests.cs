using System.Runtime.InteropServices;
using Rain.Engine.Interop.TensorRt;
using Rain.Testing;

namespace Rain.Engine.Tests.TensorRt;

/// <summary>
/// The whole TensorRT call sequence against a fake libnvinfer written in C and laid out per the 10.x Linux tables:
/// build → serialize → deserialize → query I/O → shapes and addresses → enqueue → delete, logger callbacks included.
/// This checks our side of the ABI (slots, hidden struct returns, bool returns, destructor slots, callbacks), not
/// TensorRT itself, which cannot run here.
/// </summary>
[Collection(nameof(FakeTensorRtGroup))]
public sealed class TrtBindingContractTests
{
    private static TrtLibrary LoadFake()
    {
        var lib = TrtLibrary.Load(FakeTensorRt.Directory);
        FakeTensorRt.Reset(lib.InferHandle);
        return TrtLibrary.Load(FakeTensorRt.Directory); // reload after reset so the version gate sees the default again
    }

    [Fact]
    public void BuildDeserializeRunAndDeleteInOrder()
    {
        var lib = LoadFake();
        Assert.Equal(10, lib.Major);
        Assert.Equal("10.16.0", lib.VersionText);
        Assert.NotNull(lib.ParserPath);
        var messages = new List<(TrtSeverity, string)>();
        var logger = TrtLogger.For(lib.Slots);
        using var listening = logger.Listen((s, m) => { lock (messages) messages.Add((s, m)); });

        byte[] plan;
        using (var builder = new TrtBuilder(lib, logger))
        {
            var network = builder.CreateNetwork();
            var parser = new TrtOnnxParser(lib, network, logger);
            Assert.True(parser.Parse("onnx-bytes"u8, "/models/unet_part_00.onnx"));
            Assert.Empty(parser.Errors());
            var config = builder.CreateConfig();
            config.SetFlag(lib.Enums.BuilderFlagFp16!.Value);
            config.SetWorkspaceLimit(1UL << 30);
            var profile = builder.CreateOptimizationProfile();
            profile.SetStaticShape("x", [2, 3]);
            Assert.Equal(0, config.AddOptimizationProfile(profile));
            plan = builder.BuildSerializedNetwork(network, config);
        }

        // The fake's plan echoes what it received through each slot.
        Assert.Equal("FAKEPLAN in=x out=y nb=2 d0=2 d1=3 flags=0,-1 ws=1073741824", System.Text.Encoding.ASCII.GetString(plan));
        string[] built = FakeTensorRt.Events(lib.InferHandle);
        Assert.Contains("createInferBuilder version=101600", built);
        Assert.Contains("createNvOnnxParser version=100", built);
        Assert.Contains("parse 10 bytes path=/models/unet_part_00.onnx", built);
        Assert.Equal(3, built.Count(e => e.StartsWith("setDimensions x sel=", StringComparison.Ordinal)));
        Assert.Contains("setDimensions x sel=2 nb=2 d0=2 d1=3", built);
        // Children go before their parents: parser before network, network and config before the builder.
        int parserDeleted = Array.IndexOf(built, "delete IParser"), net = Array.IndexOf(built, "delete INetworkDefinition"),
            cfg = Array.IndexOf(built, "delete IBuilderConfig"), bld = Array.IndexOf(built, "delete IBuilder"), mem = Array.IndexOf(built, "delete IHostMemory");
        Assert.True(mem >= 0 && parserDeleted >= 0 && parserDeleted < net && net < bld && cfg < bld, string.Join(" | ", built));
        Assert.DoesNotContain("trap", built);
        Assert.Equal(0, FakeTensorRt.LiveObjects(lib.InferHandle));

        FakeTensorRt.Reset(lib.InferHandle);
        float[] x = [1, -2, 3.5f, 4, 5, -6];
        float[] y = new float[6];
        byte[] scratch = new byte[4096];
        var pins = new[] { GCHandle.Alloc(x, GCHandleType.Pinned), GCHandle.Alloc(y, GCHandleType.Pinned), GCHandle.Alloc(scratch, GCHandleType.Pinned) };
        try
        {
            using var runtime = new TrtRuntime(lib, logger);
            var engine = runtime.DeserializeEngine(plan);
            var io = engine.IOTensors();
            Assert.Equal(2, io.Count);
            Assert.Equal(("x", true, TrtDataType.Float), (io[0].Name, io[0].IsInput, io[0].DataType));
            Assert.Equal(("y", false), (io[1].Name, io[1].IsInput));
            Assert.Equal([2L, 3L], io[0].Shape); // Dims64 came back through the hidden return buffer
            Assert.Equal(4096, engine.DeviceMemorySize);

            var context = engine.CreateExecutionContext();
            context.SetDeviceMemory(pins[2].AddrOfPinnedObject(), scratch.Length);
            context.SetInputShape("x", [2, 3]);
            Assert.Equal([2L, 3L], context.GetTensorShape("y"));
            context.SetTensorAddress("x", pins[0].AddrOfPinnedObject());
            context.SetTensorAddress("y", pins[1].AddrOfPinnedObject());
            Assert.True(context.Enqueue(0x5EED));
            Assert.Equal(x.Select(v => 2 * v), y);
            Assert.Equal(0x5EED, FakeTensorRt.LastStream(lib.InferHandle));

            var refused = Assert.Throws<TrtException>(() => context.SetTensorAddress("nope", 1));
            Assert.Contains("setTensorAddress('nope'", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var pin in pins)
                pin.Free();
        }

        string[] ran = FakeTensorRt.Events(lib.InferHandle);
        int ctx = Array.IndexOf(ran, "delete IExecutionContext"), eng = Array.IndexOf(ran, "delete ICudaEngine"), rt = Array.IndexOf(ran, "delete IRuntime");
        Assert.True(ctx >= 0 && ctx < eng && eng < rt, string.Join(" | ", ran));
        Assert.DoesNotContain("trap", ran);
        Assert.DoesNotContain("complete-dtor-called", ran); // deletion used the deleting destructor, not the complete one
        Assert.Equal(0, FakeTensorRt.LiveObjects(lib.InferHandle));

        // The fake logged through our C# ILogger with the right `this` (the GCHandle round trip).
        lock (messages)
        {
            Assert.Contains((TrtSeverity.Info, "fake: runtime created"), messages);
            Assert.Contains((TrtSeverity.Verbose, "fake: builder created"), messages);
            Assert.Contains((TrtSeverity.Info, "fake: built a plan"), messages);
        }
    }

    [Fact]
    public void ParserErrorsCarryDescriptionAndNodeName()
    {
        var lib = LoadFake();
        var messages = new List<string>();
        var logger = TrtLogger.For(lib.Slots);
        using var listening = logger.Listen((_, m) => { lock (messages) messages.Add(m); });
        using var builder = new TrtBuilder(lib, logger);
        var parser = new TrtOnnxParser(lib, builder.CreateNetwork(), logger);
        Assert.False(parser.Parse("BAD model"u8, null));
        var error = Assert.Single(parser.Errors());
        Assert.Equal(("unsupported operator FancyOp", "down_blocks.0.fancy"), (error.Description, error.NodeName));
        lock (messages)
            Assert.Contains("fake parser: unsupported operator", messages);
        var config = builder.CreateConfig();
        var e = Assert.Throws<TrtException>(() => builder.BuildSerializedNetwork(builder.CreateNetwork(), config));
        Assert.Contains("buildSerializedNetwork failed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheFactoriesAreGivenTheLoadedLibrarysVersion()
    {
        // NV_TENSORRT_VERSION of the caller: the binding has no headers, so it claims the release it talks to (10.8 here),
        // not a fixed 10.16 that a 10.8 library would be asked to serve.
        var lib = LoadFake();
        FakeTensorRt.SetVersion(lib.InferHandle, 100800);
        try
        {
            var v108 = TrtLibrary.Load(FakeTensorRt.Directory);
            Assert.Equal(100800, v108.FactoryVersion);
            var logger = TrtLogger.For(v108.Slots);
            using (new TrtRuntime(v108, logger))
            using (new TrtBuilder(v108, logger))
            {
            }

            string[] events = FakeTensorRt.Events(lib.InferHandle);
            Assert.Contains("createInferRuntime version=100800", events);
            Assert.Contains("createInferBuilder version=100800", events);
        }
        finally
        {
            FakeTensorRt.Reset(lib.InferHandle);
        }
    }

    [Fact]
    public void OneLoggerServesTheProcessAndOutlivesEveryRuntimeAndBuilder()
    {
        // TensorRT keeps the first logger it is given as its global logger and may call it at any later time: the binding
        // gives every runtime and builder the same process-lifetime logger, so that call still lands after they are gone.
        var lib = LoadFake();
        var logger = TrtLogger.For(lib.Slots);
        Assert.Same(logger, TrtLogger.For(lib.Slots));
        using (new TrtRuntime(lib, logger))
        {
        }

        using (new TrtBuilder(lib, logger))
        {
        }

        Assert.Equal(logger.Pointer, FakeTensorRt.GlobalLogger(lib.InferHandle));
        var heard = new List<(TrtSeverity, string)>();
        using (logger.Listen((s, m) => { lock (heard) heard.Add((s, m)); }))
            FakeTensorRt.LogThroughGlobalLogger(lib.InferHandle, 2, "fake: a warning long after the runtime was deleted");
        lock (heard)
            Assert.Contains((TrtSeverity.Warning, "fake: a warning long after the runtime was deleted"), heard);
        FakeTensorRt.LogThroughGlobalLogger(lib.InferHandle, 2, "nobody listens, nothing breaks");
    }

    [Theory]
    [InlineData(90000, "9.0.0")]
    [InlineData(100000, "10.0.0")]
    [InlineData(120100, "12.1.0")]
    public void UnsupportedVersionsAreRefusedWithTheVersionFound(int version, string text)
    {
        var lib = LoadFake();
        FakeTensorRt.SetVersion(lib.InferHandle, version);
        try
        {
            var e = Assert.Throws<TrtException>(() => TrtLibrary.Load(FakeTensorRt.Directory));
            Assert.Contains($"is TensorRT {text}; Rain.Engine supports TensorRT 10.1 to 10.x and 11.x", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            FakeTensorRt.Reset(lib.InferHandle);
        }
    }

    [Fact]
    public void SupportedVersionsSelectTheirTables()
    {
        var lib = LoadFake();
        try
        {
            FakeTensorRt.SetVersion(lib.InferHandle, 110100);
            var v11 = TrtLibrary.Load(FakeTensorRt.Directory);
            Assert.Same(TrtSlots.Linux11, v11.Slots);
            Assert.Null(v11.Enums.BuilderFlagFp16);
            FakeTensorRt.SetVersion(lib.InferHandle, 100100);
            Assert.Same(TrtSlots.Linux10, TrtLibrary.Load(FakeTensorRt.Directory).Slots);
        }
        finally
        {
            FakeTensorRt.Reset(lib.InferHandle);
        }
    }

    [Fact]
    public void PImplMismatchIsRefused()
    {
        var lib = LoadFake();
        var logger = TrtLogger.For(lib.Slots);
        FakeTensorRt.SetWrongPImpl(lib.InferHandle, true);
        try
        {
            var e = Assert.Throws<TrtException>(() => new TrtRuntime(lib, logger));
            Assert.Contains("getPImpl() returned 0x10", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            FakeTensorRt.Reset(lib.InferHandle);
        }
    }

    [Fact]
    public void MissingTensorRtNamesWhatWasTried()
    {
        string empty = Path.Combine(Path.GetTempPath(), $"rain-no-trt-{Environment.ProcessId}");
        Directory.CreateDirectory(empty);
        Assert.Null(TrtLibrary.TryLoad(empty, out string trace));
        Assert.Contains($"{empty}/libnvinfer.so.11 (no such file)", trace, StringComparison.Ordinal);
        Assert.Contains($"{empty}/libnvinfer.so.10 (no such file)", trace, StringComparison.Ordinal);
        var e = Assert.Throws<TrtException>(() => TrtLibrary.Load(empty));
        Assert.Contains("TensorRT was not found", e.Message, StringComparison.Ordinal);
        Assert.Contains("RAIN_TENSORRT_DIR", e.Message, StringComparison.Ordinal);
    }
}

using Rain.Engine;
using Rain.Engine.Api;
using Rain.Engine.Bundle;

namespace Rain.Native.Tests;

/// <summary>The C ABI's managed pieces on their own: handles, options, failure classification.</summary>
public sealed class ManagedSideTests
{
    [Fact]
    public void HandlesAreRefusedOnceFreedEvenWhenTheirSlotIsReused()
    {
        var table = new HandleTable<object>(0x41);
        object a = new(), b = new();
        nint ha = table.Add(a);
        Assert.NotEqual(0, ha);
        Assert.True(table.TryGet(ha, out var found) && ReferenceEquals(found, a));
        Assert.Same(a, table.Remove(ha));
        Assert.Null(table.Remove(ha)); // double free
        nint hb = table.Add(b);         // same slot, next generation
        Assert.NotEqual(ha, hb);
        Assert.False(table.TryGet(ha, out _));
        Assert.True(table.TryGet(hb, out found) && ReferenceEquals(found, b));
    }

    [Fact]
    public void HandlesOfAnotherTableAndMadeUpValuesAreRefused()
    {
        var engines = new HandleTable<object>(0x52);
        var sessions = new HandleTable<object>(0x53);
        nint e = engines.Add(new object());
        Assert.False(sessions.TryGet(e, out _));
        foreach (nint bogus in new nint[] { 1, -1, unchecked((nint)0x7fff_1234_5678), e + 1, e ^ (nint)(1L << 30) })
            Assert.False(engines.TryGet(bogus, out _));
    }

    [Fact]
    public void OptionsTakeEngineOptionsInSnakeCaseAndRefuseUnknownKeysAndTypes()
    {
        var o = OptionsJson.Parse("""{"seed": 18446744073709551615, "threads": 3, "backend": "tensorrt", "latest_frame_wins": true, "input_capacity": 9, "tensorrt_directory": null}""");
        Assert.Equal(ulong.MaxValue, o.Seed);
        Assert.Equal(3, o.Threads);
        Assert.Equal(EngineBackend.TensorRt, o.Backend);
        Assert.True(o.LatestFrameWins);
        Assert.Equal(9, o.InputCapacity);
        var memory = OptionsJson.Parse("""{"keep_reference_networks": true, "prepack_weights": false}""");
        Assert.True(memory.KeepReferenceNetworks);
        Assert.False(memory.PrepackWeights);
        Assert.False(OptionsJson.Parse("{}").KeepReferenceNetworks);
        Assert.True(OptionsJson.Parse("{}").PrepackWeights);
        Assert.Equal(new EngineOptions(), OptionsJson.Parse(null));
        Assert.Equal(new EngineOptions(), OptionsJson.Parse("{}"));
        Assert.Contains("\"seeed\"", Assert.Throws<ArgumentException>(() => OptionsJson.Parse("""{"seeed": 1}""")).Message, StringComparison.Ordinal);
        Assert.Contains("\"seed\" must be", Assert.Throws<ArgumentException>(() => OptionsJson.Parse("""{"seed": -1}""")).Message, StringComparison.Ordinal);
        Assert.Contains("\"threads\"", Assert.Throws<ArgumentException>(() => OptionsJson.Parse("""{"threads": 5000}""")).Message, StringComparison.Ordinal);
        Assert.Contains("JSON object", Assert.Throws<ArgumentException>(() => OptionsJson.Parse("[1]")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EachFailureKindMapsToItsStatusWithTheCauseInTheMessage()
    {
        Assert.Equal(RainStatus.Argument, Failure.Report(new ArgumentException("bad size")));
        Assert.Equal(RainStatus.Bundle, Failure.Report(new BundleException("x/bundle.json: not found")));
        Assert.Equal(RainStatus.BackendUnavailable, Failure.Report(new BackendUnavailableException("no GPU")));
        Assert.Equal(RainStatus.Timeout, Failure.Report(new OperationCanceledException()));
        Assert.Equal(RainStatus.Io, Failure.Report(new FileNotFoundException("gone")));
        Assert.Equal(RainStatus.SessionFaulted, Failure.Report(new SessionFaultedException(3, 0, Stage.Decode, new InvalidDataException("NaN in frames"))));
        Assert.Contains("NaN in frames", LastErrorText(), StringComparison.Ordinal);
        Assert.Equal(RainStatus.Closed, Failure.Report(new InvalidOperationException("Input was completed")));
        Assert.Equal(RainStatus.Io, Failure.Report(new Rain.Engine.Pose.PoseModelException("yolox_s.onnx: not an ONNX model")));
        Assert.Equal(RainStatus.Internal, Failure.Report(new RainException(RainErrorCategory.DeviceFault, "cuLaunchKernel failed")));
        Assert.Contains("device fault", LastErrorText(), StringComparison.Ordinal);
        Assert.Equal(RainStatus.Internal, Failure.Report(new KeyNotFoundException("oops")));
        Assert.Contains("KeyNotFoundException", LastErrorText(), StringComparison.Ordinal);
    }

    private static unsafe string LastErrorText() => System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)LastError.Pointer)!;
}

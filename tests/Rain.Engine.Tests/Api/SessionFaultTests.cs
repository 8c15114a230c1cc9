using Rain.Engine.Api;
using Rain.Engine.Media;
using Rain.Engine.Bundle;
using Xunit.Abstractions;

namespace Rain.Engine.Tests.Api;

/// <summary>
/// Injected faults (issue 14): a step that throws, runs out of memory or hangs, and a network part that emits NaN. Every
/// frame finished before the fault is handed out, then the fault — naming step, chunk and stage — reaches the reader;
/// the process survives; a hung step is given up after <see cref="EngineOptions.StepTimeout"/>.
/// </summary>
public sealed class SessionFaultTests(GoldenBundle bundle, ITestOutputHelper output) : IClassFixture<GoldenBundle>
{
    private const int P = 4, L = 4;

    private static readonly RgbImage Reference = SessionTests.Pose(7, 96, 80);

    [Theory]
    [InlineData(Fault.Throw, typeof(InvalidDataException))]
    [InlineData(Fault.OutOfMemory, typeof(OutOfMemoryException))]
    public void AFailingStepHandsOutTheFramesFinishedBeforeItThenTheFault(Fault fault, Type cause)
    {
        // Steps 0 … L emit chunks 0 and 1 (8 frames); step L + 1 fails.
        const long FaultyStep = L + 1;
        var b = ModelBundle.Load(bundle.Folder, verifyHashes: false);
        using var engine = FaultyBackend.Engine(b, new EngineOptions { Threads = 1 }, FaultyStep, fault, out _);
        using var session = engine.CreateSession(Reference);
        for (int i = 0; i < 8 * P; i++)
            session.PushPose(SessionTests.Pose(i)); // the queue holds 64: every push lands before the step fails

        var indices = new List<long>();
        var e = Assert.Throws<SessionFaultedException>(() =>
        {
            while (session.ReadFrame() is { } frame)
            {
                using (frame)
                    indices.Add(frame.Index);
            }
        });
        output.WriteLine(e.Message);
        Assert.Equal(Enumerable.Range(0, 2 * P).Select(i => (long)i), indices);
        Assert.Equal(FaultyStep, e.Step);
        Assert.Equal(FaultyStep - (L - 1), e.Chunk);
        Assert.Equal(RainErrorCategory.SessionFaulted, e.Category);
        Assert.IsType(cause, e.InnerException);
        Assert.Contains("step 5", e.Message, StringComparison.Ordinal);
        Assert.Contains("chunk 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("injected", e.Message, StringComparison.Ordinal);

        // The session stays closed: reads and pushes report the same fault; the engine takes a new session after Dispose.
        Assert.Throws<SessionFaultedException>(() => session.TryReadFrame(out _));
        Assert.Equal(FaultyStep, Assert.Throws<SessionFaultedException>(() => session.PushPose(SessionTests.Pose(0))).Step);
        Assert.Equal(FaultyStep, session.Statistics.Steps);
        Assert.Equal(2 * P, session.Statistics.FramesOut);
        session.Dispose();
        using var next = engine.CreateSession(Reference);
    }

    [Fact]
    public void AHungStepFaultsTheSessionAfterTheStepTimeoutAndTheEngineRefusesNewSessions()
    {
        var b = ModelBundle.Load(bundle.Folder, verifyHashes: false);
        var engine = FaultyBackend.Engine(b, new EngineOptions { Threads = 1, StepTimeout = TimeSpan.FromSeconds(2) }, 1, Fault.Hang, out var backend);
        try
        {
            var session = engine.CreateSession(Reference);
            for (int i = 0; i < 3 * P; i++)
                session.PushPose(SessionTests.Pose(i));
            Assert.True(backend.Hanging.Wait(TimeSpan.FromMinutes(2)), "the faulty step never started");

            // The reader notices the step outliving StepTimeout instead of waiting forever.
            var e = Assert.Throws<SessionFaultedException>(() => session.ReadFrame());
            output.WriteLine(e.Message);
            Assert.IsType<TimeoutException>(e.InnerException);
            Assert.Equal(1, e.Step);
            Assert.Contains("StepTimeout", e.Message, StringComparison.Ordinal);

            // Dispose gives up on the hung thread rather than joining it forever; the engine, whose buffers that step still
            // holds, refuses another session.
            session.Dispose();
            var refused = Assert.Throws<SessionFaultedException>(() => engine.CreateSession(Reference));
            Assert.Contains("never returned", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            backend.Release();
            engine.Dispose(); // keeps the backend: it was abandoned to the hung step
        }

        // Once the hung call returns, its result is dropped and the thread ends; only then is the backend freed.
        Thread.Sleep(500);
        backend.Dispose();
    }

    [Fact]
    public void APartThatEmitsNaNFaultsTheSessionNamingStepStageAndTensorUnlessTheCheckIsOff()
    {
        // The pose guider's weights overwritten with NaN (0xFF bytes), re-hashed and re-sealed as a careless export would
        // ship them: its features poison the UNet, whose output the step checks.
        string copy = bundle.Copy("nan-part");
        string data = Path.Combine(copy, "pose_guider.onnx.data");
        File.WriteAllBytes(data, Enumerable.Repeat((byte)0xFF, (int)new FileInfo(data).Length).ToArray());
        GoldenBundle.EditManifest(copy, m => m["parts"]!["pose_guider"]!["data_sha256"] = ModelBundle.Sha256Of(data));

        using (var engine = RainEngine.Load(copy, new EngineOptions { Threads = 1 }))
        using (var session = engine.CreateSession(Reference))
        {
            for (int i = 0; i < L * P; i++)
                session.PushPose(SessionTests.Pose(i));
            var e = Assert.Throws<SessionFaultedException>(() => session.ReadFrame());
            output.WriteLine(e.Message);
            var nan = Assert.IsType<NonFiniteValuesException>(e.InnerException);
            Assert.Equal(Stage.UNetParts, nan.Stage);
            Assert.Equal(Stage.UNetParts, e.Stage);
            Assert.Equal(0, e.Step);
            Assert.Equal(-(L - 1), e.Chunk);
            Assert.Contains("model_output", e.Message, StringComparison.Ordinal);
            Assert.Equal(RainErrorCategory.DeviceFault, nan.Category);
        }

        // With the check off (benchmarks), the same bundle streams: the frames are garbage, and nothing says so.
        using (var engine = RainEngine.Load(copy, new EngineOptions { Threads = 1, CheckNumerics = false }))
        using (var session = engine.CreateSession(Reference))
        {
            session.PushPose(SessionTests.Pose(0));
            session.CompleteInput();
            using var frame = session.ReadFrame();
            Assert.NotNull(frame);
            Assert.Null(session.ReadFrame());
        }
    }
}

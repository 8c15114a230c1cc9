using Rain.Engine.Api;
using Rain.Engine.Media;
using Xunit.Abstractions;

namespace Rain.Engine.Tests.Api;

/// <summary>
/// AnimationSession on the golden bundle (64×128, p = L = 4): order, the documented start (first frames = chunk 0 at the
/// 4th step), queues, latest-frame-wins, cancellation, bad input, and no managed allocation per step in steady state.
/// </summary>
public sealed class SessionTests(GoldenBundle bundle, ITestOutputHelper output) : IClassFixture<GoldenBundle>
{
    private const int P = 4, L = 4, W = 128, H = 64;

    internal static RgbImage Pose(int i, int width = W, int height = H)
    {
        var px = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
                px[((y * width) + x) * 3 + (i % 3)] = (byte)(Math.Abs((x + (3 * i)) % 64 - 32) < 4 || Math.Abs((y + i) % 32 - 16) < 3 ? 255 : 0);
        }

        return new RgbImage(width, height, px);
    }

    private static RgbImage Reference() => Pose(7, 96, 80);

    private static void WaitFor(AnimationSession session, long steps)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (session.Statistics.Steps < steps)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the session did not reach {steps} steps");
            Thread.Sleep(5);
        }
    }

    [Fact]
    public void FramesComeOutInOrderAndTheFirstAfterLMinus1Steps()
    {
        using var engine = RainEngine.Load(bundle.Folder, new EngineOptions { Threads = 1, Seed = 3 });
        Assert.Equal(L - 1, engine.StartupSteps);
        using var session = engine.CreateSession(Reference());
        for (int i = 0; i < (L - 1) * P; i++)
            session.PushPose(Pose(i));
        WaitFor(session, L - 1);
        Assert.False(session.TryReadFrame(out _), "a frame came out before chunk 0 passed every level");
        Assert.Equal(0, session.Statistics.FramesOut);

        for (int i = (L - 1) * P; i < 8 * P; i++)
            session.PushPose(Pose(i));
        session.CompleteInput();
        var indices = new List<long>();
        while (session.ReadFrame() is { } frame)
        {
            using (frame)
            {
                Assert.Equal(W, frame.Image.Width);
                Assert.Equal(H, frame.Image.Height);
                Assert.True(frame.LatencyMilliseconds > 0);
                indices.Add(frame.Index);
            }
        }

        // 8 chunks pushed: steps 0..7 take them, chunk c comes out at step c + 3, and the drain's 3 steps bring out chunks
        // 5..7: all 32 frames, in order.
        Assert.Equal(Enumerable.Range(0, 8 * P).Select(i => (long)i), indices);
        var stats = session.Statistics;
        Assert.Equal(8 + (L - 1), stats.Steps);
        Assert.Equal(32, stats.FrameLatency.Count);
        output.WriteLine($"step {stats.StepTime}; latency {stats.FrameLatency}");
    }

    [Fact]
    public void TheSameSeedGivesTheSameFramesAndAnotherSeedOtherFrames()
    {
        byte[] Run(ulong seed)
        {
            using var engine = RainEngine.Load(bundle.Folder, new EngineOptions { Threads = 1, Seed = seed, VerifyBundleHashes = false });
            using var session = engine.CreateSession(Reference());
            for (int i = 0; i < L * P; i++)
                session.PushPose(Pose(i));
            using var frame = session.ReadFrame()!;
            return (byte[])frame.Image.Pixels.Clone();
        }

        byte[] a = Run(1), b = Run(1), c = Run(2);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void SteadyStateStepsAllocateNoManagedMemoryOver200Steps()
    {
        const int Steps = 200;
        // Two threads: the attention workers run too, and they allocate nothing either.
        using var engine = RainEngine.Load(bundle.Folder, new EngineOptions { Threads = 2, VerifyBundleHashes = false });
        using var session = engine.CreateSession(Reference());
        var poses = Enumerable.Range(0, 8).Select(i => Pose(i)).ToArray();
        var pusher = new Thread(() =>
        {
            for (int i = 0; i < Steps * P; i++)
                session.PushPose(poses[i % poses.Length]);
            session.CompleteInput();
        });
        pusher.Start();
        long frames = 0;
        while (session.ReadFrame() is { } frame)
        {
            frame.Dispose();
            frames++;
        }

        pusher.Join();
        var stats = session.Statistics;
        output.WriteLine($"{stats.Steps} steps: {stats.AllocatingSteps} allocated, {stats.AllocatedBytesTotal} B in all, last step {stats.AllocatedBytesLastStep} B; step {stats.StepTime}");
        Assert.Equal(Steps + L - 1, stats.Steps); // the drain's L − 1 steps
        Assert.Equal(Steps * P, frames);

        // Only warm-up steps may allocate (first runs, first decode); none of the later ones.
        Assert.InRange(stats.AllocatingSteps, 0, L + 2);
        Assert.Equal(0, stats.AllocatedBytesLastStep);
    }

    [Fact]
    public void APoseOfTheWrongSizeIsRefusedAndTheSessionStaysUsable()
    {
        using var engine = RainEngine.Load(bundle.Folder, new EngineOptions { Threads = 1, VerifyBundleHashes = false });
        using var session = engine.CreateSession(Reference());
        var e = Assert.Throws<ArgumentException>(() => session.PushPose(Pose(0, W, H + 8)));
        Assert.Contains("128x64", e.Message, StringComparison.Ordinal);
        Assert.Contains("128x72", e.Message, StringComparison.Ordinal);
        for (int i = 0; i < L * P; i++)
            session.PushPose(Pose(i));
        using var frame = session.ReadFrame();
        Assert.NotNull(frame);
        Assert.Equal(0, frame.Index);
    }

    [Fact]
    public void LatestFrameWinsDropsTheOldestPendingPosesWhenTheQueueIsFull()
    {
        using var engine = RainEngine.Load(bundle.Folder, new EngineOptions { Threads = 1, InputCapacity = P, OutputCapacity = P, LatestFrameWins = true, VerifyBundleHashes = false });
        using var session = engine.CreateSession(Reference());
        // Pushes never wait with latest-frame-wins, so hand over one chunk at a time and let the step thread take it.
        for (int c = 0; c <= L; c++)
        {
            for (int i = 0; i < P; i++)
                session.PushPose(Pose((c * P) + i));
            WaitFor(session, c + 1);
        }

        // Step L emitted into a full frame queue (nobody reads), so the step thread waits and the pose queue fills.
        for (int i = 0; i < 3 * P; i++)
            Assert.True(session.TryPushPose(Pose(i)));
        Assert.Equal(2 * P, session.Statistics.DroppedPoses);
        session.CompleteInput();
        var indices = new List<long>();
        while (session.ReadFrame() is { } frame)
        {
            using (frame)
                indices.Add(frame.Index);
        }

        // 6 chunks processed (5 pushed + 1 kept of the 3 offered) and the window drained → chunks 0..5 emitted, in order.
        Assert.Equal(Enumerable.Range(0, 6 * P).Select(i => (long)i), indices);
    }

    [Fact]
    public void WithoutLatestFrameWinsAFullQueueRefusesAndACancelledWaitThrows()
    {
        using var engine = RainEngine.Load(bundle.Folder, new EngineOptions { Threads = 1, InputCapacity = P, OutputCapacity = P, VerifyBundleHashes = false });
        using var session = engine.CreateSession(Reference());
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => session.ReadFrame(cancelled.Token));
        for (int i = 0; i < (L + 1) * P; i++)
            session.PushPose(Pose(i));
        WaitFor(session, L + 1);
        for (int i = 0; i < P; i++)
            Assert.True(session.TryPushPose(Pose(i)));
        Assert.False(session.TryPushPose(Pose(0)));
        Assert.Throws<OperationCanceledException>(() => session.PushPose(Pose(0), cancelled.Token));
        Assert.Equal(0, session.Statistics.DroppedPoses);
    }

    [Fact]
    public void DisposeStopsAWaitingSessionAndFreesTheEngineForAnother()
    {
        using var engine = RainEngine.Load(bundle.Folder, new EngineOptions { Threads = 1, OutputCapacity = 1, VerifyBundleHashes = false });
        var first = engine.CreateSession(Reference());
        Assert.Throws<InvalidOperationException>(() => engine.CreateSession(Reference()));
        for (int i = 0; i < (L + 1) * P; i++)
            first.PushPose(Pose(i));
        first.Dispose();
        Assert.Throws<ObjectDisposedException>(() => first.PushPose(Pose(0)));
        using var second = engine.CreateSession(Reference());
        for (int i = 0; i < L * P; i++)
            second.PushPose(Pose(i));
        using var frame = second.ReadFrame();
        Assert.Equal(0, frame!.Index);
    }

    [Fact]
    public void AnUnknownBackendIsRefusedAndOptionsAreValidated()
    {
        // The TensorRT backend's own checks (BackendUnavailableException) are TensorRtSelectionTests'. 1 was the old "Cuda".
        foreach (var backend in new[] { (EngineBackend)1, (EngineBackend)3, (EngineBackend)(-1) })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => new EngineOptions { Backend = backend });
            Assert.Equal("Backend", e.ParamName);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => new EngineOptions { InputCapacity = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new EngineOptions { Threads = -1 });
    }
}

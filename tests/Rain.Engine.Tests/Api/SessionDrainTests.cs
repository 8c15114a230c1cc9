using Rain.Engine.Api;
using Rain.Engine.Media;
using Xunit.Abstractions;

namespace Rain.Engine.Tests.Api;

/// <summary>
/// End of input (issue 11 §4): N pushed poses give exactly N frames, in order, at the boundaries (N = 0, 1, not a
/// multiple of p, below p·L, above it), and the padding never leaks: the drained frames are those of the same stream
/// padded by hand with the last pose, and frames whose window held only real poses equal those of a longer stream.
/// </summary>
public sealed class SessionDrainTests(SessionDrainTests.SharedEngine shared, ITestOutputHelper output) : IClassFixture<SessionDrainTests.SharedEngine>
{
    private const int P = 4, L = 4;

    private static readonly RgbImage Reference = SessionTests.Pose(7, 96, 80);

    private List<(long Index, byte[] Pixels)> Stream(RainEngine engine, IReadOnlyList<RgbImage> poses, bool drain)
    {
        using var session = engine.CreateSession(Reference);
        var frames = new List<(long, byte[])>();
        var reader = Task.Run(() =>
        {
            while (session.ReadFrame() is { } frame)
            {
                using (frame)
                    frames.Add((frame.Index, frame.Image.Pixels.ToArray()));
            }
        });
        foreach (var pose in poses)
            session.PushPose(pose);
        session.CompleteInput(drain);
        reader.GetAwaiter().GetResult();
        output.WriteLine($"{poses.Count} poses, drain {drain}: {frames.Count} frames in {session.Statistics.Steps} steps");
        return frames;
    }

    private static List<RgbImage> Poses(int count, int offset = 0) => [.. Enumerable.Range(offset, count).Select(i => SessionTests.Pose(i))];

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(P)]
    [InlineData((P * L) - 1)]
    [InlineData((P * L) + 2)]
    public void NPosesGiveNFramesInOrder(int n)
    {
        var engine = shared.Value;
        var frames = Stream(engine, Poses(n), drain: true);
        Assert.Equal(Enumerable.Range(0, n).Select(i => (long)i), frames.Select(f => f.Index));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(6)]
    [InlineData((P * L) + 2)]
    public void TheDrainedFramesAreThoseOfTheStreamPaddedByHandWithTheLastPose(int n)
    {
        var engine = shared.Value;
        var poses = Poses(n);
        var drained = Stream(engine, poses, drain: true);

        // The documented policy, done by the caller: repeat the last pose to a whole chunk and L − 1 more chunks, then end
        // without draining; the frames of the real poses must be the same bytes, and the padding's frames are not the caller's.
        int chunks = (n + P - 1) / P;
        var padded = poses.Concat(Enumerable.Repeat(poses[^1], ((chunks + L - 1) * P) - n)).ToList();
        var byHand = Stream(engine, padded, drain: false);
        Assert.Equal(chunks * P, byHand.Count);
        Assert.Equal(n, drained.Count);
        for (int i = 0; i < n; i++)
            Assert.True(byHand[i].Pixels.AsSpan().SequenceEqual(drained[i].Pixels), $"frame {i} differs from the hand-padded stream's");
    }

    [Fact]
    public void FramesWhoseWindowHeldOnlyRealPosesDoNotDependOnThePadding()
    {
        // Chunk c leaves the window at step c + L − 1, having shared it with chunks up to c + L − 1: with K whole chunks
        // pushed, chunks 0 … K − L are untouched by any padding and equal those of a stream that goes on with other poses;
        // a later chunk saw the padding, so it differs from that stream (the padding is really there, and really not emitted).
        const int K = 6;
        var engine = shared.Value;
        var shortRun = Stream(engine, Poses(K * P), drain: true);
        var longRun = Stream(engine, [.. Poses(K * P), .. Poses(L * P, offset: 100)], drain: true);
        Assert.Equal(K * P, shortRun.Count);
        for (int i = 0; i < (K - L + 1) * P; i++)
            Assert.True(longRun[i].Pixels.AsSpan().SequenceEqual(shortRun[i].Pixels), $"frame {i} depends on poses pushed after its window");
        Assert.False(longRun[(K * P) - 1].Pixels.AsSpan().SequenceEqual(shortRun[(K * P) - 1].Pixels), "the last frame did not see the padding");
    }

    [Fact]
    public void WithoutDrainingTheSessionEndsAtOnceWithTheChunksThatLeftTheWindow()
    {
        var engine = shared.Value;
        var frames = Stream(engine, Poses((8 * P) + 3), drain: false);

        // 8 whole chunks stepped (the 3 extra poses are dropped); chunks 0 … 4 left the window.
        Assert.Equal(Enumerable.Range(0, (8 - (L - 1)) * P).Select(i => (long)i), frames.Select(f => f.Index));
    }

    /// <summary>One engine for every test of the class (its sessions run one after another; each starts clean).</summary>
    public sealed class SharedEngine : IDisposable
    {
        private readonly GoldenBundle _bundle = new();

        public SharedEngine() => Value = RainEngine.Load(_bundle.Folder, new EngineOptions { Threads = 1, Seed = 5, VerifyBundleHashes = false });

        public RainEngine Value { get; }

        public void Dispose()
        {
            Value.Dispose();
            _bundle.Dispose();
        }
    }
}

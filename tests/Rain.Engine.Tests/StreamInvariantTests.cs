using Rain.Engine.Streaming;

namespace Rain.Engine.Tests;

/// <summary>
/// Stream bookkeeping for p, L ∈ {1,2,3,4,6}: every value the state produces is checked against a closed-form
/// reference computed here in float64 from the documented policy (which chunk sits where, which noise it gets).
/// </summary>
public sealed class StreamInvariantTests
{
    private const int PoseChannels = 3;

    public static TheoryData<int, int> Shapes()
    {
        var data = new TheoryData<int, int>();
        int[] values = [1, 2, 3, 4, 6];
        foreach (int p in values)
            foreach (int l in values)
                data.Add(p, l);
        return data;
    }

    // A deterministic stand-in for the UNet's v̂: finite, frame- and value-dependent (a test input, not a model).
    private static void FakeModel(ReadOnlySpan<float> x, Span<float> v)
    {
        for (int i = 0; i < x.Length; i++)
            v[i] = (0.5f * x[i]) + (0.001f * (i % 97));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void EveryChunkVisitsEveryLevelOnceInOrderAndLeavesOnTime(int p, int levels)
    {
        var config = new StreamConfig { FramesPerLevel = p, Levels = levels, Height = 64, Width = 64 };
        var schedule = new LcmSchedule(config);
        var state = new StreamState(schedule, PoseChannels, seed: 7, poison: float.NaN);
        int steps = (3 * levels) + 5;
        var visits = new Dictionary<long, List<(long Step, int Level)>>();
        var emitted = new List<long>();
        var v = new float[config.Frames * config.LatentFrameElements];
        for (int k = 0; k < steps; k++)
        {
            for (int level = 0; level < levels; level++)
            {
                long chunk = state.ChunkAt(k, level);
                if (!visits.TryGetValue(chunk, out var list))
                    visits[chunk] = list = [];
                list.Add((k, level));
            }

            state.NewPoseFeatureSlots().Fill(k + 1);
            FakeModel(state.Latents, v);
            var outcome = state.Advance(v);
            Assert.Equal(k, outcome.Step);
            Assert.Equal(k - (levels - 1), outcome.DecodedChunk);
            if (outcome.Emit)
                emitted.Add(outcome.DecodedChunk);
        }

        // Real chunks that entered early enough to leave: every level once, noisiest to cleanest, one step apart.
        for (long chunk = 0; chunk + levels - 1 < steps; chunk++)
        {
            var list = visits[chunk];
            Assert.Equal(Enumerable.Range(0, levels).Reverse(), list.Select(x => x.Level));
            Assert.Equal(Enumerable.Range((int)chunk, levels).Select(s => (long)s), list.Select(x => x.Step));
            Assert.Equal(chunk + levels - 1, list[^1].Step); // leaves L−1 steps after it entered
        }

        // Emission starts with chunk 0 at step L−1 and continues in order without gaps; filler is never emitted.
        Assert.Equal(Enumerable.Range(0, steps - levels + 1).Select(c => (long)c), emitted);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void WindowContentsFollowTheDocumentedPolicy(int p, int levels)
    {
        var config = new StreamConfig { FramesPerLevel = p, Levels = levels, Height = 64, Width = 64 };
        var schedule = new LcmSchedule(config);
        const ulong seed = 1234;
        var state = new StreamState(schedule, PoseChannels, seed, poison: float.NaN);
        var noise = new CounterNoise(seed);
        int fe = config.LatentFrameElements, pe = state.PoseFrameElements, chunkElements = p * fe;

        // Starting window: level ℓ holds chunk −(L−1−ℓ)'s noise stream (chunk, ℓ); filler poses are zero.
        for (int level = 0; level < levels; level++)
        {
            long chunk = level - (levels - 1);
            for (int e = 0; e < chunkElements; e += 13)
                Assert.Equal(noise.At(chunk, level, e), state.Latents[(level * chunkElements) + e]);
        }

        Assert.All(state.PoseFeatures[..((levels - 1) * p * pe)].ToArray(), x => Assert.Equal(0f, x));

        var v = new float[config.Frames * fe];
        for (int k = 0; k < (2 * levels) + 3; k++)
        {
            float[] x = state.Latents.ToArray();
            state.NewPoseFeatureSlots().Fill(k + 1); // pose features of chunk k carry the value k+1
            float[] poses = state.PoseFeatures.ToArray();
            for (int level = 0; level < levels; level++)
            {
                long chunk = state.ChunkAt(k, level);
                float expectedPose = chunk >= 0 ? chunk + 1 : 0f;
                Assert.All(poses.AsSpan(level * p * pe, p * pe).ToArray(), value => Assert.Equal(expectedPose, value));
            }

            FakeModel(x, v);
            state.Advance(v);
            float[] next = state.Latents.ToArray();
            for (int f = 0; f < config.Frames; f++)
            {
                int level = f / p;
                long chunk = state.ChunkAt(k, level);
                for (int i = 0; i < fe; i += 7)
                {
                    int src = (f * fe) + i;
                    double den = (schedule.COut[f] * ((schedule.SqrtAlphaProd[f] * (double)x[src]) - (schedule.SqrtOneMinusAlphaProd[f] * (double)v[src])))
                        + (schedule.CSkip[f] * (double)x[src]);
                    if (level == 0)
                    {
                        Assert.Equal(den, state.DecodeInput[src], 4e-6);
                    }
                    else
                    {
                        double eps = noise.At(chunk, level - 1, ((f % p) * fe) + i);
                        double expected = (Math.Sqrt(schedule.AlphaProdPrev[f]) * den) + (Math.Sqrt(1 - schedule.AlphaProdPrev[f]) * eps);
                        Assert.Equal(expected, next[((f - p) * fe) + i], 4e-6);
                    }
                }
            }

            for (int e = 0; e < chunkElements; e += 11)
                Assert.Equal(noise.At(k + 1, levels - 1, e), next[((levels - 1) * chunkElements) + e]);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void NothingUninitialisedIsReadAndNoSlotIsAliased(int p, int levels)
    {
        // Every buffer starts as NaN: one read of a slot the policy did not fill would poison the outputs.
        var config = new StreamConfig { FramesPerLevel = p, Levels = levels, Height = 64, Width = 64 };
        var state = new StreamState(new LcmSchedule(config), PoseChannels, seed: 99, poison: float.NaN);
        var v = new float[config.Frames * config.LatentFrameElements];
        for (int k = 0; k < (3 * levels) + 2; k++)
        {
            Assert.All(state.Latents.ToArray(), x => Assert.True(float.IsFinite(x)));
            state.NewPoseFeatureSlots().Fill(0.25f);
            Assert.All(state.PoseFeatures.ToArray(), x => Assert.True(float.IsFinite(x)));
            FakeModel(state.Latents, v);
            var before = state.Latents.ToArray();
            state.Advance(v);
            Assert.All(state.DecodeInput.ToArray(), x => Assert.True(float.IsFinite(x)));
            // The step wrote the other buffer: what the UNet read is still intact in the buffer it came from.
            Assert.False(state.Latents.Overlaps(before));
        }
    }

    [Fact]
    public void RollReadsAndWritesDistinctBuffers()
    {
        var config = new StreamConfig { FramesPerLevel = 2, Levels = 2, Height = 64, Width = 64 };
        var schedule = new LcmSchedule(config);
        int fe = config.LatentFrameElements, window = config.Frames * fe;
        var buffer = new float[window * 2];
        float[] v = new float[window], noise = new float[window], newNoise = new float[2 * fe], decode = new float[2 * fe];
        var e = Assert.Throws<ArgumentException>(() => LcmStep.StepRoll(
            schedule, v, buffer.AsSpan(0, window), noise, newNoise, buffer.AsSpan(fe, window), decode, fe));
        Assert.Contains("must not overlap", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AdvanceWithoutNewPoseFeaturesIsRefused()
    {
        var config = new StreamConfig { FramesPerLevel = 2, Levels = 3, Height = 64, Width = 64 };
        var state = new StreamState(new LcmSchedule(config), PoseChannels, seed: 1);
        var v = new float[config.Frames * config.LatentFrameElements];
        var e = Assert.Throws<InvalidOperationException>(() => state.Advance(v));
        Assert.Contains("pose features of chunk 0 were not supplied", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ResetRestartsTheSameStream()
    {
        var config = new StreamConfig { FramesPerLevel = 2, Levels = 3, Height = 64, Width = 64 };
        var state = new StreamState(new LcmSchedule(config), PoseChannels, seed: 5);
        float[] start = state.Latents.ToArray();
        var v = new float[config.Frames * config.LatentFrameElements];
        for (int k = 0; k < 4; k++)
        {
            state.NewPoseFeatureSlots().Fill(1);
            state.Advance(v);
        }

        state.Reset();
        Assert.Equal(0, state.StepIndex);
        Assert.Equal(start, state.Latents.ToArray());
    }
}

using Rain.Engine.Api;
using Rain.Engine.Backends.Cpu;
using Rain.Engine.Bundle;
using Rain.Engine.Media;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Engine.Tests.Api;

/// <summary>
/// The session's own step (<see cref="CpuStreamer"/> and <see cref="Streaming.StreamState"/>, the code an
/// <see cref="AnimationSession"/> runs — not <see cref="CpuReplay"/>) against golden 06, the original implementation's
/// six stream steps: from its initial window and with its recorded noise, every step's latent window, pose-feature
/// window and frames, and the final decoder memories, match. And a second session of an engine starts from a clean
/// state: its frames equal a fresh engine's, whatever the first session streamed.
/// </summary>
public sealed class SessionGoldenTests(GoldenBundle bundle, ITestOutputHelper output) : IClassFixture<GoldenBundle>
{
    // Pre-packed weights (the default) and unpacked ones (EngineOptions.PrepackWeights = false) both reproduce it.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TheSessionStepReproducesGoldenStream06(bool prepack)
    {
        var b = ModelBundle.Load(bundle.Folder, verifyHashes: false);
        var m = b.Manifest;
        int p = m.FramesPerLevel, frames = p * m.Levels, c0 = m.PoseChannels, h = m.Height / 8, w = m.Width / 8, plane = h * w;
        var golden = GoldenData.Open("06_stream.safetensors");
        using var pipe = new CpuPipeline(b, threads: 1, parallelAttention: false, prepackWeights: prepack);

        // 06 records the reference's constants directly (the outputs of vectors 07 and 03), so they go where the
        // reference networks would write them and the fold runs on them; timestep and guidance embedding are the bundle's own.
        golden.Floats("encoder_hidden_states").CopyTo(pipe.ReferenceEmbedding.F);
        foreach (string tap in m.Taps)
            golden.Floats(tap).CopyTo(pipe.Tap(tap).F);
        pipe.FoldReference();

        var streamer = new CpuStreamer(pipe, seed: 0, new StageTimings());
        var state = streamer.State;

        // 06 starts from N(0,1) latents and zero pose features, and decodes from its first step: the window as recorded,
        // at step L − 1, where every step emits (no filler chunk is left).
        state.Restart(Layouts.BcfhwToFchw(golden.Floats("init.sample"), 4, frames, plane), new float[frames * c0 * plane], m.Levels - 1);
        long first = state.StepIndex;
        state.NoiseOverride = (step, renoise, newNoise) =>
        {
            string k = $"step{step - first:D2}";
            Layouts.BcfhwToFchw(golden.Floats(k + ".add_noise"), 4, frames, plane).CopyTo(renoise);
            Layouts.BcfhwToFchw(golden.Floats(k + ".new_noise"), 4, p, plane).CopyTo(newNoise);
        };

        var buffers = Enumerable.Range(0, p).Select(_ => new byte[m.Width * m.Height * 3]).ToArray();
        int steps = 0;
        for (; golden.Contains($"step{steps:D2}.pose_u8"); steps++)
        {
            string k = $"step{steps:D2}";
            var outcome = streamer.Step(PoseImages(golden.Bytes(k + ".pose_u8"), p, m.Width, m.Height), buffers);
            Assert.True(outcome.Emit);
            Tolerance.AssertClose(k + ".latents", Layouts.BcfhwToFchw(golden.Floats(k + ".latents"), 4, frames, plane), state.Latents, 1e-4, 1e-3, output);
            Tolerance.AssertClose(k + ".pose_cond_fea_out", Layouts.BcfhwToFchw(golden.Floats(k + ".pose_cond_fea_out"), c0, frames - p, plane),
                state.PoseFeatures[..((frames - p) * c0 * plane)], 1e-4, 1e-3, output);
            AssertFramesMatch(k + ".image", golden.Floats(k + ".image"), buffers, m.Width, m.Height);
        }

        Assert.Equal(6, steps);
        for (int i = 0; i < pipe.MemoryCount; i++)
            Tolerance.AssertClose($"step05.omem{i}", golden.Floats($"step05.omem{i}"), pipe.CurrentMemories[i].F, 1e-4, 1e-3, output);
    }

    [Fact]
    public void ASecondSessionStartsFromACleanState()
    {
        var poses = Enumerable.Range(0, (3 * 4) + 1).Select(i => SessionTests.Pose(i)).ToArray();
        var reference = SessionTests.Pose(7, 96, 80);
        List<byte[]> Run(RainEngine engine, RgbImage image, IEnumerable<RgbImage> input)
        {
            using var session = engine.CreateSession(image);
            foreach (var pose in input)
                session.PushPose(pose);
            session.CompleteInput();
            var frames = new List<byte[]>();
            while (session.ReadFrame() is { } frame)
            {
                using (frame)
                    frames.Add(frame.Image.Pixels.ToArray());
            }

            return frames;
        }

        var options = new EngineOptions { Threads = 1, Seed = 11, VerifyBundleHashes = false };
        List<byte[]> fresh;
        using (var engine = RainEngine.Load(bundle.Folder, options))
            fresh = Run(engine, reference, poses);

        using (var engine = RainEngine.Load(bundle.Folder, options))
        {
            // The first session leaves every buffer dirty: another reference, other poses, a partial chunk, stopped early.
            Run(engine, SessionTests.Pose(3, 64, 64), Enumerable.Range(50, (2 * 4) + 3).Select(i => SessionTests.Pose(i)));
            var second = Run(engine, reference, poses);
            Assert.Equal(fresh.Count, second.Count);
            for (int i = 0; i < fresh.Count; i++)
                Assert.True(fresh[i].AsSpan().SequenceEqual(second[i]), $"frame {i} of the second session differs from a fresh engine's");
        }

        Assert.Equal(poses.Length, fresh.Count);
        Assert.True(fresh.Select(f => f.Distinct().Count()).Min() > 16, "the frames are flat");
    }

    // [1, 3, p, H, W] uint8 → p interleaved RGB images.
    private static RgbImage[] PoseImages(ReadOnlySpan<byte> bcfhw, int p, int width, int height)
    {
        int pixels = width * height;
        var images = new RgbImage[p];
        for (int f = 0; f < p; f++)
        {
            var rgb = new byte[pixels * 3];
            for (int c = 0; c < 3; c++)
            {
                var plane = bcfhw.Slice(((c * p) + f) * pixels, pixels);
                for (int i = 0; i < pixels; i++)
                    rgb[(i * 3) + c] = plane[i];
            }

            images[f] = new RgbImage(width, height, rgb);
        }

        return images;
    }

    // Golden images are [1, p, 3, H, W] in [0, 1]; a frame byte is that value × 255, rounded: allow 1 for rounding.
    private void AssertFramesMatch(string name, float[] golden, byte[][] frames, int width, int height)
    {
        int pixels = width * height, worst = 0;
        for (int f = 0; f < frames.Length; f++)
        {
            for (int c = 0; c < 3; c++)
            {
                for (int i = 0; i < pixels; i++)
                {
                    double expected = Math.Clamp(golden[(((f * 3) + c) * pixels) + i], 0, 1) * 255;
                    worst = Math.Max(worst, (int)Math.Ceiling(Math.Abs(frames[f][(i * 3) + c] - expected) - 0.5));
                }
            }
        }

        output.WriteLine($"{name}: largest byte error beyond rounding {worst}");
        Assert.True(worst <= 1, $"{name}: a frame byte is {worst} away from golden × 255");
    }
}

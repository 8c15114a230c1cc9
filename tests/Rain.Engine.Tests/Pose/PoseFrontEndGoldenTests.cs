using Rain.Engine.Pose;
using Rain.Testing;
using Xunit.Abstractions;
using static Rain.Engine.Tests.Pose.DwposeStageTests;

namespace Rain.Engine.Tests.Pose;

/// <summary>
/// The whole front end through its public API on the golden sequence (one instance, frames 0…7 in order, no centre crop:
/// the golden frames are already cropped): every stage it exposes against the stored vectors, the pose images exactly.
/// </summary>
public sealed class PoseFrontEndGoldenTests(ITestOutputHelper output)
{
    private static readonly DwposeGolden G = DwposeGolden.Load();

    [Fact]
    public void PublicRunMatchesEveryStoredStage()
    {
        using var frontEnd = PoseFrontEnd.Load(DwposeGolden.Detector, DwposeGolden.Estimator, new PoseFrontEndOptions { CenterCrop = null });
        Assert.Equal((288, 384, 640, 640), (frontEnd.EstimatorWidth, frontEnd.EstimatorHeight, frontEnd.DetectorWidth, frontEnd.DetectorHeight));
        var pose = new byte[512 * 512 * 3];
        double maxRaw = 0, maxSimcc = 0;
        for (int f = 0; f < DwposeGolden.Frames; f++)
        {
            var frame = DwposeGolden.Frame(f);
            var result = frontEnd.Process(frame.Pixels, frame.Width, frame.Height, frame.Width * 3, pose);
            string n = $"f{f:D2}";
            Assert.Equal(f, result.Index);
            if (frame.Width != 512 || frame.Height != 512)
                AssertBytes($"{n} resized", DwposeGolden.Image(Key(f, "resized")).Pixels, frontEnd.Resized);

            // Detector: every row at its stored value (the background row everywhere but the listed rows).
            var raw = RawOutput(f);
            maxRaw = Math.Max(maxRaw, Tolerance.AssertClose($"{n} detector output", raw, frontEnd.DetectorOutput, 1e-6, 0));
            Assert.Equal(G.L(f, "chosen_index")[0] < 0, result.Person is null);
            var box = G.D(f, "pose_bbox");
            if (result.Person is { } p)
                Tolerance.AssertClose($"{n} pose_bbox", box, [p.X1, p.Y1, p.X2, p.Y2], 1e-4);
            else
                Assert.Equal([0, 0, 512, 512], box);

            Tolerance.AssertClose($"{n} warp_mat", G.D(f, "warp_mat"), frontEnd.WarpMatrix, 1e-9);
            AssertBytes($"{n} pose_crop_u8", DwposeGolden.Image(Key(f, "pose_crop_u8")).Pixels, frontEnd.Crop);
            if (G.Has(f, "simcc_x"))
            {
                maxSimcc = Math.Max(maxSimcc, Tolerance.AssertClose($"{n} simcc_x", G.F(f, "simcc_x"), frontEnd.SimccX, 1e-6, 0));
                maxSimcc = Math.Max(maxSimcc, Tolerance.AssertClose($"{n} simcc_y", G.F(f, "simcc_y"), frontEnd.SimccY, 1e-6, 0));
            }

            Assert.Equal(G.L(f, "simcc_argmax"), frontEnd.SimccArgmax.ToArray());
            Tolerance.AssertClose($"{n} simcc_max", G.F(f, "simcc_max"), frontEnd.SimccMax, 1e-6, 0);
            Assert.Equal(G.F(f, "decoded_simcc_kpts"), frontEnd.DecodedLocations.ToArray());
            Tolerance.AssertClose($"{n} scores133", G.F(f, "scores133"), frontEnd.Scores133, 1e-6, 0);
            Tolerance.AssertClose($"{n} kpts133", G.D(f, "kpts133"), frontEnd.Keypoints133, 1e-9);
            Tolerance.AssertClose($"{n} kpts134", G.D(f, "kpts134"), result.Keypoints, 1e-9);
            Tolerance.AssertClose($"{n} scores134", G.D(f, "scores134"), result.Scores, 1e-6);
            Tolerance.AssertClose($"{n} face_norm", G.D(f, "face_norm"), frontEnd.FaceNorm, 1e-12);
            Tolerance.AssertClose($"{n} face_filled", G.D(f, "face_filled"), frontEnd.FaceFilled, 1e-12);
            Tolerance.AssertClose($"{n} face_damped", G.D(f, "face_damped"), result.FaceDamped, 1e-12);
            Tolerance.AssertClose($"{n} face_translated", G.D(f, "face_translated"), result.Face, 1e-12);
            Assert.Equal(G.L(f, "draw_radius")[0], result.Radius);
            Assert.Equal(G.U8(f, "draw_flags").Count(v => v == 1), result.CirclesDrawn);
            AssertBytes($"{n} rendered", DwposeGolden.Image(Key(f, "rendered")).Pixels, pose);
            Assert.True(result.Timings.DetectorMilliseconds > 0 && result.Timings.EstimatorMilliseconds > 0 && result.Timings.OtherMilliseconds > 0);
        }

        output.WriteLine($"largest raw-output difference: detector {maxRaw:E2}, pose model {maxSimcc:E2} (bound 1e-6)");
    }

    [Fact]
    public void VariantRunWithDampingThreeAndSlidersMatches()
    {
        var options = new PoseFrontEndOptions { CenterCrop = null, DampingStep = 3, Retarget = RetargetOptions.FromSliders(new RetargetSliders()) };
        using var frontEnd = PoseFrontEnd.Load(DwposeGolden.Detector, DwposeGolden.Estimator, options);
        var pose = new byte[512 * 512 * 3];
        for (int f = 0; f < DwposeGolden.Frames; f++)
        {
            var result = frontEnd.Process(DwposeGolden.Frame(f), pose);
            string n = $"variant f{f:D2}";
            Tolerance.AssertClose($"{n} face_filled", G.D(f, "face_filled", variant: true), frontEnd.FaceFilled, 1e-12);
            Tolerance.AssertClose($"{n} face_damped", G.D(f, "face_damped", variant: true), result.FaceDamped, 1e-12);
            Tolerance.AssertClose($"{n} face_translated", G.D(f, "face_translated", variant: true), result.Face, 1e-12);
            Assert.Equal(G.L(f, "draw_radius", variant: true)[0], result.Radius);
            Assert.Equal(G.U8(f, "draw_flags", variant: true).Count(v => v == 1), result.CirclesDrawn);
        }

        AssertBytes("variant f07 rendered", DwposeGolden.Image("variant/f07/rendered").Pixels, pose);
    }

    [Fact]
    public void RetargetSwappedMidStreamTakesEffectOnTheNextFrame()
    {
        using var frontEnd = PoseFrontEnd.Load(DwposeGolden.Detector, DwposeGolden.Estimator, new PoseFrontEndOptions { CenterCrop = null });
        var sliders = RetargetOptions.FromSliders(new RetargetSliders());
        var pose = new byte[512 * 512 * 3];
        var reference = new FaceDrawing();
        var canvas = new byte[512 * 512 * 3];
        for (int f = 0; f < DwposeGolden.Frames; f++)
        {
            if (f == 4)
                frontEnd.Retarget = sliders;
            var result = frontEnd.Process(DwposeGolden.Frame(f), pose);
            // Damping 1: the damped face is the main run's whatever the translations; they apply on top of it.
            Tolerance.AssertClose($"f{f:D2} face_damped", G.D(f, "face_damped"), result.FaceDamped, 1e-12);
            reference.Draw(G.D(f, "face_damped"), f < 4 ? RetargetOptions.Live : sliders, canvas, 512, 512, 512 * 3);
            Tolerance.AssertClose($"f{f:D2} face", reference.Translated, result.Face, 0);
            Assert.Equal(canvas, pose);
            if (f < 4)
                AssertBytes($"f{f:D2} rendered", DwposeGolden.Image(Key(f, "rendered")).Pixels, pose);
        }
    }

    [Fact]
    public void RetargetCanBeSwappedFromAnotherThreadWhileFramesRun()
    {
        using var frontEnd = PoseFrontEnd.Load(DwposeGolden.Detector, DwposeGolden.Estimator, new PoseFrontEndOptions { CenterCrop = null });
        var lists = new[] { RetargetOptions.Live, RetargetOptions.FromSliders(new RetargetSliders()), RetargetOptions.None };
        using var stop = new CancellationTokenSource();
        int swaps = 0;
        var swapper = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
                frontEnd.Retarget = lists[Interlocked.Increment(ref swaps) % lists.Length];
        });
        swapper.Start();
        var pose = new byte[512 * 512 * 3];
        var reference = new FaceDrawing();
        var canvas = new byte[512 * 512 * 3];
        try
        {
            for (int round = 0; round < 3; round++)
            {
                frontEnd.Reset();
                for (int f = 0; f < DwposeGolden.Frames; f++)
                {
                    var result = frontEnd.Process(DwposeGolden.Frame(f), pose);
                    // Each frame used one whole list: its picture is exactly one of the three drawings.
                    bool any = false;
                    foreach (var list in lists)
                    {
                        reference.Draw(G.D(f, "face_damped"), list, canvas, 512, 512, 512 * 3);
                        any |= canvas.AsSpan().SequenceEqual(pose) && reference.Translated.SequenceEqual(result.Face);
                    }

                    Assert.True(any, $"round {round} frame {f}: the picture matches none of the retarget lists");
                }
            }
        }
        finally
        {
            stop.Cancel();
            swapper.Join();
        }

        Assert.True(swaps > 10);
    }

    [Fact]
    public void ResetStartsANewSequence()
    {
        using var frontEnd = PoseFrontEnd.Load(DwposeGolden.Detector, DwposeGolden.Estimator, new PoseFrontEndOptions { CenterCrop = null });
        var pose = new byte[512 * 512 * 3];
        frontEnd.Process(DwposeGolden.Frame(0), pose);
        frontEnd.Process(DwposeGolden.Frame(1), pose);
        frontEnd.Reset();
        // Frame 2 alone (empty cache): its invisible points stay −1 instead of being filled from frame 1.
        var result = frontEnd.Process(DwposeGolden.Frame(2), pose);
        var norm = G.D(2, "face_norm");
        Tolerance.AssertClose("f02 after reset", norm, result.FaceDamped, 0);
        Assert.Contains(-1.0, norm);
        Assert.NotEqual(G.D(2, "face_damped"), result.FaceDamped.ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SteadyStateFramesAllocateNothing(bool cameraCrop)
    {
        // Frames 1, 5 and 7 (all 320x240: one resize plan) have several candidates each, so sorting and NMS do real work.
        var options = cameraCrop ? new PoseFrontEndOptions() : new PoseFrontEndOptions { CenterCrop = null };
        using var frontEnd = PoseFrontEnd.Load(DwposeGolden.Detector, DwposeGolden.Estimator, options);
        var frames = new[] { 1, 5, 7 }.Select(DwposeGolden.Frame).ToArray();
        var pose = new byte[512 * 512 * 3];
        for (int i = 0; i < 6; i++)
            frontEnd.Process(frames[i % 3], pose);
        int most = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 6; i++)
        {
            var frame = frames[i % 3];
            frontEnd.Process(frame.Pixels, frame.Width, frame.Height, frame.Width * 3, pose);
            most = Math.Max(most, frontEnd.Decoder.Detections.Length);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{allocated} bytes over 6 frames; up to {most} detections");
        Assert.Equal(0, allocated);
        Assert.True(most >= 3);
    }
}

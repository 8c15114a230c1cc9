using System.Diagnostics;
using Rain.Engine.Api;
using Rain.Engine.Bundle;
using Rain.Engine.Media;
using Rain.Engine.Pose;
using Rain.Models.Bundle;
using Rain.Models.Config;
using Rain.Testing;

namespace Rain.Engine.Tests.Api;

/// <summary>
/// Camera frames pushed into a session: the session's pose thread runs the bundle's pose front end and queues its pose
/// images. The reference is the front end alone (itself checked against RAIN's golden vectors) feeding a plain pose
/// session of a second engine with the same seed.
/// </summary>
public sealed class CameraSessionTests(CameraSessionTests.PoseBundle bundle) : IClassFixture<CameraSessionTests.PoseBundle>
{
    private static readonly RgbImage Reference = DwposeGolden.Frame(4);

    [Fact]
    public void CameraFramesGiveTheFramesOfTheirPoseImagesOnePerFrameInOrder()
    {
        var frames = Enumerable.Range(0, 11).Select(i => DwposeGolden.Frame(i % DwposeGolden.Frames)).ToArray(); // sizes vary; 11 is no multiple of p

        byte[][] expected;
        using (var engine = RainEngine.Load(bundle.Folder, Options))
        using (var poses = PoseFrontEnd.Load(engine.Bundle))
        using (var session = engine.CreateSession(Reference))
        {
            foreach (var f in frames)
                session.PushPose(poses.Process(f));
            session.CompleteInput();
            expected = ReadAll(session).Select(f => f.Pixels).ToArray();
        }

        using (var engine = RainEngine.Load(bundle.Folder, Options))
        using (var session = engine.CreateSession(Reference))
        {
            foreach (var f in frames)
                session.PushCameraFrame(f);
            session.CompleteInput();
            var actual = ReadAll(session);
            Assert.Equal(frames.Length, actual.Count);
            for (int i = 0; i < frames.Length; i++)
                Assert.True(expected[i].AsSpan().SequenceEqual(actual[i].Pixels), $"frame {i} differs from its pose image's frame");
            var camera = session.Statistics.Camera!;
            Assert.Equal(frames.Length, camera.FramesIn);
            Assert.Equal(0, camera.Dropped);
            Assert.Equal(frames.Length, camera.Total.Count);
            Assert.True(camera.Detector.Mean > 0 && camera.Estimator.Mean > 0 && camera.Other.Mean > 0);
            Assert.True(camera.Total.Mean >= camera.Detector.Mean + camera.Estimator.Mean);
        }
    }

    [Fact]
    public void AFramesLatencyRunsFromItsCaptureTime()
    {
        using var engine = RainEngine.Load(bundle.Folder, Options);
        using var session = engine.CreateSession(Reference);
        var frame = DwposeGolden.Frame(1);
        long captured = Stopwatch.GetTimestamp() - Stopwatch.Frequency; // a second before it reaches the session
        for (int i = 0; i < engine.FramesPerStep; i++)
            session.PushCameraFrame(frame.Pixels, frame.Width, frame.Height, frame.Width * 3, captured);
        session.CompleteInput();
        var latencies = new List<double>();
        while (session.ReadFrame() is { } f)
        {
            using (f)
                latencies.Add(f.LatencyMilliseconds);
        }

        Assert.Equal(engine.FramesPerStep, latencies.Count);
        Assert.All(latencies, l => Assert.InRange(l, 1000, 600_000));
    }

    [Fact]
    public void StridedFramesAreReadRowByRow()
    {
        var frame = DwposeGolden.Frame(6); // 397 wide: odd
        int stride = (frame.Width * 3) + 13;
        var padded = new byte[stride * frame.Height];
        for (int y = 0; y < frame.Height; y++)
            frame.Pixels.AsSpan(y * frame.Width * 3, frame.Width * 3).CopyTo(padded.AsSpan(y * stride));

        byte[] expected, actual;
        using (var engine = RainEngine.Load(bundle.Folder, Options))
        using (var session = engine.CreateSession(Reference))
        {
            session.PushCameraFrame(frame);
            session.CompleteInput();
            expected = ReadAll(session).Single().Pixels;
        }

        using (var engine = RainEngine.Load(bundle.Folder, Options))
        using (var session = engine.CreateSession(Reference))
        {
            session.PushCameraFrame(padded, frame.Width, frame.Height, stride);
            Assert.Throws<ArgumentException>(() => session.PushCameraFrame(padded, frame.Width, frame.Height, (frame.Width * 3) - 1));
            session.CompleteInput();
            actual = ReadAll(session).Single().Pixels;
        }

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void LatestFrameWinsDropsCameraFramesAndCountsThem()
    {
        using var engine = RainEngine.Load(bundle.Folder, Options with { LatestFrameWins = true, InputCapacity = 4, OutputCapacity = 4 });
        using var session = engine.CreateSession(Reference);
        var frame = DwposeGolden.Frame(0);
        const int Pushed = 60;
        for (int i = 0; i < Pushed; i++)
            Assert.True(session.TryPushCameraFrame(frame.Pixels, frame.Width, frame.Height, frame.Width * 3)); // never refused
        session.CompleteInput();
        int read = ReadAll(session).Count;
        var stats = session.Statistics;
        Assert.Equal(Pushed, stats.Camera!.FramesIn);
        Assert.True(stats.Camera.Dropped + stats.DroppedPoses > 0, "60 frames pushed at once into queues of 2 and 4 lose some");
        Assert.Equal(Pushed - stats.Camera.Dropped - stats.DroppedPoses, read); // every frame that became a pose and was kept comes out
    }

    [Fact]
    public void FramesCarryTheirPoseImageAndTheirCamerasTimestampWhenAsked()
    {
        var frames = Enumerable.Range(0, 6).Select(i => DwposeGolden.Frame(i)).ToArray();
        using var poses = PoseFrontEnd.Load(ModelBundleOf(bundle.Folder));
        var expectedPoses = frames.Select(f => poses.Process(f).Pixels).ToArray();

        using var engine = RainEngine.Load(bundle.Folder, Options with { AttachPoseImages = true });
        using var session = engine.CreateSession(Reference);
        long[] stamps = [.. frames.Select((_, i) => 1_000_000L + i)];
        for (int i = 0; i < frames.Length; i++)
            session.PushCameraFrame(frames[i], stamps[i]);
        session.CompleteInput();
        int n = 0;
        while (session.ReadFrame() is { } f)
        {
            using (f)
            {
                Assert.Equal(stamps[n], f.EnteredTimestamp);
                Assert.True(expectedPoses[n].AsSpan().SequenceEqual(f.Pose!.Pixels), $"frame {n} carries another pose image");
            }

            n++;
        }

        Assert.Equal(frames.Length, n);

        using var plain = RainEngine.Load(bundle.Folder, Options);
        using var plainSession = plain.CreateSession(Reference);
        plainSession.PushPose(new RgbImage(plain.Width, plain.Height));
        plainSession.CompleteInput();
        using var only = plainSession.ReadFrame()!;
        Assert.Null(only.Pose);
    }

    private static ModelBundle ModelBundleOf(string folder) => ModelBundle.Load(folder, verifyHashes: false);

    [Fact]
    public void ABundleWithoutPoseModelsSaysHowToAddThem()
    {
        using var engine = RainEngine.Load(bundle.WithoutPoseModels, Options);
        Assert.False(engine.HasPoseModels);
        using var session = engine.CreateSession(Reference);
        var frame = DwposeGolden.Frame(0);
        var e = Assert.Throws<BundleException>(() => session.PushCameraFrame(frame));
        Assert.Contains("--pose-detector", e.Message, StringComparison.Ordinal);
        session.PushPose(new RgbImage(engine.Width, engine.Height)); // pose images still work
    }

    [Fact]
    public void PoseOptionsOfAnotherSizeAreRefused()
    {
        using var engine = RainEngine.Load(bundle.Folder, Options with { PoseOptions = new PoseFrontEndOptions { Width = 512, Height = 512 } });
        Assert.Contains("512x512", Assert.Throws<ArgumentException>(() => engine.PoseFrontEnd).Message, StringComparison.Ordinal);
    }

    private static EngineOptions Options => new() { Seed = 9, Threads = 1, VerifyBundleHashes = false };

    private static List<RgbImage> ReadAll(AnimationSession session)
    {
        var frames = new List<RgbImage>();
        while (session.ReadFrame() is { } f)
        {
            using (f)
                frames.Add(new RgbImage(f.Image.Width, f.Image.Height, (byte[])f.Image.Pixels.Clone()));
        }

        return frames;
    }

    /// <summary>The golden RAIN checkout exported with the DWPose stand-ins as its pose models, and once without.</summary>
    public sealed class PoseBundle : IDisposable
    {
        private readonly string _root = Directory.CreateTempSubdirectory("rain-camera-tests-").FullName;

        public PoseBundle()
        {
            var config = RainConfig.Load(GoldenData.PathOf("configs/rain_morpher.yaml"));
            Folder = Path.Combine(_root, "with-pose");
            BundleExport.Write(config, Folder, poseModels: (DwposeGolden.Detector, DwposeGolden.Estimator));
            WithoutPoseModels = Path.Combine(_root, "without");
            BundleExport.Write(config, WithoutPoseModels);
        }

        public string Folder { get; }

        public string WithoutPoseModels { get; }

        public void Dispose()
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

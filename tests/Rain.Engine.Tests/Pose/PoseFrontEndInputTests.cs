using Rain.Engine.Media;
using Rain.Engine.Pose;
using Rain.Testing;

namespace Rain.Engine.Tests.Pose;

/// <summary>Bad models and bad frames get specific errors; the centre crop, strides and the resize plan follow RAIN.</summary>
public sealed class PoseFrontEndInputTests
{
    [Fact]
    public void MissingOrSwappedModelsAreNamed()
    {
        var missing = Assert.Throws<PoseModelException>(() => PoseFrontEnd.Load("/nonexistent/yolox_s.onnx", DwposeGolden.Estimator));
        Assert.Equal("/nonexistent/yolox_s.onnx: the detector (YOLOX) model does not exist.", missing.Message);
        var swapped = Assert.Throws<PoseModelException>(() => PoseFrontEnd.Load(DwposeGolden.Estimator, DwposeGolden.Detector));
        Assert.Equal($"{DwposeGolden.Estimator}: the detector's input is input float32 [1, 3, 384, 288]; RAIN's YOLOX takes float32 [1, 3, 640, 640].", swapped.Message);
        var twice = Assert.Throws<PoseModelException>(() => PoseFrontEnd.Load(DwposeGolden.Detector, DwposeGolden.Detector));
        Assert.Contains("the pose estimator (DWPose/RTMPose) model has 1 inputs and 1 outputs; it needs 1 input and 2 output(s)", twice.Message, StringComparison.Ordinal);
        string garbage = Path.Combine(Path.GetTempPath(), $"garbage-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(garbage, [1, 2, 3, 4]);
        try
        {
            var e = Assert.Throws<PoseModelException>(() => PoseFrontEnd.Load(DwposeGolden.Detector, garbage));
            Assert.StartsWith($"{garbage}: ONNX Runtime cannot load the pose estimator (DWPose/RTMPose) model:", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(garbage);
        }
    }

    [Fact]
    public void BadFramesAreRefusedAndTheFrontEndStaysUsable()
    {
        using var frontEnd = PoseFrontEnd.Load(DwposeGolden.Detector, DwposeGolden.Estimator, new PoseFrontEndOptions { CenterCrop = null });
        var pose = new byte[512 * 512 * 3];
        var frame = DwposeGolden.Frame(0);
        Assert.Throws<ArgumentException>(() => frontEnd.Process(frame.Pixels, 320, 240, 320 * 3 - 1, pose));    // stride below a row
        Assert.Throws<ArgumentException>(() => frontEnd.Process(frame.Pixels.AsSpan(1), 320, 240, 320 * 3, pose)); // one byte short
        Assert.Throws<ArgumentException>(() => frontEnd.Process(frame.Pixels, 0, 240, 0, pose));
        Assert.Throws<ArgumentException>(() => frontEnd.Process(frame.Pixels, 20000, 1, 60000, pose));
        Assert.Throws<ArgumentException>(() => frontEnd.Process(frame.Pixels, 320, 240, 320 * 3, new byte[100]));
        Assert.Equal(-1, frontEnd.Frame.Index); // nothing ran
        frontEnd.Process(frame, pose);
        Assert.Equal(DwposeGolden.Image("f00/rendered").Pixels, pose);
    }

    [Fact]
    public void StridedFramesGiveTheSamePicture()
    {
        // The golden frame 1 inside a wider buffer (row padding) and with an offset: same stages, same pose image.
        using var a = PoseFrontEnd.Load(DwposeGolden.Detector, DwposeGolden.Estimator, new PoseFrontEndOptions { CenterCrop = null });
        using var b = PoseFrontEnd.Load(DwposeGolden.Detector, DwposeGolden.Estimator, new PoseFrontEndOptions { CenterCrop = null });
        var frame = DwposeGolden.Frame(1);
        int stride = (frame.Width * 3) + 37;
        var padded = new byte[(stride * frame.Height) + 11];
        Random.Shared.NextBytes(padded);
        for (int y = 0; y < frame.Height; y++)
            frame.Pixels.AsSpan(y * frame.Width * 3, frame.Width * 3).CopyTo(padded.AsSpan(11 + (y * stride)));
        var p1 = new byte[512 * 512 * 3];
        var p2 = new byte[512 * 512 * 3];
        a.Process(frame, p1);
        b.Process(padded.AsSpan(11), frame.Width, frame.Height, stride, p2);
        Assert.Equal(p1, p2);
        Assert.Equal(a.Frame.Face.ToArray(), b.Frame.Face.ToArray());
    }

    [Theory]
    [InlineData(640, 480, 0.9, 104, 24, 432, 432)]    // spec §1's example
    [InlineData(1280, 720, 0.9, 316, 36, 648, 648)]   // spec §1's example
    [InlineData(101, 200, 0.9, 5, 55, 91, 90)]        // odd margin: one larger (H0 − d = 110 → 55 each side; W0 − d = 11 → 5, 91 wide)
    [InlineData(300, 300, 1.0, 0, 0, 300, 300)]
    public void CentreCropIsTheWebUis(int w, int h, double crop, int x, int y, int cw, int ch) =>
        Assert.Equal((x, y, cw, ch), PoseFrontEnd.CenterCropRect(w, h, crop));

    [Fact]
    public void CameraFramesAreCroppedBeforeTheResize()
    {
        // With RAIN's default crop 0.9, a 640x480 frame is cut to its centre 432x432 and then resized: the same as giving
        // that cut-out with the crop off.
        var frame = DwposeGolden.Frame(3); // 800x600
        var (x, y, w, h) = PoseFrontEnd.CenterCropRect(frame.Width, frame.Height, PoseFrontEndOptions.DefaultCenterCrop);
        Assert.Equal((130, 30, 540, 540), (x, y, w, h));
        var cut = new RgbImage(w, h);
        for (int r = 0; r < h; r++)
            frame.Pixels.AsSpan(((y + r) * frame.Width * 3) + (x * 3), w * 3).CopyTo(cut.Pixels.AsSpan(r * w * 3));
        using var camera = PoseFrontEnd.Load(DwposeGolden.Detector, DwposeGolden.Estimator);
        using var plain = PoseFrontEnd.Load(DwposeGolden.Detector, DwposeGolden.Estimator, new PoseFrontEndOptions { CenterCrop = null });
        Assert.Equal(plain.Process(cut).Pixels, camera.Process(frame).Pixels);
        Assert.Equal(plain.Frame.Keypoints.ToArray(), camera.Frame.Keypoints.ToArray());
    }
}

using Rain.Engine.Media;

namespace Rain.Cli.Tests;

public sealed class DemoSceneTests
{
    [Fact]
    public void PosesMoveAndStayOnTheCanvas()
    {
        var a = DemoScene.Landmarks(0, 128, 64);
        var b = DemoScene.Landmarks(8, 128, 64);
        Assert.Equal(68, a.Length);
        Assert.All(a.Concat(b), p => Assert.True(p.X >= 0 && p.X < 128 && p.Y >= 0 && p.Y < 64, $"{p} is off the canvas"));
        Assert.True(a.Zip(b).Max(t => Math.Abs(t.First.X - t.Second.X) + Math.Abs(t.First.Y - t.Second.Y)) > 1, "the face does not move");
    }

    [Fact]
    public void PoseImagesAreLandmarksOnBlackAndDeterministic()
    {
        var pose = DemoScene.Pose(3, 128, 64);
        Assert.Equal((128, 64), (pose.Width, pose.Height));
        Assert.Equal(pose.Pixels, DemoScene.Pose(3, 128, 64).Pixels);
        int lit = 0;
        for (int i = 0; i < pose.Pixels.Length; i += 3)
            lit += pose.Pixels[i] + pose.Pixels[i + 1] + pose.Pixels[i + 2] > 0 ? 1 : 0;
        Assert.InRange(lit, 68, 128 * 64 / 2); // drawn dots, mostly black background
        var reference = DemoScene.Reference(128, 64);
        Assert.NotEqual(reference.Pixels[0], reference.Pixels[(64 * 128 * 3) - 3]); // gradient top to bottom
        if (Environment.GetEnvironmentVariable("RAIN_DUMP_DEMO") is string dir)
        {
            ImageCodec.SavePng(DemoScene.Reference(256, 256), Path.Combine(dir, "reference.png"));
            ImageCodec.SavePng(DemoScene.Pose(5, 256, 256), Path.Combine(dir, "pose.png"));
        }
    }
}

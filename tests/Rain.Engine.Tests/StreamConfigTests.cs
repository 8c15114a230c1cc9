using Rain.Engine.Streaming;

namespace Rain.Engine.Tests;

public sealed class StreamConfigTests
{
    [Theory]
    [InlineData(0, "FramesPerLevel (p) must be between 1 and 32; got 0")]
    [InlineData(33, "FramesPerLevel (p) must be between 1 and 32; got 33")]
    public void RejectsFramesPerLevel(int p, string message)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new StreamConfig { FramesPerLevel = p });
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RejectsLevels()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new StreamConfig { Levels = 0 });
        Assert.Contains("Levels (L) must be between 1 and 32; got 0", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(0)]
    [InlineData(-64)]
    [InlineData(72)]
    public void RejectsImageSizesThatAreNotMultiplesOf64(int size)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new StreamConfig { Height = size });
        Assert.Contains($"Height must be a positive multiple of 64", e.Message, StringComparison.Ordinal);
        Assert.Contains($"got {size}", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new StreamConfig { Width = size });
    }

    [Fact]
    public void RejectsWindowsLongerThanThePositionalEncoding()
    {
        var config = new StreamConfig { FramesPerLevel = 8, Levels = 6 };
        config.Validate(); // the stream itself has no such limit
        var e = Assert.Throws<ArgumentException>(() => config.EnsureFitsPositionalEncoding(32));
        Assert.Contains("8 × 6 = 48 frames, but the model's motion modules encode only 32", e.Message, StringComparison.Ordinal);
        new StreamConfig { FramesPerLevel = 8, Levels = 4 }.EnsureFitsPositionalEncoding(32);
    }

    [Fact]
    public void RejectsInconsistentScheduler()
    {
        var e = Assert.Throws<ArgumentException>(() => new LcmSchedule(new StreamConfig { Scheduler = new SchedulerConfig { BetaStart = 0.02, BetaEnd = 0.01 } }));
        Assert.Contains("BetaStart (0.02) must be smaller than BetaEnd (0.01)", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SchedulerConfig { BetaEnd = 1.5 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new SchedulerConfig { TrainTimesteps = 1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new SchedulerConfig { TimestepScaling = double.NaN });
    }

    [Fact]
    public void RainPresetIsRainsConfiguration()
    {
        var c = StreamConfig.Rain;
        Assert.Equal((4, 4, 16, 512, 512, 64, 64), (c.FramesPerLevel, c.Levels, c.Frames, c.Height, c.Width, c.LatentHeight, c.LatentWidth));
        Assert.Equal(4 * 64 * 64, c.LatentFrameElements);
    }
}

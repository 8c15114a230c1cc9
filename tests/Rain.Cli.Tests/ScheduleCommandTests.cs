using Rain.Engine.Streaming;

namespace Rain.Cli.Tests;

public sealed class ScheduleCommandTests
{
    [Fact]
    public void PrintsRainScheduleAndTimeline()
    {
        var writer = new StringWriter();
        ScheduleCommand.Print(new LcmSchedule(StreamConfig.Rain), 5, writer);
        string text = writer.ToString();
        Assert.Contains("inference timesteps (noisiest first): 999, 749, 499, 249", text, StringComparison.Ordinal);
        Assert.Contains("first output: step 3", text, StringComparison.Ordinal);
        Assert.Contains("none (filler -3 decoded and dropped)", text, StringComparison.Ordinal);
        Assert.Contains("frames of chunk 1", text, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidConfigurationExitsWithMessage()
    {
        var error = new StringWriter();
        var saved = Console.Error;
        Console.SetError(error);
        try
        {
            int code = ScheduleCommand.Create().Parse(["--height", "500"]).Invoke();
            Assert.Equal(2, code);
        }
        finally
        {
            Console.SetError(saved);
        }

        Assert.Contains("Height must be a positive multiple of 64", error.ToString(), StringComparison.Ordinal);
    }
}

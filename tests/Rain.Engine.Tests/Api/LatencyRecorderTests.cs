using Rain.Engine.Api;

namespace Rain.Engine.Tests.Api;

public sealed class LatencyRecorderTests
{
    [Fact]
    public void NearestRankPercentilesOfOneToHundred()
    {
        var r = new LatencyRecorder(1000);
        foreach (int v in Enumerable.Range(1, 100).Reverse())
            r.Record(v);
        var s = r.Summarize();
        Assert.Equal((100, 50.5, 50.0, 95.0, 99.0, 100.0), (s.Count, s.Mean, s.P50, s.P95, s.P99, s.Max));
    }

    [Fact]
    public void KeepsOnlyTheMostRecentSamples()
    {
        var r = new LatencyRecorder(4);
        foreach (int v in new[] { 1000, 1000, 1, 2, 3, 4 })
            r.Record(v);
        Assert.Equal(6, r.Total);
        var s = r.Summarize();
        Assert.Equal((4, 4.0), (s.Count, s.Max));
    }

    [Fact]
    public void EmptyIsZeroAndRecordingDoesNotAllocate()
    {
        var r = new LatencyRecorder(16);
        Assert.Equal(default, r.Summarize());
        r.Record(1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
            r.Record(i);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void StagesAccumulateWithinAStep()
    {
        var t = new StageTimings(8);
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        t.Add(Stage.Decode, start);
        t.Add(Stage.Decode, start);
        t.EndStep(start, new Rain.Engine.Streaming.StepOutcome(0, -3, false));
        Assert.Equal(1, t[Stage.Decode].Total);
        Assert.Equal(1, t.Step.Total);
        Assert.True(t[Stage.Decode].Summarize().Max >= 0);
        Assert.Equal(0, t[Stage.Attention].Summarize().Max);
    }
}

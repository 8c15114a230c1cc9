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
        // Timestamps a known number of ticks in the past give known durations: two Decode adds of 30 ms and 10 ms sum to
        // one 40 ms sample (accumulated, not two samples), the step is at least as long as its oldest stage start, and a
        // stage without time records 0.
        var t = new StageTimings(8);
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        long Ago(double ms) => now - (long)(ms * System.Diagnostics.Stopwatch.Frequency / 1000);
        t.Add(Stage.Decode, Ago(30));
        t.Add(Stage.Decode, Ago(10));
        t.EndStep(Ago(50), new Rain.Engine.Streaming.StepOutcome(0, -3, false));
        Assert.Equal(1, t[Stage.Decode].Total);
        Assert.Equal(1, t.Step.Total);
        double decode = t[Stage.Decode].Summarize().Max;
        Assert.InRange(decode, 40, 40 + 60_000); // the clock moves on between the calls, by far less than a minute
        Assert.InRange(t.Step.Summarize().Max, 50, 50 + 60_000);
        Assert.True(t.Step.Summarize().Max >= decode - 1, "the step cannot be shorter than the stage time it contains");
        Assert.Equal(0, t[Stage.Attention].Summarize().Max);
        Assert.Equal(1, t[Stage.Attention].Total);

        // The next step starts from zero: its Decode sample is its own 5 ms, not the previous step's carried over.
        now = System.Diagnostics.Stopwatch.GetTimestamp();
        t.Add(Stage.Decode, Ago(5));
        t.EndStep(Ago(5), new Rain.Engine.Streaming.StepOutcome(1, -2, false));
        var s = t[Stage.Decode].Summarize();
        Assert.Equal(2, s.Count);
        Assert.True(s.P50 >= 5 && s.P50 < s.Max, $"nearest-rank median of {{5 + ε, 40 + ε}} is the smaller; got {s.P50} of max {s.Max}");
    }
}

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Diagnostics.Tracing;
using Rain.Engine.Api;
using Rain.Engine.Diagnostics;
using Rain.Engine.Tests.Api;
using Xunit.Abstractions;

namespace Rain.Engine.Tests.Diagnostics;

/// <summary>
/// The live counters as a monitoring tool sees them, with no code in the host: the "Rain.Engine" meter through a
/// <see cref="MeterListener"/> (what OpenTelemetry and dotnet-counters use) and the EventCounters of the "Rain.Engine"
/// event source through an <see cref="EventListener"/>, checked against the session's own statistics.
/// </summary>
[Collection(nameof(MetricsGroup))]
public sealed class CountersTests(GoldenBundle bundle, ITestOutputHelper output) : IClassFixture<GoldenBundle>
{
    private const int P = 4, L = 4, Steps = 6;

    [Fact]
    public void TheMeterAndTheEventCountersReportASessionLive()
    {
        var sums = new ConcurrentDictionary<string, double>();
        var counts = new ConcurrentDictionary<string, int>();
        var gauges = new ConcurrentDictionary<string, double>();
        using var meter = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == EngineTelemetry.Name)
                    listener.EnableMeasurementEvents(instrument);
            },
        };
        void Measured(Instrument instrument, double value)
        {
            if (instrument.GetType().Name.StartsWith("ObservableGauge", StringComparison.Ordinal))
            {
                gauges[instrument.Name] = value;
                return;
            }

            sums.AddOrUpdate(instrument.Name, value, (_, s) => s + value);
            counts.AddOrUpdate(instrument.Name, 1, (_, c) => c + 1);
        }

        meter.SetMeasurementEventCallback<long>((i, v, _, _) => Measured(i, v));
        meter.SetMeasurementEventCallback<double>((i, v, _, _) => Measured(i, v));
        meter.Start();
        long framesBefore = EngineMetrics.TotalFrames;
        using var counters = new CounterListener();

        using var engine = RainEngine.Load(bundle.Folder, new EngineOptions { Threads = 1, VerifyBundleHashes = false });
        using var session = engine.CreateSession(SessionTests.Pose(7, 96, 80));
        for (int i = 0; i < Steps * P; i++)
            session.PushPose(SessionTests.Pose(i));
        while (session.Statistics.Steps < Steps)
            Thread.Sleep(5);

        // Nothing read yet: every emitted frame waits in the output queue, and the input queue is empty.
        int frames = (Steps - (L - 1)) * P;
        meter.RecordObservableInstruments();
        Assert.Equal(frames, gauges["rain.queue.output"]);
        Assert.Equal(0, gauges["rain.queue.input"]);
        Assert.True(gauges["rain.fps"] > 0);
        Assert.True(counters.WaitFor(c => c.TryGetValue("output-queue", out var q) && q.Mean == frames, TimeSpan.FromSeconds(20)), "the output-queue event counter never showed the waiting frames");

        session.CompleteInput(drain: false); // no drain steps: the sums below are of the steps above
        while (session.ReadFrame() is { } frame)
            frame.Dispose();
        var stats = session.Statistics;
        Assert.Equal(Steps, sums["rain.steps"]);
        Assert.Equal(stats.FramesOut, sums["rain.frames"]);
        Assert.Equal(frames, stats.FramesOut);
        Assert.Equal(Steps, counts["rain.step.duration"]);
        Assert.Equal(stats.StepTime.Mean * Steps, sums["rain.step.duration"], 6);
        Assert.Equal(frames, counts["rain.frame.latency"]);
        Assert.Equal(stats.FrameLatency.Mean * frames, sums["rain.frame.latency"], 6);
        Assert.Equal(stats.AllocatedBytesTotal, sums["rain.step.allocated"]);
        Assert.False(sums.ContainsKey("rain.poses.dropped")); // none dropped without latest-frame-wins

        // Every event counter was published, with the values the session measured (the counters aggregate per interval:
        // wait for the intervals that hold the last step and frame).
        Assert.True(counters.WaitFor(_ => counters.Observed("step-time").Sum(s => s.Count) == Steps && counters.Observed("frame-latency").Sum(s => s.Count) == frames
            && new[] { "fps", "dropped-poses", "input-queue", "output-queue", "step-allocated-bytes" }.All(n => counters.Observed(n).Any()), TimeSpan.FromSeconds(20)),
            "missing: " + string.Join(", ", counters.Names));
        var stepTime = counters.Observed("step-time").Where(s => s.Count > 0).ToList();
        Assert.All(stepTime, s => Assert.InRange(s.Mean, 0, stats.StepTime.Max + 1e-6));
        // (Sums of per-interval means × counts: equal up to the rounding of the means.)
        Assert.Equal(1, stepTime.Sum(s => s.Mean * s.Count) / (stats.StepTime.Mean * Steps), 6);
        Assert.Equal(1, counters.Observed("frame-latency").Sum(s => s.Mean * s.Count) / (stats.FrameLatency.Mean * frames), 6);

        // The fps counter's increments add up to the frames (its first interval may also count the frames of earlier
        // sessions in this process, from before the counter existed).
        double increments = counters.Observed("fps").Sum(s => s.Increment);
        Assert.True(increments == frames || increments == framesBefore + frames, $"fps increments {increments}, frames {frames}, earlier {framesBefore}");
        output.WriteLine($"event counters seen: {string.Join(", ", counters.Names)}; step {stats.StepTime}");
    }

    /// <summary>Enables the Rain.Engine event source with a short counter interval and keeps every counter payload.</summary>
    private sealed class CounterListener : EventListener
    {
        private readonly ConcurrentQueue<(string Name, double Mean, double Increment, int Count)> _seen = new();

        public IEnumerable<string> Names => _seen.Select(s => s.Name).Distinct();

        public IEnumerable<(string Name, double Mean, double Increment, int Count)> Observed(string name) => _seen.Where(s => s.Name == name);

        public bool WaitFor(Func<Dictionary<string, (double Mean, double Increment, int Count)>, bool> condition, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                var latest = new Dictionary<string, (double, double, int)>();
                foreach (var s in _seen)
                    latest[s.Name] = (s.Mean, s.Increment, s.Count);
                if (condition(latest))
                    return true;
                Thread.Sleep(50);
            }

            return false;
        }

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == EngineTelemetry.Name)
                EnableEvents(source, EventLevel.Verbose, EventKeywords.All, new Dictionary<string, string?> { ["EventCounterIntervalSec"] = "0.1" });
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName != "EventCounters" || e.Payload?[0] is not IDictionary<string, object> p)
                return;
            double Get(string key) => p.TryGetValue(key, out var v) ? Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture) : 0;
            _seen.Enqueue(((string)p["Name"], Get("Mean"), Get("Increment"), (int)Get("Count")));
        }
    }
}

/// <summary>The counters are process-wide: tests that read them run alone.</summary>
[CollectionDefinition(nameof(MetricsGroup), DisableParallelization = true)]
public sealed class MetricsGroup;

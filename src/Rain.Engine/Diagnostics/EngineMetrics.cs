using System.Diagnostics.Metrics;
using System.Reflection;
using Rain.Engine.Api;

namespace Rain.Engine.Diagnostics;

/// <summary>
/// The engine's live counters, published without any code in the host under the name <see cref="Name"/>: as a
/// <see cref="Meter"/> (System.Diagnostics.Metrics: OpenTelemetry's <c>AddMeter("Rain.Engine")</c>,
/// <c>dotnet-counters monitor --counters Rain.Engine</c>) and as an <see cref="System.Diagnostics.Tracing.EventSource"/>
/// with EventCounters of the same name (older EventPipe tools, PerfView).
/// </summary>
/// <remarks>
/// <para>Meter instruments: <c>rain.steps</c> and <c>rain.frames</c> (counters; the rate of frames is the fps),
/// <c>rain.fps</c> (gauge: frames per second of the open sessions since their first step), <c>rain.step.duration</c> and
/// <c>rain.frame.latency</c> (histograms, ms), <c>rain.poses.dropped</c> (counter), <c>rain.queue.input</c> and
/// <c>rain.queue.output</c> (gauges: poses waiting for a step, frames waiting for the reader), <c>rain.step.allocated</c>
/// (counter, bytes the step thread allocated inside steps: 0 in steady state).</para>
/// <para>EventCounters: <c>fps</c>, <c>step-time</c>, <c>frame-latency</c>, <c>dropped-poses</c>, <c>input-queue</c>,
/// <c>output-queue</c>, <c>step-allocated-bytes</c>.</para>
/// <para>Recording costs a few nanoseconds per step when nobody listens and never allocates.</para>
/// </remarks>
public static class EngineTelemetry
{
    /// <summary>The name of the meter and of the event source.</summary>
    public const string Name = "Rain.Engine";
}

/// <summary>The single place that publishes the counters: the session and the step timings call it, it feeds the meter and the event source.</summary>
internal static class EngineMetrics
{
    private static readonly Meter Meter = new(EngineTelemetry.Name, typeof(EngineMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);
    private static readonly Counter<long> Steps = Meter.CreateCounter<long>("rain.steps", "{step}", "Stream steps completed.");
    private static readonly Counter<long> Frames = Meter.CreateCounter<long>("rain.frames", "{frame}", "Frames emitted; its rate is the fps.");
    private static readonly Counter<long> Dropped = Meter.CreateCounter<long>("rain.poses.dropped", "{pose}", "Poses dropped because the input queue was full (latest-frame-wins).");
    private static readonly Counter<long> Allocated = Meter.CreateCounter<long>("rain.step.allocated", "By", "Managed bytes the step thread allocated inside steps (0 in steady state).");
    private static readonly Histogram<double> StepTime = Meter.CreateHistogram<double>("rain.step.duration", "ms", "Whole-step duration.");
    private static readonly Histogram<double> Latency = Meter.CreateHistogram<double>("rain.frame.latency", "ms", "Pose entering the session to its frame leaving it.");
    private static readonly Lock Gate = new();
    private static readonly List<AnimationSession> Open = [];
    private static long s_frames, s_dropped;

    static EngineMetrics()
    {
        Meter.CreateObservableGauge("rain.queue.input", () => Sum(s => s.QueueDepths.Input), "{pose}", "Poses waiting for a step, over the open sessions.");
        Meter.CreateObservableGauge("rain.queue.output", () => Sum(s => s.QueueDepths.Output), "{frame}", "Frames waiting for the reader, over the open sessions.");
        Meter.CreateObservableGauge("rain.fps", () => Sum(s => s.FramesPerSecond), "{frame}/s", "Frames per second of the open sessions since their first step.");
    }

    public static long TotalFrames => Interlocked.Read(ref s_frames);

    public static long TotalDropped => Interlocked.Read(ref s_dropped);

    public static int InputQueue => (int)Sum(s => s.QueueDepths.Input);

    public static int OutputQueue => (int)Sum(s => s.QueueDepths.Output);

    public static void StepCompleted(double milliseconds)
    {
        Steps.Add(1);
        StepTime.Record(milliseconds);
        RainEventSource.Log.StepTime(milliseconds);
    }

    public static void StepAllocated(long bytes)
    {
        Allocated.Add(bytes);
        RainEventSource.Log.StepAllocated(bytes);
    }

    public static void FrameOut(double latencyMilliseconds)
    {
        Interlocked.Increment(ref s_frames);
        Frames.Add(1);
        Latency.Record(latencyMilliseconds);
        RainEventSource.Log.FrameLatency(latencyMilliseconds);
    }

    public static void PoseDropped()
    {
        Interlocked.Increment(ref s_dropped);
        Dropped.Add(1);
    }

    public static void Opened(AnimationSession session)
    {
        lock (Gate)
            Open.Add(session);
    }

    public static void Closed(AnimationSession session)
    {
        lock (Gate)
            Open.Remove(session);
    }

    private static double Sum(Func<AnimationSession, double> value)
    {
        lock (Gate)
            return Open.Sum(value);
    }
}

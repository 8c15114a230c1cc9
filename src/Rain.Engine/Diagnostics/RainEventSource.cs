using System.Diagnostics.Tracing;

namespace Rain.Engine.Diagnostics;

/// <summary>
/// The <c>Rain.Engine</c> event source: EventCounters for tools that read EventPipe counters (<c>dotnet-counters</c>,
/// PerfView, an in-process <see cref="EventListener"/>). The counters exist only while a listener has the source enabled;
/// until then each metric call is one check of <see cref="EventSource.IsEnabled()"/>.
/// </summary>
[EventSource(Name = EngineTelemetry.Name)]
internal sealed class RainEventSource : EventSource
{
    public static readonly RainEventSource Log = new();

    private EventCounter? _stepTime, _frameLatency, _allocated;
    private IncrementingPollingCounter? _fps, _dropped;
    private PollingCounter? _input, _output;

    private RainEventSource()
    {
    }

    [NonEvent]
    public void StepTime(double milliseconds)
    {
        if (IsEnabled())
            _stepTime?.WriteMetric(milliseconds);
    }

    [NonEvent]
    public void FrameLatency(double milliseconds)
    {
        if (IsEnabled())
            _frameLatency?.WriteMetric(milliseconds);
    }

    [NonEvent]
    public void StepAllocated(long bytes)
    {
        if (IsEnabled())
            _allocated?.WriteMetric(bytes);
    }

    protected override void OnEventCommand(EventCommandEventArgs command)
    {
        if (command.Command != EventCommand.Enable || _fps is not null)
            return;

        // Created on the first enable, as the EventCounters guidance recommends: no cost for processes nobody watches.
        _fps = new IncrementingPollingCounter("fps", this, () => EngineMetrics.TotalFrames)
        {
            DisplayName = "Frames per second",
            DisplayRateTimeScale = TimeSpan.FromSeconds(1),
        };
        _stepTime = new EventCounter("step-time", this) { DisplayName = "Step time", DisplayUnits = "ms" };
        _frameLatency = new EventCounter("frame-latency", this) { DisplayName = "Frame latency (pose in to frame out)", DisplayUnits = "ms" };
        _dropped = new IncrementingPollingCounter("dropped-poses", this, () => EngineMetrics.TotalDropped)
        {
            DisplayName = "Dropped poses",
            DisplayRateTimeScale = TimeSpan.FromSeconds(1),
        };
        _input = new PollingCounter("input-queue", this, () => EngineMetrics.InputQueue) { DisplayName = "Poses waiting for a step" };
        _output = new PollingCounter("output-queue", this, () => EngineMetrics.OutputQueue) { DisplayName = "Frames waiting for the reader" };
        _allocated = new EventCounter("step-allocated-bytes", this) { DisplayName = "Managed bytes allocated per step", DisplayUnits = "B" };
    }

    protected override void Dispose(bool disposing)
    {
        _fps?.Dispose();
        _stepTime?.Dispose();
        _frameLatency?.Dispose();
        _dropped?.Dispose();
        _input?.Dispose();
        _output?.Dispose();
        _allocated?.Dispose();
        base.Dispose(disposing);
    }
}

using System.Diagnostics;
using Rain.Engine.Diagnostics;
using Rain.Engine.Interop;

namespace Rain.Engine.Backends.Cuda;

/// <summary>
/// What the step driver tells profilers about its parts, from the one place where they are enqueued: an NVTX range per
/// part (and per device step) when an NVTX tool is attached, so Nsight Systems shows the parts by name; and, when a
/// trace is attached and the step is enqueued eagerly (no CUDA graph), a CUDA event before and after every part, whose
/// elapsed times become the parts' slices on the trace's GPU track after the step's synchronisation.
/// </summary>
/// <remarks>
/// With neither attached every call is a null check. The device track is anchored at the moment the step's
/// synchronisation returned (the last event, recorded after the frames' copy to the host, completed just before):
/// each part sits where the GPU's own clock puts it relative to that event. Not thread-safe (the driver's).
/// </remarks>
internal sealed class StepProfiler(CudaDevice device, NvtxTool? nvtx) : IDisposable
{
    private const uint StepColour = 0xFF1E5AC8, PartColour = 0xFFE67828;
    private readonly NvtxTool? _nvtx = nvtx;
    private readonly Dictionary<IPartRunner, (string Name, nint Nvtx)> _names = new(ReferenceEqualityComparer.Instance);
    private readonly List<CudaEvent> _events = [];
    private readonly List<IPartRunner> _timed = [];
    private nint _stepName;
    private bool _timing;
    private int _recorded;
    private long _step;

    /// <summary>Where timed parts go; the pipeline sets it from its step timings before each step.</summary>
    public TraceWriter? Trace { get; set; }

    /// <summary>Opens the device step's NVTX range (closed by <see cref="EndStep"/>).</summary>
    public void BeginStep(long step)
    {
        _step = step;
        if (_nvtx is null)
            return;
        if (_stepName == 0)
            _stepName = _nvtx.RegisterString("device step");
        _nvtx.Push(_stepName, StepColour, step);
    }

    /// <summary>Starts an enqueue of the step's work: parts are timed when tracing and not capturing a graph.</summary>
    public void BeginEnqueue(bool capturing)
    {
        _timing = Trace is not null && !capturing;
        _recorded = 0;
        _timed.Clear();
    }

    /// <summary>Just before <paramref name="part"/> is enqueued.</summary>
    public void Before(CudaStream stream, IPartRunner part)
    {
        if (_nvtx is not null)
            _nvtx.Push(Named(part).Nvtx, PartColour, _step);
        if (!_timing)
            return;
        _timed.Add(part);
        Record(stream);
    }

    /// <summary>Just after the part was enqueued.</summary>
    public void After(CudaStream stream)
    {
        _nvtx?.Pop();
        if (_timing)
            Record(stream);
    }

    /// <summary>After the step's last operation (the frames' copy to the host) was enqueued.</summary>
    public void EndEnqueue(CudaStream stream)
    {
        if (_timing)
            Record(stream);
    }

    /// <summary>After the step's synchronisation: closes the NVTX range and puts the timed parts on the trace.</summary>
    public void EndStep()
    {
        long synchronised = Stopwatch.GetTimestamp();
        _nvtx?.Pop();
        if (!_timing || Trace is not { } trace || _recorded == 0)
            return;
        var last = _events[_recorded - 1];
        double ticksPerMs = Stopwatch.Frequency / 1000.0;
        for (int i = 0; i < _timed.Count; i++)
        {
            long start = synchronised - (long)(last.ElapsedMillisecondsSince(_events[2 * i]) * ticksPerMs);
            long end = synchronised - (long)(last.ElapsedMillisecondsSince(_events[(2 * i) + 1]) * ticksPerMs);
            trace.Slice(Named(_timed[i]).Name, "gpu", start, end, TraceWriter.Args.Step0, _step, thread: TraceWriter.DeviceTrack);
        }

        _timing = false;
    }

    public void Dispose()
    {
        foreach (var e in _events)
            e.Dispose();
        _events.Clear();
    }

    private void Record(CudaStream stream)
    {
        if (_recorded == _events.Count)
            _events.Add(device.CreateEvent()); // the first traced step creates them; later steps reuse them
        _events[_recorded++].Record(stream);
    }

    private (string Name, nint Nvtx) Named(IPartRunner part)
    {
        if (!_names.TryGetValue(part, out var named))
        {
            string name = part.Name; // KernelNode formats its name: once per part, not per step
            _names[part] = named = (name, _nvtx?.RegisterString(name) ?? 0);
        }

        return named;
    }
}

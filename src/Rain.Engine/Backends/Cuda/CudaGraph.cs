using Rain.Engine.Interop;

namespace Rain.Engine.Backends.Cuda;

/// <summary>
/// A CUDA graph captured from a stream and instantiated: the work of one step replayed with one launch. The captured
/// work must use only buffers whose addresses stay valid (allocate once) and static shapes; values that change per
/// step must be read from device or pinned memory at replay time, never baked into kernel arguments.
/// </summary>
internal sealed unsafe class CudaGraph : IDisposable
{
    private readonly GraphHandle _graph;
    private readonly GraphExecHandle _exec;
    private readonly CudaDevice _device;

    private CudaGraph(CudaDevice device, GraphHandle graph, GraphExecHandle exec)
    {
        _device = device;
        _graph = graph;
        _exec = exec;
    }

    /// <summary>
    /// Captures what <paramref name="enqueue"/> puts on <paramref name="stream"/> (nothing runs during capture) and
    /// instantiates it. Capture is thread-local: other threads' CUDA calls are not affected.
    /// </summary>
    public static CudaGraph Capture(CudaStream stream, Action<CudaStream> enqueue)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(enqueue);
        var device = stream.Device;
        using var owned = new Owned();
        var graph = owned.Own(Record(stream, enqueue));
        var exec = new GraphExecHandle(device);
        nint raw;
        CudaDriver.ThrowIfFailed(CudaDriver.GraphInstantiateWithFlags(&raw, graph.Value, 0));
        exec.Adopt(raw);
        return owned.Commit(new CudaGraph(device, graph, exec));
    }

    /// <summary>Enqueues one replay of the graph on <paramref name="stream"/>.</summary>
    public void Launch(CudaStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _device.MakeCurrent();
        CudaDriver.ThrowIfFailed(CudaDriver.GraphLaunch(_exec.Value, stream.Handle));
    }

    /// <summary>
    /// Captures <paramref name="enqueue"/> again and updates the instantiated graph in place (new kernel arguments,
    /// same topology), much cheaper than a new instantiation. Returns false when the driver refuses the update (the
    /// topology or a node type changed); the graph must then be captured anew with <see cref="Capture"/> before it is
    /// launched again. Other failures throw. Needs a CUDA 12 driver or newer.
    /// </summary>
    public bool TryUpdate(CudaStream stream, Action<CudaStream> enqueue)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var graph = Record(stream, enqueue);
        CudaDriver.GraphExecUpdateResultInfo info;
        CudaResult result = CudaDriver.GraphExecUpdate(_exec.Value, graph.Value, &info);
        if (result == CudaResult.ErrorGraphExecUpdateFailure)
            return false;
        CudaDriver.ThrowIfFailed(result, "cuGraphExecUpdate_v2");
        return true;
    }

    /// <summary>Destroys the executable graph and the graph.</summary>
    public void Dispose()
    {
        _exec.Dispose();
        _graph.Dispose();
    }

    private static GraphHandle Record(CudaStream stream, Action<CudaStream> enqueue)
    {
        var device = stream.Device;
        device.MakeCurrent();
        CudaDriver.ThrowIfFailed(CudaDriver.StreamBeginCapture(stream.Handle, CudaDriver.StreamCaptureModeThreadLocal));
        nint raw = 0;
        try
        {
            enqueue(stream);
        }
        catch
        {
            // End the capture so that the stream is usable again, and destroy whatever was recorded (cuStreamEndCapture
            // may still return a partial graph); the enqueue's own exception is the one that says what went wrong.
            if (CudaDriver.StreamEndCapture(stream.Handle, &raw) == CudaResult.Success && raw != 0)
                _ = CudaDriver.GraphDestroy(raw);
            throw;
        }

        CudaResult ended = CudaDriver.StreamEndCapture(stream.Handle, &raw);
        if (ended != CudaResult.Success)
        {
            if (raw != 0)
                _ = CudaDriver.GraphDestroy(raw);
            CudaDriver.ThrowIfFailed(ended, "cuStreamEndCapture");
        }

        var graph = new GraphHandle(device);
        graph.Adopt(raw);
        return graph;
    }
}

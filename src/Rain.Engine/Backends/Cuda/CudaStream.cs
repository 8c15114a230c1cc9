using Rain.Engine.Interop;

namespace Rain.Engine.Backends.Cuda;

/// <summary>
/// A non-blocking CUDA stream: work enqueued on it runs in order, asynchronously to the host. Asynchronous copies
/// must use <see cref="PinnedBuffer"/> on the host side, and neither side may be touched until the stream (or an
/// event recorded after the copy) has been synchronised.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "CUDA's own name for an ordered work queue; not a System.IO.Stream.")]
internal sealed unsafe class CudaStream : IDisposable
{
    private readonly StreamHandle _handle;

    internal CudaStream(CudaDevice device)
    {
        device.MakeCurrent();
        Device = device;
        _handle = new StreamHandle(device);
        nint stream;
        CudaDriver.ThrowIfFailed(CudaDriver.StreamCreate(&stream, CudaDriver.StreamNonBlocking));
        _handle.Adopt(stream);
    }

    /// <summary>The device.</summary>
    public CudaDevice Device { get; }

    internal nint Handle => _handle.Value;

    /// <summary>Enqueues a copy of <paramref name="bytes"/> from pinned memory at <paramref name="sourceOffset"/> to device memory.</summary>
    public void CopyToDevice(PinnedBuffer source, long sourceOffset, DeviceBuffer destination, long destinationOffset, long bytes)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        CheckRange(sourceOffset, bytes, source.Bytes, "source");
        CheckRange(destinationOffset, bytes, destination.Bytes, "destination");
        Device.MakeCurrent();
        CudaDriver.ThrowIfFailed(CudaDriver.MemcpyHtoDAsync(destination.Address + (ulong)destinationOffset, (byte*)source.Pointer + sourceOffset, (nuint)bytes, Handle));
    }

    /// <summary>Enqueues a copy of <paramref name="bytes"/> from device memory to pinned memory.</summary>
    public void CopyToHost(DeviceBuffer source, long sourceOffset, PinnedBuffer destination, long destinationOffset, long bytes)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        CheckRange(sourceOffset, bytes, source.Bytes, "source");
        CheckRange(destinationOffset, bytes, destination.Bytes, "destination");
        Device.MakeCurrent();
        CudaDriver.ThrowIfFailed(CudaDriver.MemcpyDtoHAsync((byte*)destination.Pointer + destinationOffset, source.Address + (ulong)sourceOffset, (nuint)bytes, Handle));
    }

    /// <summary>Enqueues a device-to-device copy of <paramref name="bytes"/>.</summary>
    public void Copy(DeviceBuffer source, long sourceOffset, DeviceBuffer destination, long destinationOffset, long bytes)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        CheckRange(sourceOffset, bytes, source.Bytes, "source");
        CheckRange(destinationOffset, bytes, destination.Bytes, "destination");
        Device.MakeCurrent();
        CudaDriver.ThrowIfFailed(CudaDriver.MemcpyDtoDAsync(destination.Address + (ulong)destinationOffset, source.Address + (ulong)sourceOffset, (nuint)bytes, Handle));
    }

    /// <summary>Enqueues setting every 32-bit word of <paramref name="buffer"/> to <paramref name="value"/>.</summary>
    public void Fill32(DeviceBuffer buffer, uint value)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        Device.MakeCurrent();
        CudaDriver.ThrowIfFailed(CudaDriver.MemsetD32Async(buffer.Address, value, (nuint)(buffer.Bytes / 4), Handle));
    }

    /// <summary>Enqueues setting every byte of <paramref name="buffer"/> to <paramref name="value"/>.</summary>
    public void Fill(DeviceBuffer buffer, byte value)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        Device.MakeCurrent();
        CudaDriver.ThrowIfFailed(CudaDriver.MemsetD8Async(buffer.Address, value, (nuint)buffer.Bytes, Handle));
    }

    /// <summary>Blocks until everything enqueued so far has run.</summary>
    public void Synchronize()
    {
        Device.MakeCurrent();
        CudaDriver.ThrowIfFailed(CudaDriver.StreamSynchronize(Handle));
    }

    /// <summary>Destroys the stream (work already enqueued still completes).</summary>
    public void Dispose() => _handle.Dispose();

    private static void CheckRange(long offset, long bytes, long size, string what)
    {
        if (offset < 0 || bytes < 1 || offset + bytes > size)
            throw new ArgumentOutOfRangeException(what, $"The {what} range [{offset}, {offset + bytes}) is outside its {size}-byte buffer (or empty).");
    }
}

/// <summary>A CUDA event for ordering and timing.</summary>
internal sealed unsafe class CudaEvent : IDisposable
{
    private readonly EventHandle _handle;
    private readonly CudaDevice _device;

    internal CudaEvent(CudaDevice device)
    {
        device.MakeCurrent();
        _device = device;
        _handle = new EventHandle(device);
        nint e;
        CudaDriver.ThrowIfFailed(CudaDriver.EventCreate(&e, CudaDriver.EventDefault));
        _handle.Adopt(e);
    }

    /// <summary>Records the event on <paramref name="stream"/>.</summary>
    public void Record(CudaStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _device.MakeCurrent();
        CudaDriver.ThrowIfFailed(CudaDriver.EventRecord(_handle.Value, stream.Handle));
    }

    /// <summary>Blocks until the work before the recording has run.</summary>
    public void Synchronize()
    {
        _device.MakeCurrent();
        CudaDriver.ThrowIfFailed(CudaDriver.EventSynchronize(_handle.Value));
    }

    /// <summary>Milliseconds between <paramref name="start"/> and this event (both recorded and completed).</summary>
    public float ElapsedMillisecondsSince(CudaEvent start)
    {
        ArgumentNullException.ThrowIfNull(start);
        _device.MakeCurrent();
        float ms;
        CudaDriver.ThrowIfFailed(CudaDriver.EventElapsedTime(&ms, start._handle.Value, _handle.Value));
        return ms;
    }

    /// <summary>Destroys the event.</summary>
    public void Dispose() => _handle.Dispose();
}

using Rain.Engine.Interop;

namespace Rain.Engine.Backends.Cuda;

/// <summary>
/// Device memory allocated once; its address never changes, so a captured CUDA graph may refer to it. The synchronous
/// methods (<see cref="Upload{T}"/>, <see cref="Download{T}"/>, <see cref="Fill"/> …) synchronise the whole context
/// before and after, so they are ordered with every stream's work; they are for set-up and tests. A step moves data
/// with <see cref="CudaStream"/>'s asynchronous copies.
/// </summary>
internal sealed unsafe class DeviceBuffer : IDisposable
{
    private readonly DeviceMemoryHandle _handle;

    internal DeviceBuffer(CudaDevice device, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        device.MakeCurrent();
        _handle = new DeviceMemoryHandle(device);
        ulong address;
        CudaDriver.ThrowIfFailed(CudaDriver.MemAlloc(&address, (nuint)bytes));
        _handle.Adopt((nint)address);
        Bytes = bytes;
    }

    /// <summary>The device address (256-byte aligned).</summary>
    public ulong Address => (ulong)_handle.Value;

    /// <summary>The size in bytes.</summary>
    public long Bytes { get; }

    /// <summary>The address of element <paramref name="index"/> of type <typeparamref name="T"/>.</summary>
    public ulong At<T>(long index)
        where T : unmanaged
    {
        long offset = index * sizeof(T);
        if (index < 0 || offset + sizeof(T) > Bytes)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Element {index} of {typeof(T).Name} is outside the {Bytes}-byte buffer.");
        return Address + (ulong)offset;
    }

    /// <summary>Copies <paramref name="source"/> to the start of the buffer (synchronous).</summary>
    public void Upload<T>(ReadOnlySpan<T> source)
        where T : unmanaged
    {
        long bytes = CheckSize<T>(source.Length);
        MakeCurrentSynchronized();
        fixed (T* p = source)
            Synchronized(CudaDriver.MemcpyHtoD(Address, p, (nuint)bytes));
    }

    /// <summary>Copies the start of the buffer to <paramref name="destination"/> (synchronous).</summary>
    public void Download<T>(Span<T> destination)
        where T : unmanaged
    {
        long bytes = CheckSize<T>(destination.Length);
        MakeCurrentSynchronized();
        fixed (T* p = destination)
            Synchronized(CudaDriver.MemcpyDtoH(p, Address, (nuint)bytes));
    }

    /// <summary>Sets every byte to <paramref name="value"/> (synchronous).</summary>
    public void Fill(byte value)
    {
        MakeCurrentSynchronized();
        Synchronized(CudaDriver.MemsetD8(Address, value, (nuint)Bytes));
    }

    /// <summary>Sets every 32-bit word to <paramref name="value"/> (synchronous; e.g. a NaN pattern to poison outputs).</summary>
    public void Fill32(uint value)
    {
        MakeCurrentSynchronized();
        Synchronized(CudaDriver.MemsetD32(Address, value, (nuint)(Bytes / 4)));
    }

    /// <summary>Copies all of <paramref name="source"/> into this buffer (synchronous).</summary>
    public void CopyFrom(DeviceBuffer source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Bytes > Bytes)
            throw new ArgumentException($"The source ({source.Bytes} bytes) is larger than this buffer ({Bytes} bytes).", nameof(source));
        MakeCurrentSynchronized();
        Synchronized(CudaDriver.MemcpyDtoD(Address, source.Address, (nuint)source.Bytes));
    }

    /// <summary>Frees the memory.</summary>
    public void Dispose() => _handle.Dispose();

    // The call has already run when this is entered (arguments are evaluated first), so synchronise before it in
    // the callers via MakeCurrentSynchronized and after it here.
    private static void Synchronized(CudaResult result, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(result))] string call = "")
    {
        CudaDriver.ThrowIfFailed(result, call);
        CudaDriver.ThrowIfFailed(CudaDriver.CtxSynchronize());
    }

    private void MakeCurrentSynchronized()
    {
        _handle.Device.MakeCurrent();
        CudaDriver.ThrowIfFailed(CudaDriver.CtxSynchronize());
    }

    private long CheckSize<T>(int length)
        where T : unmanaged
    {
        long bytes = (long)length * sizeof(T);
        if (bytes > Bytes)
            throw new ArgumentException($"{length} × {typeof(T).Name} ({bytes} bytes) do not fit the {Bytes}-byte device buffer.");
        return bytes;
    }
}

/// <summary>Page-locked host memory: the staging area of asynchronous copies (and of captured graph copies).</summary>
internal sealed unsafe class PinnedBuffer : IDisposable
{
    private readonly PinnedMemoryHandle _handle;

    internal PinnedBuffer(CudaDevice device, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, int.MaxValue);
        device.MakeCurrent();
        _handle = new PinnedMemoryHandle(device);
        void* pointer;
        CudaDriver.ThrowIfFailed(CudaDriver.MemHostAlloc(&pointer, (nuint)bytes, 0));
        _handle.Adopt((nint)pointer);
        Bytes = bytes;
    }

    /// <summary>The size in bytes.</summary>
    public long Bytes { get; }

    internal void* Pointer => (void*)_handle.Value;

    /// <summary>The memory as a span of <typeparamref name="T"/> (valid until disposed).</summary>
    public Span<T> AsSpan<T>()
        where T : unmanaged => new(Pointer, (int)(Bytes / sizeof(T)));

    /// <summary>Frees the memory.</summary>
    public void Dispose() => _handle.Dispose();
}

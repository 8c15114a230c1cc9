using System.Runtime.InteropServices;
using Rain.Engine.Interop;

namespace Rain.Engine.Backends.Cuda;

/// <summary>
/// Base of the owning CUDA handles (memory, streams, events, modules, graphs). Dispose frees through the driver with
/// the owner's context current. The finalizer never calls CUDA: by then the context may be gone or the process may be
/// shutting down, and a driver call from the finalizer thread could fail or hang, so a handle that was not disposed is
/// leaked (and counted in <see cref="CudaResources.Leaked"/>); its memory dies with the context. A handle whose
/// context was released first is not freed either: it died with the context.
/// </summary>
internal abstract class CudaHandle : SafeHandle
{
    protected CudaHandle(CudaDevice device)
        : base(0, ownsHandle: true) => Device = device;

    public override bool IsInvalid => handle == 0;

    public CudaDevice Device { get; }

    /// <summary>The raw value; throws when disposed.</summary>
    public nint Value => IsClosed ? throw new ObjectDisposedException(GetType().Name) : handle;

    public void Adopt(nint value)
    {
        SetHandle(value);
        Interlocked.Increment(ref CudaResources.LiveCount);
    }

    protected sealed override bool ReleaseHandle()
    {
        Interlocked.Decrement(ref CudaResources.LiveCount);
        if (!Device.IsAlive)
            return true;
        Device.MakeCurrent();
        return Free(handle) == CudaResult.Success;
    }

    protected abstract CudaResult Free(nint value);

    protected override void Dispose(bool disposing)
    {
        if (!disposing)
        {
            if (!IsInvalid && !IsClosed)
                Interlocked.Increment(ref CudaResources.LeakedCount);
            return;
        }

        base.Dispose(disposing);
    }
}

/// <summary>Counters of CUDA handles, for leak tests and diagnostics.</summary>
internal static class CudaResources
{
    internal static long LiveCount;
    internal static long LeakedCount;

    /// <summary>CUDA handles created and not yet released, process-wide.</summary>
    public static long Live => Interlocked.Read(ref LiveCount);

    /// <summary>CUDA handles that reached a finalizer undisposed and were leaked on purpose (see remarks of the handle types).</summary>
    public static long Leaked => Interlocked.Read(ref LeakedCount);
}

internal sealed class DeviceMemoryHandle(CudaDevice device) : CudaHandle(device)
{
    protected override CudaResult Free(nint value) => CudaDriver.MemFree((ulong)value);
}

internal sealed unsafe class PinnedMemoryHandle(CudaDevice device) : CudaHandle(device)
{
    protected override CudaResult Free(nint value) => CudaDriver.MemFreeHost((void*)value);
}

internal sealed class StreamHandle(CudaDevice device) : CudaHandle(device)
{
    protected override CudaResult Free(nint value) => CudaDriver.StreamDestroy(value);
}

internal sealed class EventHandle(CudaDevice device) : CudaHandle(device)
{
    protected override CudaResult Free(nint value) => CudaDriver.EventDestroy(value);
}

internal sealed class ModuleHandle(CudaDevice device) : CudaHandle(device)
{
    protected override CudaResult Free(nint value) => CudaDriver.ModuleUnload(value);
}

internal sealed class GraphHandle(CudaDevice device) : CudaHandle(device)
{
    protected override CudaResult Free(nint value) => CudaDriver.GraphDestroy(value);
}

internal sealed class GraphExecHandle(CudaDevice device) : CudaHandle(device)
{
    protected override CudaResult Free(nint value) => CudaDriver.GraphExecDestroy(value);
}

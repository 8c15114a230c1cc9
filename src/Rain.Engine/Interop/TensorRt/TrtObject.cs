using System.Runtime.InteropServices;

namespace Rain.Engine.Interop.TensorRt;

/// <summary>
/// A TensorRT object reached through its vtables. Public wrappers are <c>[vptr][mImpl]</c>: calls go to the impl
/// object's vtable with the impl as <c>this</c>; deletion goes through the public object's deleting destructor.
/// Objects with no impl (the ONNX parser) use their own vtable for both. Disposing a parent disposes its children
/// first (context before engine before runtime), so TensorRT never sees a dangling parent. There is no finalizer:
/// an object that is not disposed is leaked rather than deleted on the finalizer thread.
/// </summary>
internal abstract unsafe class TrtObject : IDisposable
{
    private readonly List<TrtObject> _children = [];
    private readonly bool _owned;
    private TrtObject? _parent;
    private bool _disposed;

    protected TrtObject(TrtLibrary library, nint publicPointer, string what, bool hasImpl, bool owned, TrtObject? parent)
    {
        Library = library;
        if (publicPointer == 0)
            throw new TrtException($"TensorRT returned null for {what}; see the TensorRT log messages above for the reason.");
        Public = publicPointer;
        Impl = hasImpl ? ((nint*)publicPointer)[1] : publicPointer;
        if (Impl == 0)
            throw new TrtException($"{what}: the object's implementation pointer is null; this libnvinfer does not match the slot table for TensorRT {library.VersionText}.");
        What = what;
        _owned = owned;
        _parent = parent;
        parent?._children.Add(this);
    }

    public TrtLibrary Library { get; }
    public TrtSlots Slots => Library.Slots;
    public nint Public { get; }
    public nint Impl { get; }
    public string What { get; }
    public bool IsDisposed => _disposed;

    /// <summary>The function at <paramref name="slot"/> of the impl object's vtable.</summary>
    protected nint Slot(int slot)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return (*(nint**)Impl)[slot];
    }

    /// <summary>The <c>getPImpl()</c> round trip: the impl must point back at the public object we hold.</summary>
    protected void CheckPImpl()
    {
        nint back = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint>)Slot(Slots.GetPImpl))(Impl);
        if (back != Public)
            throw new TrtException($"{What}: getPImpl() returned 0x{back:X} instead of 0x{Public:X}; the slot table for TensorRT {Library.VersionText} does not fit this libnvinfer. Refusing to continue.");
    }

    protected static nint Utf8(string s) => Marshal.StringToCoTaskMemUTF8(s);

    protected static void Free(nint p) => Marshal.FreeCoTaskMem(p);

    public void Dispose()
    {
        if (_disposed)
            return;
        for (int i = _children.Count - 1; i >= 0; i--)
            _children[i].Dispose();
        _children.Clear();
        _disposed = true;
        _parent?._children.Remove(this);
        _parent = null;
        if (_owned)
            Delete();
    }

    protected virtual void Delete()
    {
        nint fn = (*(nint**)Public)[Slots.PublicDelete];
        if (Slots.Abi == TrtAbiKind.Msvc)
            ((delegate* unmanaged[Cdecl, MemberFunction]<nint, uint, nint>)fn)(Public, 1);
        else
            ((delegate* unmanaged[Cdecl, MemberFunction]<nint, void>)fn)(Public);
    }
}

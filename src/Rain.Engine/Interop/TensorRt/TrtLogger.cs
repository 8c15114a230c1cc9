using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rain.Engine.Interop.TensorRt;

/// <summary>Severity of a TensorRT log message (<c>ILogger::Severity</c>).</summary>
internal enum TrtSeverity
{
    InternalError = 0,
    Error = 1,
    Warning = 2,
    Info = 3,
    Verbose = 4,
}

/// <summary>
/// A C++ <c>nvinfer1::ILogger</c> implemented in C#: a native object whose first word points to a vtable of
/// <see cref="UnmanagedCallersOnlyAttribute"/> methods, laid out for the loaded major version and ABI (10.x: log,
/// destructors; 11.x: getAPILanguage, getInterfaceInfo, destructors, log). The second word is a GCHandle to this
/// object. Callbacks may come on any thread; they never let an exception escape into TensorRT.
/// Must outlive every runtime, builder and parser created with it.
/// </summary>
internal sealed unsafe class TrtLogger : IDisposable
{
    private static readonly nint InterfaceKind = Marshal.StringToCoTaskMemUTF8("ILogger");
    private readonly nint* _vtable;
    private readonly nint* _object;
    private GCHandle _self;
    private readonly Action<TrtSeverity, string> _sink;
    private int _disposed;

    public TrtLogger(TrtSlots slots, Action<TrtSeverity, string> sink)
    {
        ArgumentNullException.ThrowIfNull(slots);
        _sink = sink ?? throw new ArgumentNullException(nameof(sink));
        _vtable = (nint*)NativeMemory.AllocZeroed((nuint)slots.LoggerVtableLength, (nuint)sizeof(nint));
        for (int i = 0; i < slots.LoggerVtableLength; i++)
            _vtable[i] = (nint)(delegate* unmanaged[Cdecl, MemberFunction]<nint, nint, nint>)&Destructor;
        if (slots.Major >= 11)
        {
            _vtable[0] = (nint)(delegate* unmanaged[Cdecl, MemberFunction]<nint, int>)&GetApiLanguage;
            _vtable[1] = slots.Abi == TrtAbiKind.Itanium
                ? (nint)(delegate* unmanaged[Cdecl, MemberFunction]<nint, InterfaceInfo>)&GetInterfaceInfo
                : (nint)(delegate* unmanaged[Cdecl, MemberFunction]<nint, InterfaceInfo*, InterfaceInfo*>)&GetInterfaceInfoMsvc;
        }

        _vtable[slots.LoggerLog] = (nint)(delegate* unmanaged[Cdecl, MemberFunction]<nint, int, byte*, void>)&Log;
        _self = GCHandle.Alloc(this);
        _object = (nint*)NativeMemory.AllocZeroed(2, (nuint)sizeof(nint));
        _object[0] = (nint)_vtable;
        _object[1] = GCHandle.ToIntPtr(_self);
    }

    /// <summary>The native ILogger pointer to hand to TensorRT.</summary>
    public nint Pointer => (nint)_object;

    /// <summary>Messages received so far (for diagnostics and tests).</summary>
    public int MessageCount => _messageCount;

    private int _messageCount;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        NativeMemory.Free(_object);
        NativeMemory.Free(_vtable);
        _self.Free();
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct InterfaceInfo
    {
        public nint Kind;
        public int Major;
        public int Minor;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl), typeof(CallConvMemberFunction)])]
    private static void Log(nint self, int severity, byte* message)
    {
        try
        {
            var handle = GCHandle.FromIntPtr(((nint*)self)[1]);
            if (handle.Target is TrtLogger logger)
            {
                Interlocked.Increment(ref logger._messageCount);
                logger._sink((TrtSeverity)severity, Marshal.PtrToStringUTF8((nint)message) ?? string.Empty);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An exception must never unwind into TensorRT's C++ frames; a failing sink loses the message.
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl), typeof(CallConvMemberFunction)])]
    private static int GetApiLanguage(nint self) => 0; // APILanguage::kCPP

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl), typeof(CallConvMemberFunction)])]
    private static InterfaceInfo GetInterfaceInfo(nint self) => new() { Kind = InterfaceKind, Major = 1, Minor = 0 };

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl), typeof(CallConvMemberFunction)])]
    private static InterfaceInfo* GetInterfaceInfoMsvc(nint self, InterfaceInfo* result)
    {
        *result = new InterfaceInfo { Kind = InterfaceKind, Major = 1, Minor = 0 };
        return result;
    }

    // TensorRT never deletes a logger it does not own; the slots hold a harmless no-op (returning self for MSVC).
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl), typeof(CallConvMemberFunction)])]
    private static nint Destructor(nint self, nint flags) => self;
}

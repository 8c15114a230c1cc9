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
/// </summary>
/// <remarks>
/// One logger per process (per slot table), made on first use and never freed: TensorRT keeps the first logger it is
/// given as its global logger and may call it after the runtime or builder it came with is gone, so a logger's memory
/// must live as long as the library. Code that wants the messages <see cref="Listen"/>s while it works (every listener
/// sees every message of the process); <see cref="TrtMessages"/> collects errors and warnings that way.
/// </remarks>
internal sealed unsafe class TrtLogger
{
    private static readonly nint InterfaceKind = Marshal.StringToCoTaskMemUTF8("ILogger");
    private static readonly Lock Gate = new();
    private static readonly Dictionary<(int Major, TrtAbiKind Abi), TrtLogger> Loggers = [];
    private readonly nint* _object;
    private Action<TrtSeverity, string>[] _listeners = [];
    private int _messageCount;

    private TrtLogger(TrtSlots slots)
    {
        var vtable = (nint*)NativeMemory.AllocZeroed((nuint)slots.LoggerVtableLength, (nuint)sizeof(nint));
        for (int i = 0; i < slots.LoggerVtableLength; i++)
            vtable[i] = (nint)(delegate* unmanaged[Cdecl, MemberFunction]<nint, nint, nint>)&Destructor;
        if (slots.Major >= 11)
        {
            vtable[0] = (nint)(delegate* unmanaged[Cdecl, MemberFunction]<nint, int>)&GetApiLanguage;
            vtable[1] = slots.Abi == TrtAbiKind.Itanium
                ? (nint)(delegate* unmanaged[Cdecl, MemberFunction]<nint, InterfaceInfo>)&GetInterfaceInfo
                : (nint)(delegate* unmanaged[Cdecl, MemberFunction]<nint, InterfaceInfo*, InterfaceInfo*>)&GetInterfaceInfoMsvc;
        }

        vtable[slots.LoggerLog] = (nint)(delegate* unmanaged[Cdecl, MemberFunction]<nint, int, byte*, void>)&Log;
        _object = (nint*)NativeMemory.AllocZeroed(2, (nuint)sizeof(nint));
        _object[0] = (nint)vtable;
        _object[1] = GCHandle.ToIntPtr(GCHandle.Alloc(this)); // never freed, like the object itself
    }

    /// <summary>The process's logger for <paramref name="slots"/>' layout (made on first use, never freed).</summary>
    public static TrtLogger For(TrtSlots slots)
    {
        ArgumentNullException.ThrowIfNull(slots);
        lock (Gate)
        {
            if (!Loggers.TryGetValue((slots.Major, slots.Abi), out var logger))
                Loggers[(slots.Major, slots.Abi)] = logger = new TrtLogger(slots);
            return logger;
        }
    }

    /// <summary>The native ILogger pointer to hand to TensorRT.</summary>
    public nint Pointer => (nint)_object;

    /// <summary>Messages received so far (for diagnostics and tests).</summary>
    public int MessageCount => _messageCount;

    /// <summary>Delivers every message to <paramref name="sink"/> until the result is disposed (from any thread; a throwing sink loses the message).</summary>
    public IDisposable Listen(Action<TrtSeverity, string> sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        lock (Gate)
            _listeners = [.. _listeners, sink];
        return new Subscription(this, sink);
    }

    private sealed class Subscription(TrtLogger logger, Action<TrtSeverity, string> sink) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
                return;
            lock (Gate)
                logger._listeners = [.. logger._listeners.Where(l => !ReferenceEquals(l, sink))];
        }
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
            if (GCHandle.FromIntPtr(((nint*)self)[1]).Target is not TrtLogger logger)
                return;
            Interlocked.Increment(ref logger._messageCount);
            string text = Marshal.PtrToStringUTF8((nint)message) ?? string.Empty;
            foreach (var sink in Volatile.Read(ref logger._listeners))
            {
                try
                {
                    sink((TrtSeverity)severity, text);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // A failing sink loses the message; the others still get it.
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An exception must never unwind into TensorRT's C++ frames.
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

/// <summary>
/// Collects the process logger's errors and warnings while it lives: errors are taken by the next exception
/// (<see cref="TakeErrors"/>), distinct warnings are kept (at most <see cref="MaxWarnings"/>) for descriptions.
/// </summary>
internal sealed class TrtMessages : IDisposable
{
    public const int MaxWarnings = 16;
    private readonly List<string> _errors = [];
    private readonly List<string> _warnings = [];
    private readonly IDisposable _subscription;

    public TrtMessages(TrtLogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _subscription = logger.Listen(Add);
    }

    /// <summary>The distinct warnings received so far (the first <see cref="MaxWarnings"/>).</summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            lock (_warnings)
                return [.. _warnings];
        }
    }

    /// <summary>The errors since the last call, as "TensorRT: a | b", or "" when there were none.</summary>
    public string TakeErrors()
    {
        lock (_errors)
        {
            string text = _errors.Count == 0 ? "" : $"TensorRT: {string.Join(" | ", _errors)}";
            _errors.Clear();
            return text;
        }
    }

    /// <summary>Forgets the warnings (a new build starts).</summary>
    public void ClearWarnings()
    {
        lock (_warnings)
            _warnings.Clear();
    }

    public void Dispose() => _subscription.Dispose();

    private void Add(TrtSeverity severity, string message)
    {
        if (severity <= TrtSeverity.Error)
        {
            lock (_errors)
                _errors.Add(message);
        }
        else if (severity == TrtSeverity.Warning)
        {
            lock (_warnings)
            {
                if (_warnings.Count < MaxWarnings && !_warnings.Contains(message))
                    _warnings.Add(message);
            }
        }
    }
}

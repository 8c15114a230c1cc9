using System.Runtime.InteropServices;

namespace Rain.Engine.Interop;

/// <summary>
/// NVTX ranges for Nsight Systems without any NVIDIA library: the NVTX v3 injection protocol that NVTX's header-only
/// implementation speaks. A profiler that wants NVTX events (Nsight Systems, CUPTI-based tools) sets
/// <c>NVTX_INJECTION64_PATH</c> to its injection library; we load it through the one resolver, call its
/// <c>InitializeInjectionNvtx2</c> with our export table, and it fills our function-pointer tables. Without that
/// variable (the normal case) <see cref="Current"/> is null and every range costs one null check.
/// </summary>
/// <remarks>
/// Ranges go to the domain "Rain.Engine", with registered strings (names are marshalled once) and a colour per kind.
/// The tables are allocated once per attachment and never freed: the tool keeps pointers into them for the process's
/// life, as it does with NVTX's own globals.
/// </remarks>
internal sealed unsafe class NvtxTool
{
    /// <summary>The variable a profiler sets to its injection library (64-bit processes).</summary>
    public const string InjectionVariable = "NVTX_INJECTION64_PATH";

    // NVTX v3's module ids and table sizes (nvToolsExt's callback ids); slot 0 is invalid in every table.
    private static readonly int[] ModuleSizes = [0, 16, 9, 15, 7, 16, 7]; // CORE, CUDA, OPENCL, CUDART, CORE2, SYNC
    private const int ModuleCore2 = 5;
    private const int Core2MarkEx = 1, Core2RangePushEx = 4, Core2RangePop = 5, Core2RegisterStringA = 10, Core2CreateA = 12;
    private const uint ExportCallbacks = 1, ExportVersionInfo = 3, NvtxVersion = 3;

    private static readonly Lock AttachGate = new();
    private static nint* s_tables; // per module: a table of pointers to slots (the attachment being initialised)
    private static nint s_callbacks, s_versionInfo;
    private static string s_status = "";

    private readonly delegate* unmanaged<nint, EventAttributes*, int> _push;
    private readonly delegate* unmanaged<nint, int> _pop;
    private readonly delegate* unmanaged<nint, EventAttributes*, void> _mark;
    private readonly delegate* unmanaged<nint, byte*, nint> _register;
    private readonly nint _domain;

    private NvtxTool(nint* core2Slots, string library)
    {
        _push = (delegate* unmanaged<nint, EventAttributes*, int>)core2Slots[Core2RangePushEx];
        _pop = (delegate* unmanaged<nint, int>)core2Slots[Core2RangePop];
        _mark = (delegate* unmanaged<nint, EventAttributes*, void>)core2Slots[Core2MarkEx];
        _register = (delegate* unmanaged<nint, byte*, nint>)core2Slots[Core2RegisterStringA];
        var create = (delegate* unmanaged<byte*, nint>)core2Slots[Core2CreateA];
        Library = library;
        fixed (byte* name = "Rain.Engine"u8)
            _domain = create(name);
    }

    /// <summary>The tool the environment attached (NVTX_INJECTION64_PATH), or null: then no range is emitted and none costs anything.</summary>
    public static NvtxTool? Current { get; } = Attach(NativeLibraries.Load(NativeLibraries.NvtxInjection), out s_status);

    /// <summary>What happened to <see cref="Current"/>, in words (for the backend description and logs).</summary>
    public static string Status => s_status;

    /// <summary>The injection library in use.</summary>
    public string Library { get; }

    /// <summary>
    /// Attaches the injection library <paramref name="library"/> resolved (never throws): calls its
    /// <c>InitializeInjectionNvtx2</c> and checks that it filled the domain functions we use.
    /// </summary>
    internal static NvtxTool? Attach(NativeLibraries.LoadResult library, out string status)
    {
        if (!library.Loaded)
        {
            status = library.Trace.Count == 0
                ? $"no NVTX tool attached ({InjectionVariable} is not set)"
                : $"no NVTX tool attached: {InjectionVariable} names a library that does not load ({library.Describe()})";
            return null;
        }

        if (!NativeLibrary.TryGetExport(library.Handle, "InitializeInjectionNvtx2", out nint init))
        {
            status = $"no NVTX tool attached: {library.LoadedFrom} exports no InitializeInjectionNvtx2";
            return null;
        }

        lock (AttachGate)
        {
            s_tables = AllocateTables();
            s_callbacks = (nint)NativeMemory.AllocZeroed(16);
            ((nint*)s_callbacks)[0] = 16; // struct_size
            ((nint*)s_callbacks)[1] = (nint)(delegate* unmanaged<int, nint**, uint*, int>)&GetModuleFunctionTable;
            s_versionInfo = (nint)NativeMemory.AllocZeroed(24);
            ((nint*)s_versionInfo)[0] = 24;
            ((uint*)s_versionInfo)[2] = NvtxVersion;
            ((nint*)s_versionInfo)[2] = (nint)(delegate* unmanaged<uint, void>)&SetInjectionVersion;
            int ok = ((delegate* unmanaged<nint, int>)init)((nint)(delegate* unmanaged<uint, nint>)&GetExportTable);
            nint* core2 = *(nint**)s_tables[(ModuleCore2 * 2) + 1]; // the slots of CORE2
            if (ok == 0)
            {
                status = $"no NVTX tool attached: {library.LoadedFrom}'s InitializeInjectionNvtx2 reported failure";
                return null;
            }

            if (core2[Core2RangePushEx] == 0 || core2[Core2RangePop] == 0 || core2[Core2RegisterStringA] == 0 || core2[Core2CreateA] == 0 || core2[Core2MarkEx] == 0)
            {
                status = $"no NVTX tool attached: {library.LoadedFrom} does not implement NVTX domains (DomainRangePushEx, DomainRangePop, DomainMarkEx, DomainRegisterStringA, DomainCreateA)";
                return null;
            }

            status = $"NVTX ranges go to {library.LoadedFrom} (domain Rain.Engine)";
            return new NvtxTool(core2, library.LoadedFrom!);
        }
    }

    /// <summary>Registers <paramref name="text"/> once; the handle names ranges without marshalling the string again.</summary>
    public nint RegisterString(string text)
    {
        int bytes = System.Text.Encoding.UTF8.GetByteCount(text);
        Span<byte> utf8 = bytes < 512 ? stackalloc byte[bytes + 1] : new byte[bytes + 1];
        System.Text.Encoding.UTF8.GetBytes(text, utf8);
        utf8[bytes] = 0;
        fixed (byte* p = utf8)
            return _register(_domain, p);
    }

    /// <summary>Opens a range on the calling thread (nests; close with <see cref="Pop"/>).</summary>
    public void Push(nint registeredName, uint argb, long payload)
    {
        var a = EventAttributes.Create(registeredName, argb, payload);
        _push(_domain, &a);
    }

    /// <summary>Closes the innermost range of the calling thread.</summary>
    public void Pop() => _pop(_domain);

    /// <summary>An instant marker.</summary>
    public void Mark(nint registeredName, uint argb, long payload)
    {
        var a = EventAttributes.Create(registeredName, argb, payload);
        _mark(_domain, &a);
    }

    // Per module m: s_tables[2m] = the slots (function pointers the tool writes), s_tables[2m+1] = a pointer to the table
    // of slot addresses handed to the tool (entry 0 and the entry after the last are null, as in NVTX's globals).
    private static nint* AllocateTables()
    {
        var tables = (nint*)NativeMemory.AllocZeroed((nuint)(ModuleSizes.Length * 2 * sizeof(nint)));
        for (int m = 1; m < ModuleSizes.Length; m++)
        {
            int size = ModuleSizes[m];
            var slots = (nint*)NativeMemory.AllocZeroed((nuint)((size + 1) * sizeof(nint)));
            var table = (nint*)NativeMemory.AllocZeroed((nuint)((size + 1) * sizeof(nint)));
            for (int i = 1; i < size; i++)
                table[i] = (nint)(slots + i);
            var holder = (nint*)NativeMemory.Alloc((nuint)sizeof(nint));
            *holder = (nint)slots;
            tables[2 * m] = (nint)table;
            tables[(2 * m) + 1] = (nint)holder;
        }

        return tables;
    }

    [UnmanagedCallersOnly]
    private static nint GetExportTable(uint id) => id switch
    {
        ExportCallbacks => s_callbacks,
        ExportVersionInfo => s_versionInfo,
        _ => 0,
    };

    [UnmanagedCallersOnly]
    private static int GetModuleFunctionTable(int module, nint** table, uint* size)
    {
        if (module <= 0 || module >= ModuleSizes.Length)
            return 0;
        if (size != null)
            *size = (uint)ModuleSizes[module];
        if (table != null)
            *table = (nint*)s_tables[2 * module];
        return 1;
    }

    [UnmanagedCallersOnly]
    private static void SetInjectionVersion(uint version)
    {
        // Reserved by NVTX for tools to report their version; nothing to do.
    }

    /// <summary>nvtxEventAttributes_v2 (48 bytes): a registered message, an ARGB colour and a signed 64-bit payload.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct EventAttributes
    {
        public ushort Version;
        public ushort Size;
        public uint Category;
        public int ColorType;
        public uint Color;
        public int PayloadType;
        public int Reserved0;
        public long Payload;
        public int MessageType;
        public int Padding;
        public nint Message;

        public static EventAttributes Create(nint registered, uint argb, long payload) => new()
        {
            Version = (ushort)NvtxVersion,
            Size = 48,
            ColorType = 1, // NVTX_COLOR_ARGB
            Color = argb,
            PayloadType = 2, // NVTX_PAYLOAD_TYPE_INT64
            Payload = payload,
            MessageType = 3, // NVTX_MESSAGE_TYPE_REGISTERED
            Message = registered,
        };
    }
}

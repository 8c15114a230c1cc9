using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Rain.Engine.Api;

namespace Rain.Native;

/// <summary>
/// The functions of include/rain.h. Each one checks its arguments, catches every exception (nothing may unwind into
/// C) and turns failures into a status plus this thread's last-error message (<see cref="Failure"/>).
/// </summary>
internal static unsafe partial class Exports
{
    /// <summary>RAIN_ABI_VERSION of include/rain.h; a test checks the two agree.</summary>
    public const int AbiVersion = 1;

    private static readonly byte* Version = Utf8Static(typeof(Exports).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0");

    private static readonly nint[] StatusNames =
    [
        .. new[]
        {
            "RAIN_OK", "RAIN_ERR_ARGUMENT", "RAIN_ERR_IO", "RAIN_ERR_BUNDLE", "RAIN_ERR_BACKEND_UNAVAILABLE", "RAIN_ERR_SESSION_FAULTED",
            "RAIN_ERR_TIMEOUT", "RAIN_ERR_CLOSED", "RAIN_ERR_BUSY", "RAIN_ERR_INTERNAL",
        }.Select(name => (nint)Utf8Static(name)),
    ];

    private static readonly byte* Unknown = Utf8Static("unknown");

    [UnmanagedCallersOnly(EntryPoint = "rain_version", CallConvs = [typeof(CallConvCdecl)])]
    public static byte* RainVersion() => Version;

    [UnmanagedCallersOnly(EntryPoint = "rain_abi_version", CallConvs = [typeof(CallConvCdecl)])]
    public static int RainAbiVersion() => AbiVersion;

    [UnmanagedCallersOnly(EntryPoint = "rain_last_error", CallConvs = [typeof(CallConvCdecl)])]
    public static byte* RainLastError() => LastError.Pointer;

    [UnmanagedCallersOnly(EntryPoint = "rain_status_name", CallConvs = [typeof(CallConvCdecl)])]
    public static byte* RainStatusName(int status) => (uint)status < (uint)StatusNames.Length ? (byte*)StatusNames[status] : Unknown;

    [UnmanagedCallersOnly(EntryPoint = "rain_engine_load", CallConvs = [typeof(CallConvCdecl)])]
    public static int EngineLoad(byte* bundlePath, byte* optionsJson, nint* output)
    {
        try
        {
            if (output is null)
                return (int)Failure.Report(RainStatus.Argument, "out is NULL.");
            *output = 0;
            if (bundlePath is null)
                return (int)Failure.Report(RainStatus.Argument, "bundle_path is NULL.");
            var options = OptionsJson.Parse(Utf8(optionsJson));
            var engine = RainEngine.Load(Utf8(bundlePath)!, options);
            try
            {
                *output = Handles.Engines.Add(new NativeEngine(engine));
            }
            catch
            {
                engine.Dispose();
                throw;
            }

            return (int)RainStatus.Ok;
        }
        catch (Exception e)
        {
            return (int)Failure.Report(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rain_engine_info", CallConvs = [typeof(CallConvCdecl)])]
    public static int EngineInfo(nint engine, int* width, int* height, int* framesPerStep)
    {
        try
        {
            var e = Handles.Engine(engine).Engine;
            if (width is not null)
                *width = e.Width;
            if (height is not null)
                *height = e.Height;
            if (framesPerStep is not null)
                *framesPerStep = e.FramesPerStep;
            return (int)RainStatus.Ok;
        }
        catch (Exception e)
        {
            return (int)Failure.Report(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rain_engine_backend_json", CallConvs = [typeof(CallConvCdecl)])]
    public static int EngineBackendJson(nint engine, byte* buffer, nuint capacity, nuint* needed)
    {
        try
        {
            if (needed is not null)
                *needed = 0;
            var e = Handles.Engine(engine).Engine;
            return (int)Json.Write(buffer, capacity, needed, w =>
            {
                w.WriteString("backend", e.Options.Backend.ToString());
                w.WriteString("description", e.BackendDescription);
                w.WriteNumber("buffer_bytes", e.BufferBytes);
            });
        }
        catch (Exception e)
        {
            return (int)Failure.Report(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rain_engine_free", CallConvs = [typeof(CallConvCdecl)])]
    public static void EngineFree(nint engine)
    {
        try
        {
            if (Handles.Engines.Remove(engine) is not { } native)
                return;
            lock (native.Gate)
            {
                Handles.Sessions.Remove(native.SessionHandle);
                native.SessionHandle = 0;
            }

            native.Engine.Dispose();
        }
        catch (Exception e)
        {
            Failure.Report(e);
        }
    }

    private static string? Utf8(byte* text) => text is null ? null : Marshal.PtrToStringUTF8((nint)text);

    private static byte* Utf8Static(string text)
    {
        // Static storage for the life of the process: C may keep these pointers forever.
        int length = Encoding.UTF8.GetByteCount(text);
        byte* p = (byte*)NativeMemory.Alloc((nuint)length + 1);
        Encoding.UTF8.GetBytes(text, new Span<byte>(p, length));
        p[length] = 0;
        return p;
    }
}

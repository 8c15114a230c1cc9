using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rain.Engine.Interop;

/// <summary>Raw NVRTC bindings (blittable signatures only). Use <see cref="NvrtcCompiler"/>, not these.</summary>
internal static unsafe partial class Nvrtc
{
    static Nvrtc() => NativeLibraries.EnsureRegistered();

    public const int Success = 0;

    [LibraryImport(NativeLibraries.Nvrtc, EntryPoint = "nvrtcVersion")]
    public static partial int Version(int* major, int* minor);

    [LibraryImport(NativeLibraries.Nvrtc, EntryPoint = "nvrtcGetNumSupportedArchs")]
    public static partial int GetNumSupportedArchs(int* count);

    [LibraryImport(NativeLibraries.Nvrtc, EntryPoint = "nvrtcGetSupportedArchs")]
    public static partial int GetSupportedArchs(int* archs);

    [LibraryImport(NativeLibraries.Nvrtc, EntryPoint = "nvrtcCreateProgram")]
    public static partial int CreateProgram(nint* program, byte* source, byte* name, int numHeaders, byte** headers, byte** includeNames);

    [LibraryImport(NativeLibraries.Nvrtc, EntryPoint = "nvrtcCompileProgram")]
    public static partial int CompileProgram(nint program, int numOptions, byte** options);

    [LibraryImport(NativeLibraries.Nvrtc, EntryPoint = "nvrtcGetProgramLogSize")]
    public static partial int GetProgramLogSize(nint program, nuint* size);

    [LibraryImport(NativeLibraries.Nvrtc, EntryPoint = "nvrtcGetProgramLog")]
    public static partial int GetProgramLog(nint program, byte* log);

    [LibraryImport(NativeLibraries.Nvrtc, EntryPoint = "nvrtcGetPTXSize")]
    public static partial int GetPtxSize(nint program, nuint* size);

    [LibraryImport(NativeLibraries.Nvrtc, EntryPoint = "nvrtcGetPTX")]
    public static partial int GetPtx(nint program, byte* ptx);

    [LibraryImport(NativeLibraries.Nvrtc, EntryPoint = "nvrtcGetCUBINSize")]
    public static partial int GetCubinSize(nint program, nuint* size);

    [LibraryImport(NativeLibraries.Nvrtc, EntryPoint = "nvrtcGetCUBIN")]
    public static partial int GetCubin(nint program, byte* cubin);

    [LibraryImport(NativeLibraries.Nvrtc, EntryPoint = "nvrtcDestroyProgram")]
    public static partial int DestroyProgram(nint* program);

    [LibraryImport(NativeLibraries.Nvrtc, EntryPoint = "nvrtcGetErrorString")]
    public static partial byte* GetErrorString(int result);

    /// <summary>The error choke point: throws <see cref="NvrtcException"/> naming the call when NVRTC failed.</summary>
    public static void ThrowIfFailed(int result, [CallerArgumentExpression(nameof(result))] string call = "")
    {
        if (result != Success)
            throw new NvrtcException(result, call, Describe(result));
    }

    public static string Describe(int result)
    {
        byte* text = GetErrorString(result);
        return text == null ? $"NVRTC error {result}" : Marshal.PtrToStringUTF8((nint)text) ?? $"NVRTC error {result}";
    }
}

/// <summary>An NVRTC call failed, or NVRTC could not be loaded.</summary>
internal sealed class NvrtcException : RainException
{
    /// <summary>Creates the exception for a failed call.</summary>
    public NvrtcException(int result, string call, string description)
        : base(RainErrorCategory.DeviceFault, $"{call} failed: {description} (nvrtcResult {result}).") => Result = result;

    /// <summary>Creates the exception with a message (NVRTC missing, compile log).</summary>
    public NvrtcException(string message)
        : base(RainErrorCategory.DeviceFault, message) => Result = -1;

    /// <summary>Creates the exception with a message.</summary>
    public NvrtcException()
        : base(RainErrorCategory.DeviceFault, "NVRTC failed.") => Result = -1;

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public NvrtcException(string message, Exception innerException)
        : base(RainErrorCategory.DeviceFault, message, innerException) => Result = -1;

    /// <summary>The nvrtcResult, or −1 when the failure was not a call's result.</summary>
    public int Result { get; }
}

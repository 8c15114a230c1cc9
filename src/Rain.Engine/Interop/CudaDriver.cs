using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

[assembly: DisableRuntimeMarshalling]

namespace Rain.Engine.Interop;

/// <summary>
/// Raw CUDA driver API bindings: the calls the engine uses, blittable signatures only (handles as nint, device
/// pointers as ulong, strings as byte*). The idiomatic layer is Rain.Engine.Backends.Cuda.
/// </summary>
internal static unsafe partial class CudaDriver
{
    static CudaDriver() => NativeLibraries.EnsureRegistered();

    public const int Success = 0;
    public const int ErrorNoDevice = 100;
    public const int ErrorNotReady = 600;
    public const int ErrorGraphExecUpdateFailure = 910;
    public const int DeviceAttributeMaxSharedMemoryPerBlock = 8;
    public const int DeviceAttributeMultiprocessorCount = 16;
    public const int DeviceAttributeComputeCapabilityMajor = 75;
    public const int DeviceAttributeComputeCapabilityMinor = 76;
    public const uint CtxSchedBlockingSync = 0x04;
    public const uint CtxSchedMask = 0x07;
    public const int StreamNonBlocking = 1;
    public const int StreamCaptureModeThreadLocal = 1;
    public const int EventDefault = 0;
    public const int JitErrorLogBuffer = 5;
    public const int JitErrorLogBufferSizeBytes = 6;

    /// <summary>CUgraphExecUpdateResultInfo.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct GraphExecUpdateResultInfo
    {
        public int Result;
        public nint ErrorNode;
        public nint ErrorFromNode;
    }

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuInit")]
    public static partial int Init(uint flags);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDriverGetVersion")]
    public static partial int DriverGetVersion(int* version);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDeviceGetCount")]
    public static partial int DeviceGetCount(int* count);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDeviceGet")]
    public static partial int DeviceGet(int* device, int ordinal);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDeviceGetName")]
    public static partial int DeviceGetName(byte* name, int length, int device);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDeviceGetAttribute")]
    public static partial int DeviceGetAttribute(int* value, int attribute, int device);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDeviceTotalMem_v2")]
    public static partial int DeviceTotalMem(nuint* bytes, int device);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDevicePrimaryCtxRetain")]
    public static partial int DevicePrimaryCtxRetain(nint* context, int device);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDevicePrimaryCtxSetFlags_v2")]
    public static partial int DevicePrimaryCtxSetFlags(int device, uint flags);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDevicePrimaryCtxGetState")]
    public static partial int DevicePrimaryCtxGetState(int device, uint* flags, int* active);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDevicePrimaryCtxRelease_v2")]
    public static partial int DevicePrimaryCtxRelease(int device);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuCtxSetCurrent")]
    public static partial int CtxSetCurrent(nint context);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuCtxGetCurrent")]
    public static partial int CtxGetCurrent(nint* context);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuCtxSynchronize")]
    public static partial int CtxSynchronize();

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemAlloc_v2")]
    public static partial int MemAlloc(ulong* pointer, nuint bytes);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemFree_v2")]
    public static partial int MemFree(ulong pointer);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemHostAlloc")]
    public static partial int MemHostAlloc(void** pointer, nuint bytes, uint flags);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemFreeHost")]
    public static partial int MemFreeHost(void* pointer);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyHtoD_v2")]
    public static partial int MemcpyHtoD(ulong destination, void* source, nuint bytes);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyDtoH_v2")]
    public static partial int MemcpyDtoH(void* destination, ulong source, nuint bytes);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyDtoD_v2")]
    public static partial int MemcpyDtoD(ulong destination, ulong source, nuint bytes);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyHtoDAsync_v2")]
    public static partial int MemcpyHtoDAsync(ulong destination, void* source, nuint bytes, nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyDtoHAsync_v2")]
    public static partial int MemcpyDtoHAsync(void* destination, ulong source, nuint bytes, nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyDtoDAsync_v2")]
    public static partial int MemcpyDtoDAsync(ulong destination, ulong source, nuint bytes, nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemsetD8_v2")]
    public static partial int MemsetD8(ulong destination, byte value, nuint count);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemsetD32_v2")]
    public static partial int MemsetD32(ulong destination, uint value, nuint count);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemsetD8Async")]
    public static partial int MemsetD8Async(ulong destination, byte value, nuint count, nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemsetD32Async")]
    public static partial int MemsetD32Async(ulong destination, uint value, nuint count, nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuStreamCreate")]
    public static partial int StreamCreate(nint* stream, uint flags);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuStreamDestroy_v2")]
    public static partial int StreamDestroy(nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuStreamSynchronize")]
    public static partial int StreamSynchronize(nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuEventCreate")]
    public static partial int EventCreate(nint* cudaEvent, uint flags);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuEventRecord")]
    public static partial int EventRecord(nint cudaEvent, nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuEventSynchronize")]
    public static partial int EventSynchronize(nint cudaEvent);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuEventElapsedTime")]
    public static partial int EventElapsedTime(float* milliseconds, nint start, nint end);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuEventDestroy_v2")]
    public static partial int EventDestroy(nint cudaEvent);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuModuleLoadData")]
    public static partial int ModuleLoadData(nint* module, void* image);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuModuleLoadDataEx")]
    public static partial int ModuleLoadDataEx(nint* module, void* image, uint numOptions, int* options, void** optionValues);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuModuleUnload")]
    public static partial int ModuleUnload(nint module);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuModuleGetFunction")]
    public static partial int ModuleGetFunction(nint* function, nint module, byte* name);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuLaunchKernel")]
    public static partial int LaunchKernel(
        nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedBytes, nint stream, void** parameters, void** extra);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuStreamBeginCapture_v2")]
    public static partial int StreamBeginCapture(nint stream, int mode);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuStreamEndCapture")]
    public static partial int StreamEndCapture(nint stream, nint* graph);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuGraphInstantiateWithFlags")]
    public static partial int GraphInstantiateWithFlags(nint* graphExec, nint graph, ulong flags);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuGraphLaunch")]
    public static partial int GraphLaunch(nint graphExec, nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuGraphExecUpdate_v2")]
    public static partial int GraphExecUpdate(nint graphExec, nint graph, GraphExecUpdateResultInfo* resultInfo);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuGraphExecDestroy")]
    public static partial int GraphExecDestroy(nint graphExec);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuGraphDestroy")]
    public static partial int GraphDestroy(nint graph);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuGetErrorName")]
    public static partial int GetErrorName(int error, byte** name);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuGetErrorString")]
    public static partial int GetErrorString(int error, byte** text);

    /// <summary>The error choke point: throws <see cref="Backends.Cuda.CudaException"/> naming the failing call.</summary>
    public static void ThrowIfFailed(int result, [CallerArgumentExpression(nameof(result))] string call = "")
    {
        if (result != Success)
            throw new Backends.Cuda.CudaException(result, ErrorName(result), call, ErrorText(result));
    }

    public static string ErrorName(int result)
    {
        byte* name = null;
        return GetErrorName(result, &name) == Success && name != null ? Marshal.PtrToStringUTF8((nint)name) ?? "" : $"CUresult {result}";
    }

    public static string ErrorText(int result)
    {
        byte* text = null;
        return GetErrorString(result, &text) == Success && text != null ? Marshal.PtrToStringUTF8((nint)text) ?? "" : "unknown error";
    }
}

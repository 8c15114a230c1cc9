using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rain.Engine.Interop;

/// <summary>
/// CUresult: what every CUDA driver call returns (the values the engine tests for by name; any other is an error that
/// <see cref="CudaDriver.ThrowIfFailed"/> names through cuGetErrorName).
/// </summary>
internal enum CudaResult
{
    /// <summary>CUDA_SUCCESS.</summary>
    Success = 0,

    /// <summary>CUDA_ERROR_INVALID_VALUE.</summary>
    ErrorInvalidValue = 1,

    /// <summary>CUDA_ERROR_OUT_OF_MEMORY.</summary>
    ErrorOutOfMemory = 2,

    /// <summary>CUDA_ERROR_NOT_INITIALIZED.</summary>
    ErrorNotInitialized = 3,

    /// <summary>CUDA_ERROR_NO_DEVICE.</summary>
    ErrorNoDevice = 100,

    /// <summary>CUDA_ERROR_INVALID_HANDLE.</summary>
    ErrorInvalidHandle = 400,

    /// <summary>CUDA_ERROR_NOT_FOUND (a kernel name not in the module).</summary>
    ErrorNotFound = 500,

    /// <summary>CUDA_ERROR_NOT_READY (an event or stream still running).</summary>
    ErrorNotReady = 600,

    /// <summary>CUDA_ERROR_ILLEGAL_ADDRESS.</summary>
    ErrorIllegalAddress = 700,

    /// <summary>CUDA_ERROR_LAUNCH_FAILED.</summary>
    ErrorLaunchFailed = 719,

    /// <summary>CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED.</summary>
    ErrorStreamCaptureUnsupported = 900,

    /// <summary>CUDA_ERROR_STREAM_CAPTURE_INVALIDATED.</summary>
    ErrorStreamCaptureInvalidated = 901,

    /// <summary>CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE (the update is refused; instantiate again).</summary>
    ErrorGraphExecUpdateFailure = 910,
}

/// <summary>
/// Raw CUDA driver API bindings: the calls the engine uses, blittable signatures only (handles as nint, device
/// pointers as ulong, strings as byte*). The idiomatic layer is Rain.Engine.Backends.Cuda.
/// </summary>
internal static unsafe partial class CudaDriver
{
    static CudaDriver() => NativeLibraries.EnsureRegistered();

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
    public static partial CudaResult Init(uint flags);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDriverGetVersion")]
    public static partial CudaResult DriverGetVersion(int* version);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDeviceGetCount")]
    public static partial CudaResult DeviceGetCount(int* count);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDeviceGet")]
    public static partial CudaResult DeviceGet(int* device, int ordinal);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDeviceGetName")]
    public static partial CudaResult DeviceGetName(byte* name, int length, int device);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDeviceGetAttribute")]
    public static partial CudaResult DeviceGetAttribute(int* value, int attribute, int device);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDeviceTotalMem_v2")]
    public static partial CudaResult DeviceTotalMem(nuint* bytes, int device);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDevicePrimaryCtxRetain")]
    public static partial CudaResult DevicePrimaryCtxRetain(nint* context, int device);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDevicePrimaryCtxSetFlags_v2")]
    public static partial CudaResult DevicePrimaryCtxSetFlags(int device, uint flags);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDevicePrimaryCtxGetState")]
    public static partial CudaResult DevicePrimaryCtxGetState(int device, uint* flags, int* active);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDevicePrimaryCtxRelease_v2")]
    public static partial CudaResult DevicePrimaryCtxRelease(int device);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuCtxSetCurrent")]
    public static partial CudaResult CtxSetCurrent(nint context);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuCtxGetCurrent")]
    public static partial CudaResult CtxGetCurrent(nint* context);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuCtxSynchronize")]
    public static partial CudaResult CtxSynchronize();

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemAlloc_v2")]
    public static partial CudaResult MemAlloc(ulong* pointer, nuint bytes);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemFree_v2")]
    public static partial CudaResult MemFree(ulong pointer);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemHostAlloc")]
    public static partial CudaResult MemHostAlloc(void** pointer, nuint bytes, uint flags);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemFreeHost")]
    public static partial CudaResult MemFreeHost(void* pointer);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyHtoD_v2")]
    public static partial CudaResult MemcpyHtoD(ulong destination, void* source, nuint bytes);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyDtoH_v2")]
    public static partial CudaResult MemcpyDtoH(void* destination, ulong source, nuint bytes);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyDtoD_v2")]
    public static partial CudaResult MemcpyDtoD(ulong destination, ulong source, nuint bytes);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyHtoDAsync_v2")]
    public static partial CudaResult MemcpyHtoDAsync(ulong destination, void* source, nuint bytes, nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyDtoHAsync_v2")]
    public static partial CudaResult MemcpyDtoHAsync(void* destination, ulong source, nuint bytes, nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyDtoDAsync_v2")]
    public static partial CudaResult MemcpyDtoDAsync(ulong destination, ulong source, nuint bytes, nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemsetD8_v2")]
    public static partial CudaResult MemsetD8(ulong destination, byte value, nuint count);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemsetD32_v2")]
    public static partial CudaResult MemsetD32(ulong destination, uint value, nuint count);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemsetD8Async")]
    public static partial CudaResult MemsetD8Async(ulong destination, byte value, nuint count, nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemsetD32Async")]
    public static partial CudaResult MemsetD32Async(ulong destination, uint value, nuint count, nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuStreamCreate")]
    public static partial CudaResult StreamCreate(nint* stream, uint flags);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuStreamDestroy_v2")]
    public static partial CudaResult StreamDestroy(nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuStreamSynchronize")]
    public static partial CudaResult StreamSynchronize(nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuEventCreate")]
    public static partial CudaResult EventCreate(nint* cudaEvent, uint flags);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuEventRecord")]
    public static partial CudaResult EventRecord(nint cudaEvent, nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuEventSynchronize")]
    public static partial CudaResult EventSynchronize(nint cudaEvent);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuEventElapsedTime")]
    public static partial CudaResult EventElapsedTime(float* milliseconds, nint start, nint end);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuEventDestroy_v2")]
    public static partial CudaResult EventDestroy(nint cudaEvent);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuModuleLoadData")]
    public static partial CudaResult ModuleLoadData(nint* module, void* image);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuModuleLoadDataEx")]
    public static partial CudaResult ModuleLoadDataEx(nint* module, void* image, uint numOptions, int* options, void** optionValues);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuModuleUnload")]
    public static partial CudaResult ModuleUnload(nint module);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuModuleGetFunction")]
    public static partial CudaResult ModuleGetFunction(nint* function, nint module, byte* name);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuLaunchKernel")]
    public static partial CudaResult LaunchKernel(
        nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedBytes, nint stream, void** parameters, void** extra);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuStreamBeginCapture_v2")]
    public static partial CudaResult StreamBeginCapture(nint stream, int mode);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuStreamEndCapture")]
    public static partial CudaResult StreamEndCapture(nint stream, nint* graph);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuGraphInstantiateWithFlags")]
    public static partial CudaResult GraphInstantiateWithFlags(nint* graphExec, nint graph, ulong flags);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuGraphLaunch")]
    public static partial CudaResult GraphLaunch(nint graphExec, nint stream);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuGraphExecUpdate_v2")]
    public static partial CudaResult GraphExecUpdate(nint graphExec, nint graph, GraphExecUpdateResultInfo* resultInfo);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuGraphExecDestroy")]
    public static partial CudaResult GraphExecDestroy(nint graphExec);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuGraphDestroy")]
    public static partial CudaResult GraphDestroy(nint graph);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuGetErrorName")]
    public static partial CudaResult GetErrorName(CudaResult error, byte** name);

    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuGetErrorString")]
    public static partial CudaResult GetErrorString(CudaResult error, byte** text);

    /// <summary>The error choke point: throws <see cref="CudaException"/> (a <see cref="RainException"/>, <see cref="RainErrorCategory.DeviceFault"/>) naming the failing call.</summary>
    public static void ThrowIfFailed(CudaResult result, [CallerArgumentExpression(nameof(result))] string call = "")
    {
        if (result != CudaResult.Success)
            throw new CudaException((int)result, ErrorName(result), call, ErrorText(result));
    }

    public static string ErrorName(CudaResult result)
    {
        byte* name = null;
        return GetErrorName(result, &name) == CudaResult.Success && name != null ? Marshal.PtrToStringUTF8((nint)name) ?? "" : $"CUresult {result}";
    }

    public static string ErrorText(CudaResult result)
    {
        byte* text = null;
        return GetErrorString(result, &text) == CudaResult.Success && text != null ? Marshal.PtrToStringUTF8((nint)text) ?? "" : "unknown error";
    }
}

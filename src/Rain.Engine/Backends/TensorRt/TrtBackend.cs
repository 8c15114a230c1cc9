using Rain.Engine.Api;
using Rain.Engine.Backends.Cuda;
using Rain.Engine.Media;

namespace Rain.Engine.Backends.TensorRt;

/// <summary>
/// The TensorRT backend: the CUDA device, our kernels, every part's plan deserialized once (<see cref="TrtEngineSet"/>)
/// and the stream on them (<see cref="TrtPipeline"/>), made after <see cref="TrtBackendProbe"/> found TensorRT, the GPU
/// and current plans. Disposes in reverse: the pipeline, the engines, the kernels, the device.
/// </summary>
internal sealed class TrtBackend : IStreamBackend
{
    private readonly CudaDevice _device;
    private readonly CudaKernels _kernels;
    private readonly TrtEngineSet _engines;
    private readonly TrtPipeline _pipeline;
    private readonly string _what;

    public TrtBackend(TrtBackendTarget target, EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(options);
        _device = CudaDevice.Open(target.Gpu.Ordinal);
        using (var built = new Owned(this))
        {
            _kernels = new CudaKernels(_device);
            _engines = target.OpenEngines();
            _pipeline = new TrtPipeline(target.Bundle, target.UNet, _engines, _device, _kernels, options.Seed, options.UseCudaGraph);
            built.Commit();
        }

        _what = $"TensorRT {target.Library.VersionText} {target.Index.Precision.ToUpperInvariant()} plans, UNet {DescribeUNet(target.UNet)} ({target.PlanFolder}) on CUDA device {_device.Ordinal}, " +
            $"{_device.Capability.DeviceName} (SM {_device.ComputeCapability / 10}.{_device.ComputeCapability % 10}, host waits: {_device.HostWait})";
    }

    public long BufferBytes => _pipeline.BufferBytes;

    private static string DescribeUNet(UNetLayout unet) => unet.Form == UNetForm.Whole ? "whole (one engine)"
        : $"cut ({unet.Parts.Count} engines, {(unet.Fp16 ? "fp16" : "fp32")} cut tensors, our attention kernel between them)";

    /// <summary>
    /// The TensorRT version, precision, plans and GPU, whether the step runs as a CUDA graph (known after the first
    /// emitting steps) or why not, and the warnings TensorRT logged while loading and running the engines.
    /// </summary>
    public string Description
    {
        get
        {
            var driver = _pipeline.Driver;
            string graph = driver.IsCaptured ? "each step replays one captured CUDA graph"
                : driver.CaptureFailure is { } failure ? $"steps enqueued part by part: the CUDA graph capture failed ({failure})"
                : !driver.UsesGraph ? "steps enqueued part by part (CUDA graphs off)"
                : "the step is captured as one CUDA graph once every engine has run (the step after the first emitting one)";
            var warnings = _engines.Warnings;
            string nvtx = Interop.NvtxTool.Current is null ? "" : $"; {Interop.NvtxTool.Status}";
            return $"{_what}; {graph}{nvtx}{(warnings.Count > 0 ? $"; TensorRT warnings: {string.Join(" | ", warnings)}" : "")}";
        }
    }

    /// <summary>The stream (tests and the GPU check read its driver's capture state).</summary>
    public TrtPipeline Pipeline => _pipeline;

    public IStreamer Start(RgbImage reference, StageTimings timings)
    {
        _pipeline.SetReference(reference); // restarts the stream from the clean start
        _pipeline.Timings = timings;
        return _pipeline;
    }

    public void Dispose()
    {
        _pipeline?.Dispose();
        _engines?.Dispose();
        _kernels?.Dispose();
        _device.Dispose();
    }
}

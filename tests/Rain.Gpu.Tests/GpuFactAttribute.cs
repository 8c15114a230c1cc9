using Rain.Engine.Backends.Cuda;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Rain.Gpu.Tests;

/// <summary>A fact that needs a CUDA GPU: reported Skipped, with the probe's reason, where there is none.</summary>
public sealed class GpuFactAttribute : FactAttribute
{
    public GpuFactAttribute()
    {
        if (!Gpu.Capability.Available)
            Skip = $"No usable CUDA GPU: {Gpu.Capability.Reason}.";
    }
}

/// <summary>A theory that needs a CUDA GPU: every row reported Skipped, with the probe's reason, where there is none.</summary>
public sealed class GpuTheoryAttribute : TheoryAttribute
{
    public GpuTheoryAttribute()
    {
        if (!Gpu.Capability.Available)
            Skip = $"No usable CUDA GPU: {Gpu.Capability.Reason}.";
    }
}

/// <summary>The device shared by the GPU tests (opened once, kept for the process: opening a primary context is slow).</summary>
internal static class Gpu
{
    private static readonly Lazy<CudaDevice> Opened = new(() => CudaDevice.Open());

    public static CudaCapability Capability { get; } = CudaDevice.Probe();

    public static CudaDevice Device => Opened.Value;
}

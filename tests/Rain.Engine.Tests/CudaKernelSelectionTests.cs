using Rain.Engine.Backends.Cuda;

namespace Rain.Engine.Tests;

public sealed class CudaKernelSelectionTests
{
    [Theory]
    [InlineData(90, "sm_90")]        // a known SM: CUBIN
    [InlineData(120, "compute_90")]  // newer than NVRTC 11.8 knows: PTX for the newest known, JIT-compiled forward
    [InlineData(88, "compute_87")]  // an SM between known ones
    [InlineData(70, null)]           // older than anything NVRTC offers
    public void RunTimeNvrtcCompilesCubinForAKnownSmElsePtxForTheNewestBelow(int sm, string? expected)
    {
        int[] nvrtc118 = [75, 80, 86, 87, 89, 90];
        Assert.Equal(expected, CudaKernels.RunTimeTarget(sm, nvrtc118));
    }
}

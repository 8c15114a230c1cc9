using Rain.Gpu.Checks;
using Xunit.Abstractions;

namespace Rain.Gpu.Tests;

public sealed class KernelTests(ITestOutputHelper output)
{
    [GpuFact]
    public void NoiseIsBitIdenticalToCounterNoise() => output.WriteLine(KernelChecks.Noise(Gpu.Device));

    [GpuFact]
    public void CrossNoiseAttentionMatchesTheCpuReference() => output.WriteLine(KernelChecks.Attention(Gpu.Device));

    [GpuFact]
    public void CrossNoiseAttentionOnFloat32StorageMatchesTheCpuReference() => output.WriteLine(KernelChecks.AttentionFloat32(Gpu.Device));

    [GpuFact]
    public void BaselineAttentionMatchesTheCpuReference() => output.WriteLine(KernelChecks.Attention(Gpu.Device, baseline: true));

    [GpuFact]
    public void LcmStepRollMatchesLcmStepStepRoll() => output.WriteLine(KernelChecks.LcmStepRoll(Gpu.Device));

    [GpuFact]
    public void FrameConversionIsBitIdenticalToTheCpuReference() => output.WriteLine(KernelChecks.FrameConversion(Gpu.Device));
}

public sealed class StepDriverTests(ITestOutputHelper output)
{
    [GpuFact]
    public void GraphReplayEqualsEagerAndFollowsStreamState() => output.WriteLine(StepChecks.GraphVersusEager(Gpu.Device));

    [GpuFact]
    public void GraphsReplayDeviceValuesAndUpdateInPlace() => output.WriteLine(StepChecks.GraphUpdate(Gpu.Device));

    [GpuFact]
    public void APartRefusingCaptureLeavesTheStepUncaptured() => output.WriteLine(StepChecks.CaptureFallback(Gpu.Device));

    [GpuFact]
    public void TheStepTakesUint8PosesAndGivesFloat32FramesForTensorRt() => output.WriteLine(StepChecks.TensorRtIo(Gpu.Device));

    [GpuFact]
    public void EveryHandleIsReleased() => output.WriteLine(StepChecks.Leaks(Gpu.Device));

    [GpuFact]
    public void HostThreadsWaitForTheDeviceWithBlockingSync() => output.WriteLine(StepChecks.HostWait(Gpu.Device));
}

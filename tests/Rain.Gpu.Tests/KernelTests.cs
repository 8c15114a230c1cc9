using Rain.Gpu.Checks;
using Rain.Kernels.Cases;
using Xunit.Abstractions;

namespace Rain.Gpu.Tests;

/// <summary>The kernel test table (<see cref="KernelCases"/>) on the GPU, one test per row, as on the host emulation.</summary>
public sealed class KernelTests(ITestOutputHelper output)
{
    public static TheoryData<string> Rows => [.. KernelCases.All.Select(r => r.Name)];

    [GpuTheory]
    [MemberData(nameof(Rows))]
    public void TheKernelMatchesItsReferenceOnTheGpu(string row) => output.WriteLine($"{row}: max |err| {KernelChecks.Row(Gpu.Device, row):E2}");
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

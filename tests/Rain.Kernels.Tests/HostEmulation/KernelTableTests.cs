using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rain.Kernels.Cases;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Kernels.Tests.HostEmulation;

/// <summary>
/// The kernel test table (<see cref="KernelCases"/>) on the host emulation: the kernel sources executed on the CPU
/// (<see cref="HostKernels"/>) through their launchers, against the CPU references, on every machine with g++. This is
/// where the noise kernel's transcription of the reference (constants, operation order, fused multiply-adds) is proven
/// bit for bit and where the launchers' grids, shared-memory sizes and argument order are proven to fit the kernels.
/// The same rows run on the fake CUDA driver and on a GPU.
/// </summary>
public sealed class KernelTableTests(ITestOutputHelper output)
{
    public static TheoryData<string> Rows => [.. KernelCases.All.Select(r => r.Name)];

    [SkippableTheory]
    [MemberData(nameof(Rows))]
    public void TheKernelMatchesItsReferenceOnTheHostEmulation(string row)
    {
        Requires.Tool(HostKernels.IsAvailable(out string problem), problem);
        var c = KernelCases.Named(row).Create();
        double worst = KernelCaseRunner.Run(c, HostExecutor.Instance);
        output.WriteLine($"{c.Name}: max |err| {worst:E2}");
    }

    /// <summary>The host emulation as an executor.</summary>
    internal static IKernelExecutor Host => HostExecutor.Instance;

    [Fact]
    public void TheTableCoversEveryOpWithUniqueRows()
    {
        Assert.Equal(KernelImages.Ops.Order(StringComparer.Ordinal), KernelCases.All.Select(r => r.Op).Distinct().Order(StringComparer.Ordinal));
        Assert.Equal(KernelCases.All.Count, KernelCases.All.Select(r => r.Name).Distinct().Count());
    }

    /// <summary>"Device" memory is pinned host memory; launches run through the host emulation.</summary>
    private sealed class HostExecutor : IKernelExecutor
    {
        public static readonly HostExecutor Instance = new();

        public string Name => "host emulation";

        public IKernelMemory Allocate(int bytes) => new Memory(bytes);

        public void Run(IReadOnlyList<KernelLaunch> launches)
        {
            foreach (var launch in launches)
                HostKernels.Run(launch);
        }

        private sealed class Memory : IKernelMemory
        {
            private readonly byte[] _pinned;
            private readonly int _start, _bytes;

            public Memory(int bytes)
            {
                _pinned = GC.AllocateArray<byte>(bytes + 16, pinned: true);
                _start = (int)((16 - (Base % 16)) % 16);
                _bytes = bytes;
            }

            public ulong Address => Base + (ulong)_start;

            private unsafe ulong Base => (ulong)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_pinned));

            public void Write(ReadOnlySpan<byte> bytes) => bytes.CopyTo(_pinned.AsSpan(_start, _bytes));

            public void Read(Span<byte> bytes) => _pinned.AsSpan(_start, _bytes).CopyTo(bytes);

            public void Dispose()
            {
            }
        }
    }
}

/// <summary>The runner itself fails where a kernel misbehaves: real kernels launched wrongly on purpose.</summary>
public sealed class KernelCaseRunnerTests
{
    private static KernelCase NoiseRow() => KernelCases.All.First(r => r.Op == Noise.Op && r.Name.Contains("count=1001", StringComparison.Ordinal)).Create();

    [SkippableFact]
    public void AnElementLeftUnwrittenFails()
    {
        Requires.Tool(HostKernels.IsAvailable(out string problem), problem);
        var c = NoiseRow();
        var e = Assert.Throws<CheckFailedException>(() => KernelCaseRunner.Run(c with { Launch = a => [Noise.Launch(0xDEADBEEFCAFEUL, a[0], 5, 2, 5, 1000, a[1], a[2])] }, KernelTableTestsExecutor()));
        Assert.Contains("output32[1000]", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void AWritePastTheEndFails()
    {
        Requires.Tool(HostKernels.IsAvailable(out string problem), problem);
        var c = NoiseRow();
        var e = Assert.Throws<CheckFailedException>(() => KernelCaseRunner.Run(c with { Launch = a => [Noise.Launch(0xDEADBEEFCAFEUL, a[0], 5, 2, 5, 1002, a[1], a[2])] }, KernelTableTestsExecutor()));
        Assert.Contains("wrote outside output32", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void AWrongValueFailsAndAWrongEntryPointFails()
    {
        Requires.Tool(HostKernels.IsAvailable(out string problem), problem);
        var c = NoiseRow();
        var e = Assert.Throws<CheckFailedException>(() => KernelCaseRunner.Run(c with { Launch = a => [Noise.Launch(0xDEADBEEFCAFEUL, a[0], 5, 1, 5, 1001, a[1], a[2])] }, KernelTableTestsExecutor()));
        Assert.Contains("output32[0]", e.Message, StringComparison.Ordinal);
        Assert.Contains("bit-identical required", e.Message, StringComparison.Ordinal);
        var attention = KernelCases.Named("cross_noise_attention F=16 N=5 C=320 heads=8 Auto @0").Create();
        var e2 = Assert.Throws<CheckFailedException>(() => KernelCaseRunner.Run(attention with { Entry = "cross_noise_attention_vec8" }, KernelTableTestsExecutor()));
        Assert.Contains("picked cross_noise_attention_mma", e2.Message, StringComparison.Ordinal);
    }

    private static IKernelExecutor KernelTableTestsExecutor() => KernelTableTests.Host;
}

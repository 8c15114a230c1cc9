using System.Runtime.InteropServices;
using Rain.Engine.Backends.Cuda;
using Rain.Kernels;
using Rain.Kernels.Cases;

namespace Rain.Gpu.Checks;

/// <summary>
/// The kernel test table (<see cref="KernelCases"/>) on a CUDA device: a GPU, or the fake driver whose kernels run in
/// the host emulation. Each group check runs the table's rows of one op and returns a one-line summary; a row that
/// fails throws <see cref="CheckFailedException"/>.
/// </summary>
internal static class KernelChecks
{
    public static string Noise(CudaDevice device) => Group(device, "noise");

    public static string Attention(CudaDevice device, bool baseline = false) => Group(device, baseline ? "bench_baseline" : "cross_noise_attention");

    public static string AttentionFloat32(CudaDevice device) => Group(device, "cross_noise_attention fp32");

    public static string LcmStepRoll(CudaDevice device) => Group(device, "lcm_step_roll");

    public static string FrameConversion(CudaDevice device) => Group(device, "frame_convert");

    /// <summary>Runs every row of <paramref name="group"/>.</summary>
    public static string Group(CudaDevice device, string group)
    {
        using var executor = new CudaExecutor(device);
        double worst = 0;
        var entries = new SortedSet<string>(StringComparer.Ordinal);
        var rows = KernelCases.All.Where(r => r.Group == group).ToArray();
        bool exact = true;
        foreach (var row in rows)
        {
            var c = row.Create();
            worst = Math.Max(worst, KernelCaseRunner.Run(c, executor));
            entries.UnionWith(executor.LastEntries);
            exact &= c.Tensors.All(t => t.Matches.All(m => m.IsExact));
        }

        return $"{group}: {rows.Length} cases ({string.Join(", ", entries)}) {(exact ? "bit-identical to the CPU reference" : $"within tolerance of the CPU reference (max |err| {worst:E2})")}";
    }

    /// <summary>Runs one row.</summary>
    public static double Row(CudaDevice device, string name)
    {
        using var executor = new CudaExecutor(device);
        return KernelCaseRunner.Run(KernelCases.Named(name).Create(), executor);
    }

    internal static DeviceBuffer Up<T>(CudaDevice device, T[] values)
        where T : unmanaged
    {
        var buffer = device.Allocate((long)values.Length * Marshal.SizeOf<T>());
        buffer.Upload<T>(values);
        return buffer;
    }

    internal static ushort[] RandomHalves(Random random, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => BitConverter.HalfToUInt16Bits((Half)((random.NextSingle() * 4) - 2)))];

    internal static float[] ToFloats(ushort[] halves) => [.. halves.Select(h => (float)BitConverter.UInt16BitsToHalf(h))];

    /// <summary>Device memory from cuMemAlloc, launches through <see cref="CudaKernels"/> on one stream.</summary>
    private sealed class CudaExecutor(CudaDevice device) : IKernelExecutor, IDisposable
    {
        private readonly CudaKernels _kernels = new(device);
        private readonly CudaStream _stream = device.CreateStream();

        public string Name => device.Capability.DeviceName ?? "CUDA device";

        public IReadOnlyList<string> LastEntries { get; private set; } = [];

        public IKernelMemory Allocate(int bytes) => new Memory(device.Allocate(bytes));

        public void Run(IReadOnlyList<KernelLaunch> launches)
        {
            foreach (var launch in launches)
                _kernels.Launch(_stream, launch);
            _stream.Synchronize();
            LastEntries = [.. launches.Select(l => l.EntryPoint)];
        }

        public void Dispose()
        {
            _stream.Dispose();
            _kernels.Dispose();
        }

        private sealed class Memory(DeviceBuffer buffer) : IKernelMemory
        {
            public ulong Address => buffer.Address;

            public void Write(ReadOnlySpan<byte> bytes) => buffer.Upload(bytes);

            public void Read(Span<byte> bytes) => buffer.Download(bytes);

            public void Dispose() => buffer.Dispose();
        }
    }
}

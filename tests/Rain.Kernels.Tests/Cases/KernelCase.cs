using System.Runtime.InteropServices;

namespace Rain.Kernels.Cases;

/// <summary>
/// Where a <see cref="KernelCase"/> runs: the host emulation of the CUDA kernels (Rain.Kernels.Tests), the CUDA driver
/// API on a GPU or on the fake driver (Rain.Gpu.Tests' checks, also run by bench/Rain.Bench.Gpu). An executor only
/// allocates, copies and launches; the case and <see cref="KernelCaseRunner"/> do the rest, the same on every executor.
/// </summary>
public interface IKernelExecutor
{
    /// <summary>Names the executor in failure messages.</summary>
    string Name { get; }

    /// <summary>Device memory of <paramref name="bytes"/> bytes at a 16-byte aligned address (as cuMemAlloc's are).</summary>
    IKernelMemory Allocate(int bytes);

    /// <summary>Runs the launches in order and waits for them.</summary>
    void Run(IReadOnlyList<KernelLaunch> launches);
}

/// <summary>One allocation of an <see cref="IKernelExecutor"/>.</summary>
public interface IKernelMemory : IDisposable
{
    /// <summary>The device address.</summary>
    ulong Address { get; }

    /// <summary>Copies <paramref name="bytes"/> (the whole allocation) to the device.</summary>
    void Write(ReadOnlySpan<byte> bytes);

    /// <summary>Copies the whole allocation back.</summary>
    void Read(Span<byte> bytes);
}

/// <summary>The element types of kernel tensors; the value is the size in bytes.</summary>
public enum Element
{
    /// <summary>Bytes (RGB8 images, planar uint8 poses).</summary>
    U8 = 1,

    /// <summary>IEEE half.</summary>
    F16 = 2,

    /// <summary>IEEE single.</summary>
    F32 = 4,

    /// <summary>Signed 64-bit integers (the noise kernel's chunk number).</summary>
    I64 = 8,
}

/// <summary>How an output (or a stretch of it) must match the reference: bit for bit, or |a − e| ≤ atol + rtol·|e| (NaN fails).</summary>
/// <param name="Start">First element checked.</param>
/// <param name="Count">Elements checked (−1: to the end).</param>
/// <param name="Atol">Absolute tolerance (with <paramref name="Rtol"/> 0 and this 0: bit-exact).</param>
/// <param name="Rtol">Relative tolerance.</param>
public sealed record Match(int Start, int Count, double Atol, double Rtol)
{
    /// <summary>Bit-identical everywhere.</summary>
    public static Match Exact { get; } = new(0, -1, 0, 0);

    /// <summary>Bit-identical on elements <paramref name="start"/> … + <paramref name="count"/> − 1.</summary>
    public static Match ExactRange(int start, int count) => new(start, count, 0, 0);

    /// <summary>Within atol + rtol·|e| everywhere.</summary>
    public static Match Close(double atol, double rtol) => new(0, -1, atol, rtol);

    /// <summary>Whether this is a bit-exact match.</summary>
    public bool IsExact => Atol == 0 && Rtol == 0;

    /// <inheritdoc/>
    public override string ToString() => IsExact ? "bit-exact" : $"≤ {Atol:G2} + {Rtol:G2}·|e|";
}

/// <summary>
/// One tensor of a case: an input (<see cref="Data"/>), an output (<see cref="Expected"/>, compared by
/// <see cref="Matches"/>) or scratch (neither). Every tensor sits <see cref="OffsetBytes"/> past a 16-byte boundary
/// inside a buffer whose every other byte is poison (NaN for floats, 0xA5 for bytes), so an element a kernel forgot
/// to write, a write past either end and a write into an input all show.
/// </summary>
public sealed class CaseTensor
{
    private CaseTensor(string name, Element type, int count, int offsetBytes, byte[]? data, byte[]? expected, Match[] matches, float[]? expectedFloats = null)
    {
        if (offsetBytes % (int)type != 0 || offsetBytes is < 0 or >= 16)
            throw new ArgumentException($"{name}: offset {offsetBytes} must be a multiple of the element size below 16.");
        (Name, Type, Count, OffsetBytes, Data, Expected, Matches, ExpectedFloats) = (name, type, count, offsetBytes, data, expected, matches, expectedFloats);
    }

    /// <summary>The reference output in float32 for an fp16 output held to a tolerance (the reference is not rounded to fp16), or null.</summary>
    public float[]? ExpectedFloats { get; }

    /// <summary>The kernel argument's name.</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public Element Type { get; }

    /// <summary>Elements.</summary>
    public int Count { get; }

    /// <summary>Bytes past a 16-byte boundary (misaligned tensors).</summary>
    public int OffsetBytes { get; }

    /// <summary>The input's bytes, or null.</summary>
    public byte[]? Data { get; }

    /// <summary>The reference output's bytes, or null.</summary>
    public byte[]? Expected { get; }

    /// <summary>How the output must match.</summary>
    public IReadOnlyList<Match> Matches { get; }

    /// <summary>An input tensor.</summary>
    public static CaseTensor In<T>(string name, T[] values, int offsetBytes = 0)
        where T : unmanaged => new(name, ElementOf<T>(), values.Length, offsetBytes, MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), null, []);

    /// <summary>An output tensor and its reference values.</summary>
    public static CaseTensor Out<T>(string name, T[] expected, int offsetBytes, params Match[] matches)
        where T : unmanaged => new(name, ElementOf<T>(), expected.Length, offsetBytes, null, MemoryMarshal.AsBytes(expected.AsSpan()).ToArray(), matches.Length == 0 ? [Match.Exact] : matches);

    /// <summary>An fp16 output held to a tolerance of its float32 reference.</summary>
    public static CaseTensor OutF16(string name, float[] expected, int offsetBytes, Match match) =>
        new(name, Element.F16, expected.Length, offsetBytes, null, null, [match], expected);

    /// <summary>A scratch tensor (written and read by the kernels, not compared).</summary>
    public static CaseTensor Scratch(string name, Element type, int count) => new(name, type, count, 0, null, null, []);

    internal int Bytes => Count * (int)Type;

    private static Element ElementOf<T>()
        where T : unmanaged => default(T) switch
        {
            byte => Element.U8,
            Half or ushort => Element.F16,
            float => Element.F32,
            long => Element.I64,
            _ => throw new ArgumentException($"No kernel element type for {typeof(T).Name}."),
        };
}

/// <summary>
/// One row of the kernel test table (in the manner of ggml's test-backend-ops <c>test_case</c>): an op, a shape, its
/// tensors (inputs generated, outputs computed by the op's CPU reference), the launches (from the op's launcher, given
/// the tensors' device addresses in order) and the entry point the launcher must pick.
/// </summary>
/// <param name="Op">The op (<c>kernels/&lt;op&gt;.cu</c>).</param>
/// <param name="Group">The check it belongs to (the GPU check console prints one line per group).</param>
/// <param name="Name">Unique name: op, shape and variant.</param>
/// <param name="Tensors">The tensors, in the order <paramref name="Launch"/> receives their addresses.</param>
/// <param name="Launch">The launches, from the device addresses of <paramref name="Tensors"/>.</param>
/// <param name="Entry">The entry point of the last launch (the launcher's choice under test), or null.</param>
public sealed record KernelCase(string Op, string Group, string Name, IReadOnlyList<CaseTensor> Tensors, Func<IReadOnlyList<ulong>, IReadOnlyList<KernelLaunch>> Launch, string? Entry = null)
{
    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>Runs a <see cref="KernelCase"/> on an executor and checks everything it promises.</summary>
public static class KernelCaseRunner
{
    private const int Guard = 16;

    /// <summary>Runs <paramref name="c"/>; throws <see cref="CheckFailedException"/> naming the executor, the case, the tensor and the element. Returns the largest |a − e| of the tolerance-checked outputs.</summary>
    public static double Run(KernelCase c, IKernelExecutor executor)
    {
        string what = $"{executor.Name}: {c.Name}";
        var memory = new List<IKernelMemory>();
        try
        {
            var staged = new List<byte[]>();
            var addresses = new List<ulong>();
            foreach (var t in c.Tensors)
            {
                var bytes = new byte[Guard + t.OffsetBytes + t.Bytes + Guard];
                Poison(t.Type, bytes);
                t.Data?.CopyTo(bytes, Guard + t.OffsetBytes);
                var m = executor.Allocate(bytes.Length);
                memory.Add(m);
                if (m.Address % 16 != 0)
                    throw new CheckFailedException($"{what}: {executor.Name} allocated {t.Name} at 0x{m.Address:X}, not 16-byte aligned.");
                m.Write(bytes);
                staged.Add(bytes);
                addresses.Add(m.Address + Guard + (ulong)t.OffsetBytes);
            }

            var launches = c.Launch(addresses);
            if (c.Entry is not null && launches[^1].EntryPoint != c.Entry)
                throw new CheckFailedException($"{what}: the launcher picked {launches[^1].EntryPoint}, expected {c.Entry}.");
            executor.Run(launches);

            double worst = 0;
            for (int i = 0; i < c.Tensors.Count; i++)
            {
                var t = c.Tensors[i];
                var got = new byte[staged[i].Length];
                memory[i].Read(got);
                int start = Guard + t.OffsetBytes;
                if (!got.AsSpan(0, start).SequenceEqual(staged[i].AsSpan(0, start)) || !got.AsSpan(start + t.Bytes).SequenceEqual(staged[i].AsSpan(start + t.Bytes)))
                    throw new CheckFailedException($"{what}: a kernel wrote outside {t.Name} (the poisoned guard bytes changed).");
                if (t.Data is not null && !got.AsSpan(start, t.Bytes).SequenceEqual(t.Data))
                    throw new CheckFailedException($"{what}: the input {t.Name} was overwritten.");
                if (t.ExpectedFloats is not null)
                {
                    foreach (var match in t.Matches)
                        worst = Math.Max(worst, Compare.Close($"{what}: {t.Name}", t.ExpectedFloats, Compare.Widen(MemoryMarshal.Cast<byte, Half>(got.AsSpan(start, t.Bytes))), match.Atol, match.Rtol));
                }

                if (t.Expected is not null)
                {
                    foreach (var match in t.Matches)
                        worst = Math.Max(worst, Compare.Tensor($"{what}: {t.Name}", t.Type, t.Expected, got.AsSpan(start, t.Bytes), match));
                }
            }

            return worst;
        }
        finally
        {
            foreach (var m in memory)
                m.Dispose();
        }
    }

    /// <summary>Fills <paramref name="bytes"/> with the poison of <paramref name="type"/> (NaN 0x7FC00000, NaN half 0x7E7E, 0xA5, −1).</summary>
    private static void Poison(Element type, Span<byte> bytes)
    {
        switch (type)
        {
            case Element.F32:
                MemoryMarshal.Cast<byte, uint>(bytes).Fill(0x7FC00000);
                break;
            case Element.F16:
                bytes.Fill(0x7E);
                break;
            case Element.I64:
                bytes.Fill(0xFF);
                break;
            default:
                bytes.Fill(0xA5);
                break;
        }
    }
}

/// <summary>A kernel or GPU check found a result that differs from its CPU reference (shared by the xunit tests and bench/Rain.Bench.Gpu).</summary>
public sealed class CheckFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CheckFailedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public CheckFailedException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public CheckFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The one comparer of the kernel checks: reports the first offending element and returns the worst error.</summary>
public static class Compare
{
    /// <summary>|a − e| ≤ atol + rtol·|e| everywhere (NaN fails); returns the largest |a − e|.</summary>
    public static double Close(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, double rtol)
    {
        if (expected.Length != actual.Length)
            throw new CheckFailedException($"{what}: {actual.Length} values, expected {expected.Length}.");
        double maxAbs = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i], err = Math.Abs(a - e);
            if (double.IsNaN(err) || err > atol + (rtol * Math.Abs(e)))
                throw new CheckFailedException($"{what}[{i}]: got {a}, expected {e}; |a − e| = {err:E3} exceeds {atol:E1} + {rtol:E1}·|e|.");
            maxAbs = Math.Max(maxAbs, err);
        }

        return maxAbs;
    }

    /// <summary>Bit-identical.</summary>
    public static void Identical<T>(string what, ReadOnlySpan<T> expected, ReadOnlySpan<T> actual)
        where T : unmanaged, IEquatable<T>
    {
        if (expected.Length != actual.Length)
            throw new CheckFailedException($"{what}: {actual.Length} values, expected {expected.Length}.");
        for (int i = 0; i < expected.Length; i++)
        {
            if (!expected[i].Equals(actual[i]))
                throw new CheckFailedException($"{what}[{i}]: got {actual[i]}, expected {expected[i]} (bit-identical required).");
        }
    }

    /// <summary>Bit-identical floats.</summary>
    public static void Bits(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual) =>
        Identical(what, MemoryMarshal.Cast<float, uint>(expected), MemoryMarshal.Cast<float, uint>(actual));

    /// <summary>A tensor of any element type against its reference by <paramref name="match"/>; returns the largest |a − e| (0 when bit-exact).</summary>
    public static double Tensor(string what, Element type, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, Match match)
    {
        int size = (int)type;
        int count = expected.Length / size;
        int start = match.Start, length = match.Count < 0 ? count - start : match.Count;
        var e = expected.Slice(start * size, length * size);
        var a = actual.Slice(start * size, length * size);
        string where = start == 0 && length == count ? what : $"{what}[{start}..{start + length}]";
        if (match.IsExact)
        {
            switch (type)
            {
                case Element.U8:
                    Identical(where, e, a);
                    break;
                case Element.F16:
                    Identical(where, MemoryMarshal.Cast<byte, ushort>(e), MemoryMarshal.Cast<byte, ushort>(a));
                    break;
                case Element.F32:
                    Identical(where, MemoryMarshal.Cast<byte, uint>(e), MemoryMarshal.Cast<byte, uint>(a));
                    break;
                default:
                    Identical(where, MemoryMarshal.Cast<byte, long>(e), MemoryMarshal.Cast<byte, long>(a));
                    break;
            }

            return 0;
        }

        return type switch
        {
            Element.F32 => Close(where, MemoryMarshal.Cast<byte, float>(e), MemoryMarshal.Cast<byte, float>(a), match.Atol, match.Rtol),
            Element.F16 => Close(where, Widen(MemoryMarshal.Cast<byte, Half>(e)), Widen(MemoryMarshal.Cast<byte, Half>(a)), match.Atol, match.Rtol),
            _ => throw new ArgumentException($"{what}: a tolerance applies to float tensors only."),
        };
    }

    /// <summary>Halves to floats.</summary>
    public static float[] Widen(ReadOnlySpan<Half> halves)
    {
        var floats = new float[halves.Length];
        for (int i = 0; i < halves.Length; i++)
            floats[i] = (float)halves[i];
        return floats;
    }
}

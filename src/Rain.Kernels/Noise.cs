using System.Runtime.CompilerServices;

namespace Rain.Kernels;

/// <summary>
/// <c>kernels/noise.cu</c>: counter-based Gaussian noise. <see cref="Reference"/> is the CPU reference (the engine's
/// <c>Rain.Engine.Streaming.CounterNoise</c> calls it), <see cref="Launch"/> the kernel's launcher; the kernel is
/// bit-identical to the reference (same Philox-4x32-10 stream, same float32 operation sequence). The chunk is read
/// from device memory (<c>*chunkBase + chunkOffset</c>) so that a CUDA graph captured once can replay the launch for
/// every step while the step counter in device memory advances.
/// </summary>
/// <remarks>
/// <para>Algorithm:</para>
/// <list type="number">
/// <item>Philox-4x32-10 (Salmon et al., SC'11; Random123): key (k0, k1) = (low 32 bits of seed, high 32 bits);
/// counter (c0, c1, c2, c3) = (element / 4, level, low 32 bits of chunk, high 32 bits of chunk), chunk as a
/// two's-complement 64-bit integer (filler chunks before the stream are negative). Rounds use the multipliers
/// 0xD2511F53, 0xCD9E8D57 and the key increments 0x9E3779B9, 0xBB67AE85; 10 rounds, the key bumped between rounds.</item>
/// <item>The four 32-bit outputs (x0, x1, x2, x3) give two Box–Muller pairs: (x0, x1) → elements 4b, 4b+1 and
/// (x2, x3) → 4b+2, 4b+3. For a pair (a, b): u1 = ((a &gt;&gt; 8) + 1)·2⁻²⁴ ∈ (0, 1], u2 = (b &gt;&gt; 8)·2⁻²⁴ ∈ [0, 1),
/// r = √(−2·ln u1), first = r·cos(2π·u2), second = r·sin(2π·u2).</item>
/// <item>ln and sincos are evaluated in float32 with only IEEE-754 operations that are correctly rounded on every
/// platform (+, −, ×, ÷, √ and fused multiply-add, never contracted implicitly), so every result is bit-identical on
/// any conforming CPU or GPU.</item>
/// </list>
/// <para>|z| ≤ √(2·24·ln 2) ≈ 5.77 because u1 has 24 bits; the distribution is otherwise N(0, 1).</para>
/// </remarks>
public static class Noise
{
    /// <summary>The op (<c>kernels/noise.cu</c>).</summary>
    public const string Op = "noise";

    /// <summary>Elements in one (chunk, level) stream: 2³⁴ (a 32-bit Philox block counter of 4 values).</summary>
    public const long MaxStreamElements = 4L * uint.MaxValue;

    /// <summary>
    /// The CPU reference: writes the values of elements <paramref name="firstElement"/> … <paramref name="firstElement"/>
    /// + destination.Length − 1 of stream (<paramref name="chunk"/>, <paramref name="level"/>) of <paramref name="seed"/>
    /// into <paramref name="destination"/>.
    /// </summary>
    public static void Reference(ulong seed, long chunk, int level, long firstElement, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(level);
        ArgumentOutOfRangeException.ThrowIfNegative(firstElement);
        if (firstElement + destination.Length > MaxStreamElements)
            throw new ArgumentOutOfRangeException(nameof(firstElement), "A (chunk, level) stream holds at most 2^34 elements.");

        Span<float> block = stackalloc float[4];
        long e = firstElement;
        int i = 0;
        while (i < destination.Length)
        {
            long blockIndex = e >> 2;
            int lane = (int)(e & 3);
            Block(seed, (uint)blockIndex, (uint)level, chunk, block);
            int take = Math.Min(4 - lane, destination.Length - i);
            block.Slice(lane, take).CopyTo(destination.Slice(i, take));
            i += take;
            e += take;
        }
    }

    /// <summary>The four normals of Philox block <paramref name="blockIndex"/> of stream (chunk, level).</summary>
    internal static void Block(ulong seed, uint blockIndex, uint level, long chunk, Span<float> destination)
    {
        var ctr = Philox4x32.Generate(blockIndex, level, (uint)chunk, (uint)((ulong)chunk >> 32), (uint)seed, (uint)(seed >> 32));
        NoiseMath.BoxMuller(ctr.X0, ctr.X1, out destination[0], out destination[1]);
        NoiseMath.BoxMuller(ctr.X2, ctr.X3, out destination[2], out destination[3]);
    }

    /// <summary>
    /// Describes the launch writing elements <paramref name="firstElement"/> … + <paramref name="count"/> − 1 of stream
    /// (chunk, <paramref name="level"/>) to <paramref name="output32"/> (fp32) and/or <paramref name="output16"/>
    /// (fp16, round to nearest even); pass 0 for the one not wanted. <paramref name="chunkBase"/> is the device
    /// address of a 64-bit signed chunk number.
    /// </summary>
    public static KernelLaunch Launch(ulong seed, ulong chunkBase, long chunkOffset, int level, long firstElement, int count, ulong output32, ulong output16)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(level);
        ArgumentOutOfRangeException.ThrowIfNegative(firstElement);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (firstElement + count > MaxStreamElements)
            throw new ArgumentOutOfRangeException(nameof(firstElement), firstElement, $"noise: a (chunk, level) stream holds at most 2^34 elements; asked for {firstElement} + {count}.");
        if (chunkBase == 0 || chunkBase % 8 != 0)
            throw new ArgumentException($"noise: chunkBase must be a non-null, 8-byte aligned device address of the chunk number; got 0x{chunkBase:X}.", nameof(chunkBase));
        if (output32 == 0 && output16 == 0)
            throw new ArgumentException("noise: at least one of output32 and output16 must be a device address.", nameof(output32));
        if (output32 % 4 != 0 || output16 % 2 != 0)
            throw new ArgumentException($"noise: output32 must be 4-byte and output16 2-byte aligned; got 0x{output32:X} and 0x{output16:X}.");

        long blocks = ((firstElement + count - 1) >> 2) - (firstElement >> 2) + 1;
        const uint block = 256;
        var arguments = new KernelArguments().Add(seed).Add(chunkBase).Add(chunkOffset).Add(level).Add((ulong)firstElement).Add((uint)count).Add(output32).Add(output16);
        return new KernelLaunch(Op, "noise", KernelLaunch.Blocks(blocks, block, "noise"), new Dim3(block), 0, arguments);
    }
}

/// <summary>Philox-4x32-10 (Random123's <c>philox4x32</c> with 10 rounds).</summary>
internal static class Philox4x32
{
    internal readonly record struct Output(uint X0, uint X1, uint X2, uint X3);

    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Output Generate(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += W0;
                k1 += W1;
            }

            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0, hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);
        }

        return new Output(c0, c1, c2, c3);
    }
}

/// <summary>
/// Float32 ln and sincos(2π·u) built only from correctly rounded IEEE operations with explicit FMA, so the CPU and
/// the GPU produce the same bits. Accuracy: a few ulp, which is all a noise source needs.
/// </summary>
internal static class NoiseMath
{
    private const float Two24Inverse = 1f / 16777216f;
    private const float Ln2 = 0.693147182f;
    private const float Sqrt2 = 1.41421354f;
    private const float HalfPi = 1.57079637f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void BoxMuller(uint a, uint b, out float first, out float second)
    {
        float u1 = ((a >> 8) + 1) * Two24Inverse;
        float u2 = (b >> 8) * Two24Inverse;
        float r = MathF.Sqrt(-2f * Log(u1));
        SinCos2Pi(u2, out float s, out float c);
        first = r * c;
        second = r * s;
    }

    /// <summary>ln x for normal positive x: x = m·2^e with m ∈ [√½, √2), ln m = 2·atanh((m−1)/(m+1)) by series.</summary>
    internal static float Log(float x)
    {
        int bits = BitConverter.SingleToInt32Bits(x);
        int e = ((bits >> 23) & 0xFF) - 127;
        float m = BitConverter.Int32BitsToSingle((bits & 0x007FFFFF) | 0x3F800000);
        if (m > Sqrt2)
        {
            m *= 0.5f;
            e += 1;
        }

        float s = (m - 1f) / (m + 1f);
        float z = s * s;
        float poly = MathF.FusedMultiplyAdd(z, 1f / 11f, 1f / 9f);
        poly = MathF.FusedMultiplyAdd(z, poly, 1f / 7f);
        poly = MathF.FusedMultiplyAdd(z, poly, 1f / 5f);
        poly = MathF.FusedMultiplyAdd(z, poly, 1f / 3f);
        poly = MathF.FusedMultiplyAdd(z, poly, 1f);
        float lnM = 2f * s * poly;
        return MathF.FusedMultiplyAdd(e, Ln2, lnM);
    }

    /// <summary>sin and cos of 2π·u for u ∈ [0, 1) with 24 significant bits (exact quadrant reduction).</summary>
    internal static void SinCos2Pi(float u, out float sin, out float cos)
    {
        float t = u * 4f;
        int quadrant = (int)t;
        float f = t - quadrant;
        bool swap = f > 0.5f;
        float h = swap ? 1f - f : f;
        float x = h * HalfPi;
        float x2 = x * x;

        float sp = MathF.FusedMultiplyAdd(x2, 1f / 362880f, -1f / 5040f);
        sp = MathF.FusedMultiplyAdd(x2, sp, 1f / 120f);
        sp = MathF.FusedMultiplyAdd(x2, sp, -1f / 6f);
        sp = MathF.FusedMultiplyAdd(x2, sp, 1f);
        float sx = x * sp;

        float cp = MathF.FusedMultiplyAdd(x2, 1f / 40320f, -1f / 720f);
        cp = MathF.FusedMultiplyAdd(x2, cp, 1f / 24f);
        cp = MathF.FusedMultiplyAdd(x2, cp, -0.5f);
        float cx = MathF.FusedMultiplyAdd(x2, cp, 1f);

        float s = swap ? cx : sx, c = swap ? sx : cx;
        (sin, cos) = quadrant switch
        {
            0 => (s, c),
            1 => (c, -s),
            2 => (-s, -c),
            _ => (-c, s),
        };
    }
}

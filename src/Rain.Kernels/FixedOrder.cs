using System.Runtime.Intrinsics;

namespace Rain.Kernels;

/// <summary>
/// Float32 arithmetic whose result does not depend on the CPU: a fixed lane count (8, <see cref="Vector256{T}"/>, which
/// runs on AVX2 or is emulated lane by lane elsewhere), a fixed reduction tree and no fused multiply-add. The same
/// inputs therefore give the same bits under the JIT on an AVX-512 machine, under the JIT on an AVX2 one and in the
/// NativeAOT library (whose vector width is fixed at compile time), so a seed gives the same frames in every host.
/// <c>TensorPrimitives.Dot</c> sums in an order that follows the widest vector the CPU has, and its multiply-add may fuse.
/// </summary>
public static class FixedOrder
{
    /// <summary>Σ a[i]·b[i]: eight lane sums (each in index order), added as ((0+4)+(1+5))+((2+6)+(3+7)), then the tail in order.</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
            throw new ArgumentException($"Dot of {a.Length} and {b.Length} elements.", nameof(b));
        var acc = Vector256<float>.Zero;
        int i = 0;
        for (; i <= a.Length - 8; i += 8)
            acc += Vector256.Create(a.Slice(i, 8)) * Vector256.Create(b.Slice(i, 8)); // the JIT never contracts this into an FMA
        float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for (; i < a.Length; i++)
            s += a[i] * b[i];
        return s;
    }

    /// <summary>destination[i] += source[i]·scale, element by element (rounded after the product, then after the sum).</summary>
    public static void AddScaled(ReadOnlySpan<float> source, float scale, Span<float> destination)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException($"AddScaled of {source.Length} into {destination.Length} elements.", nameof(destination));
        var factor = Vector256.Create(scale);
        int i = 0;
        for (; i <= source.Length - 8; i += 8)
            (Vector256.Create(destination.Slice(i, 8)) + (Vector256.Create(source.Slice(i, 8)) * factor)).CopyTo(destination.Slice(i, 8));
        for (; i < source.Length; i++)
            destination[i] += source[i] * scale;
    }
}

using Rain.Kernels;

namespace Rain.Engine.Streaming;

/// <summary>
/// Counter-based Gaussian noise: the value for (seed, chunk, level, element) is a pure function of those four
/// numbers, so it does not depend on how draws are batched, on which thread or device they run, or in which order.
/// </summary>
/// <remarks>
/// The algorithm (Philox-4x32-10, Box–Muller with float32 ln and sincos built from correctly rounded operations) and
/// its CPU reference live beside the CUDA kernel that reproduces it bit for bit: <see cref="Noise"/> in Rain.Kernels
/// (<c>kernels/noise.cu</c>); this class is the engine's handle on it.
/// </remarks>
public sealed class CounterNoise
{
    /// <summary>Creates a source for <paramref name="seed"/>.</summary>
    public CounterNoise(ulong seed) => Seed = seed;

    /// <summary>The seed (the Philox key).</summary>
    public ulong Seed { get; }

    /// <summary>
    /// Writes the values of elements <paramref name="firstElement"/> … <paramref name="firstElement"/> +
    /// destination.Length − 1 of the (chunk, level) stream into <paramref name="destination"/>.
    /// </summary>
    public void Fill(long chunk, int level, long firstElement, Span<float> destination) =>
        Noise.Reference(Seed, chunk, level, firstElement, destination);

    /// <summary>The value of one element; equals what <see cref="Fill"/> writes for it.</summary>
    public float At(long chunk, int level, long element)
    {
        Span<float> one = stackalloc float[1];
        Fill(chunk, level, element, one);
        return one[0];
    }
}

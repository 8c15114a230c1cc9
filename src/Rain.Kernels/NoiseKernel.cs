namespace Rain.Kernels;

/// <summary>
/// Launcher of <c>kernels/noise.cu</c>: counter-based Gaussian noise, bit-identical to its CPU reference
/// <c>Rain.Engine.Streaming.CounterNoise</c> (same Philox-4x32-10 stream, same float32 operation sequence). The chunk
/// is read from device memory (<c>*chunkBase + chunkOffset</c>) so that a CUDA graph captured once can replay the
/// launch for every step while the step counter in device memory advances.
/// </summary>
public static class NoiseKernel
{
    /// <summary>Elements in one (chunk, level) stream: 2³⁴ (a 32-bit Philox block counter of 4 values).</summary>
    public const long MaxStreamElements = 4L * uint.MaxValue;

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
        return new KernelLaunch("noise", "noise", KernelLaunch.Blocks(blocks, block, "noise"), new Dim3(block), 0, arguments);
    }
}

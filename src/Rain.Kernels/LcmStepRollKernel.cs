namespace Rain.Kernels;

/// <summary>
/// Launcher of <c>kernels/lcm_step_roll.cu</c>: the LCM step of every frame fused with the roll of the latent window.
/// Storage is fp32 (model output, sample, noise, new noise, next sample, decode input and the coefficients), layout
/// frame-major <c>[F, E]</c>, cleanest level first. The CPU reference is <c>Rain.Engine.Streaming.LcmStep.StepRoll</c>
/// (this assembly does not reference the engine; the tests hold the two against each other); the kernel computes the
/// same products and sums in the same order without fused multiply-add, so it differs from the reference only where
/// the CPU's vector code fuses (≤ 1 ulp per operation).
/// </summary>
public static class LcmStepRollKernel
{
    /// <summary>Floats per frame in the coefficient table.</summary>
    public const int CoefficientsPerFrame = 6;

    /// <summary>
    /// Packs the per-frame coefficient table the kernel reads: for frame f, √ᾱ, √(1−ᾱ), c_out, c_skip, √ᾱ_prev,
    /// √(1−ᾱ_prev) (the arrays of an LCM schedule, one value per frame).
    /// </summary>
    public static float[] PackCoefficients(
        ReadOnlySpan<float> sqrtAlphaProd, ReadOnlySpan<float> sqrtOneMinusAlphaProd, ReadOnlySpan<float> cOut,
        ReadOnlySpan<float> cSkip, ReadOnlySpan<float> sqrtAlphaProdPrev, ReadOnlySpan<float> sqrtOneMinusAlphaProdPrev)
    {
        int frames = sqrtAlphaProd.Length;
        if (frames == 0 || sqrtOneMinusAlphaProd.Length != frames || cOut.Length != frames || cSkip.Length != frames
            || sqrtAlphaProdPrev.Length != frames || sqrtOneMinusAlphaProdPrev.Length != frames)
        {
            throw new ArgumentException($"lcm_step_roll: every coefficient array must hold one value per frame (F = {frames} > 0); got {sqrtAlphaProd.Length}, {sqrtOneMinusAlphaProd.Length}, {cOut.Length}, {cSkip.Length}, {sqrtAlphaProdPrev.Length}, {sqrtOneMinusAlphaProdPrev.Length}.");
        }

        var table = new float[frames * CoefficientsPerFrame];
        for (int f = 0; f < frames; f++)
        {
            table[(f * 6) + 0] = sqrtAlphaProd[f];
            table[(f * 6) + 1] = sqrtOneMinusAlphaProd[f];
            table[(f * 6) + 2] = cOut[f];
            table[(f * 6) + 3] = cSkip[f];
            table[(f * 6) + 4] = sqrtAlphaProdPrev[f];
            table[(f * 6) + 5] = sqrtOneMinusAlphaProdPrev[f];
        }

        return table;
    }

    /// <summary>
    /// Describes the launch. Addresses: <paramref name="modelOutput"/>, <paramref name="sample"/>,
    /// <paramref name="noise"/> and <paramref name="nextSample"/> hold F·E floats, <paramref name="newNoise"/> and
    /// <paramref name="decodeInput"/> p·E, <paramref name="coefficients"/> F·6 (<see cref="PackCoefficients"/>).
    /// <paramref name="nextSample"/> must not be <paramref name="sample"/> (the roll reads slots it would overwrite).
    /// </summary>
    public static KernelLaunch Launch(
        ulong modelOutput, ulong sample, ulong noise, ulong newNoise, ulong nextSample, ulong decodeInput, ulong coefficients,
        int frames, int framesPerLevel, int frameElements)
    {
        if (frames < 1 || framesPerLevel < 1 || frames % framesPerLevel != 0)
            throw new ArgumentException($"lcm_step_roll: F ({frames}) must be a positive multiple of p ({framesPerLevel}).");
        ArgumentOutOfRangeException.ThrowIfLessThan(frameElements, 1);
        ulong[] addresses = [modelOutput, sample, noise, newNoise, nextSample, decodeInput, coefficients];
        if (addresses.Any(a => a == 0 || a % 4 != 0))
            throw new ArgumentException($"lcm_step_roll: every tensor must be a non-null, 4-byte aligned device address; got {string.Join(", ", addresses.Select(a => $"0x{a:X}"))}.");
        if (nextSample == sample)
            throw new ArgumentException("lcm_step_roll: nextSample must not be sample: the roll reads frames that it would overwrite (double-buffer the window).", nameof(nextSample));

        long total = (long)frames * frameElements;
        const uint block = 256;
        // A grid-stride loop: enough blocks to fill any GPU, no more (the loop covers the rest).
        var grid = KernelLaunch.Blocks(Math.Min(total, 1L << 22), block, "lcm_step_roll");
        var arguments = new KernelArguments().Add(modelOutput).Add(sample).Add(noise).Add(newNoise).Add(nextSample).Add(decodeInput)
            .Add(coefficients).Add(frames).Add(framesPerLevel).Add((uint)frameElements);
        return new KernelLaunch("lcm_step_roll", "lcm_step_roll", grid, new Dim3(block), 0, arguments);
    }
}

using System.Numerics.Tensors;

namespace Rain.Kernels;

/// <summary>
/// <c>kernels/lcm_step_roll.cu</c>: the LCM step of every frame fused with the roll of the latent window (spec
/// §3.1.5). Storage is fp32 (model output, sample, noise, new noise, next sample, decode input and the coefficients),
/// layout frame-major <c>[F, E]</c>, cleanest level first. <see cref="Reference"/> is the CPU reference (the engine's
/// <c>Rain.Engine.Streaming.LcmStep.StepRoll</c> calls it), <see cref="Launch"/> the kernel's launcher; the kernel
/// computes the same products and sums in the same order without fused multiply-add, so it differs from the reference
/// only where the CPU's vector code fuses (≤ 1 ulp per operation).
/// </summary>
public static class LcmStepRoll
{
    /// <summary>The op (<c>kernels/lcm_step_roll.cu</c>).</summary>
    public const string Op = "lcm_step_roll";

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
        var table = new float[sqrtAlphaProd.Length * CoefficientsPerFrame];
        PackCoefficients(sqrtAlphaProd, sqrtOneMinusAlphaProd, cOut, cSkip, sqrtAlphaProdPrev, sqrtOneMinusAlphaProdPrev, table);
        return table;
    }

    /// <summary>As <see cref="PackCoefficients(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float})"/>, into <paramref name="table"/> (F·6 floats).</summary>
    public static void PackCoefficients(
        ReadOnlySpan<float> sqrtAlphaProd, ReadOnlySpan<float> sqrtOneMinusAlphaProd, ReadOnlySpan<float> cOut,
        ReadOnlySpan<float> cSkip, ReadOnlySpan<float> sqrtAlphaProdPrev, ReadOnlySpan<float> sqrtOneMinusAlphaProdPrev, Span<float> table)
    {
        int frames = sqrtAlphaProd.Length;
        if (frames == 0 || sqrtOneMinusAlphaProd.Length != frames || cOut.Length != frames || cSkip.Length != frames
            || sqrtAlphaProdPrev.Length != frames || sqrtOneMinusAlphaProdPrev.Length != frames)
        {
            throw new ArgumentException($"lcm_step_roll: every coefficient array must hold one value per frame (F = {frames} > 0); got {sqrtAlphaProd.Length}, {sqrtOneMinusAlphaProd.Length}, {cOut.Length}, {cSkip.Length}, {sqrtAlphaProdPrev.Length}, {sqrtOneMinusAlphaProdPrev.Length}.");
        }

        if (table.Length != frames * CoefficientsPerFrame)
            throw new ArgumentException($"lcm_step_roll: the coefficient table must hold F·6 = {frames * CoefficientsPerFrame} floats; got {table.Length}.", nameof(table));
        for (int f = 0; f < frames; f++)
        {
            table[(f * 6) + 0] = sqrtAlphaProd[f];
            table[(f * 6) + 1] = sqrtOneMinusAlphaProd[f];
            table[(f * 6) + 2] = cOut[f];
            table[(f * 6) + 3] = cSkip[f];
            table[(f * 6) + 4] = sqrtAlphaProdPrev[f];
            table[(f * 6) + 5] = sqrtOneMinusAlphaProdPrev[f];
        }
    }

    /// <summary>
    /// x̂₀ and the boundary condition for one frame: destination = c_out·(√ᾱ·x − √(1−ᾱ)·v̂) + c_skip·x, in that order
    /// (vectorised; the multiply-adds may fuse). <paramref name="destination"/> may not overlap the inputs.
    /// </summary>
    public static void Denoise(float sqrtAlphaProd, float sqrtOneMinusAlphaProd, float cOut, float cSkip, ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, Span<float> destination)
    {
        TensorPrimitives.Multiply(sample, sqrtAlphaProd, destination);
        TensorPrimitives.MultiplyAdd(modelOutput, -sqrtOneMinusAlphaProd, destination, destination);
        TensorPrimitives.Multiply(destination, cOut, destination);
        TensorPrimitives.MultiplyAdd(sample, cSkip, destination, destination);
    }

    /// <summary>
    /// Re-noising of one frame to the previous timestep: x' = √ᾱ_prev·denoised + √(1−ᾱ_prev)·ε. Where the noise weight
    /// is 0 (the cleanest level), x' is a copy of denoised and ε is not read, so it may hold anything.
    /// <paramref name="destination"/> may alias <paramref name="denoised"/> but not <paramref name="noise"/>.
    /// </summary>
    public static void Renoise(float sqrtAlphaProdPrev, float sqrtOneMinusAlphaProdPrev, ReadOnlySpan<float> denoised, ReadOnlySpan<float> noise, Span<float> destination)
    {
        if (sqrtOneMinusAlphaProdPrev == 0f)
        {
            denoised.CopyTo(destination);
            return;
        }

        TensorPrimitives.Multiply(denoised, sqrtAlphaProdPrev, destination);
        TensorPrimitives.MultiplyAdd(noise, sqrtOneMinusAlphaProdPrev, destination, destination);
    }

    /// <summary>
    /// The CPU reference of the kernel, over the packed <paramref name="coefficients"/> (F·6 floats,
    /// <see cref="PackCoefficients(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float})"/>): frames at level 0 (the p = <paramref name="framesPerLevel"/> cleanest) go,
    /// denoised, to <paramref name="decodeInput"/>; frame f ≥ p goes re-noised to slot f − p of
    /// <paramref name="nextSample"/>; the last p slots of <paramref name="nextSample"/> receive <paramref name="newNoise"/>.
    /// <paramref name="noise"/> has F frames, of which frames 0..p−1 are not read. <paramref name="nextSample"/> must not
    /// overlap <paramref name="sample"/>.
    /// </summary>
    public static void Reference(
        ReadOnlySpan<float> coefficients,
        ReadOnlySpan<float> modelOutput,
        ReadOnlySpan<float> sample,
        ReadOnlySpan<float> noise,
        ReadOnlySpan<float> newNoise,
        Span<float> nextSample,
        Span<float> decodeInput,
        int framesPerLevel,
        int frameElements)
    {
        int frames = coefficients.Length / CoefficientsPerFrame;
        if (frames < 1 || coefficients.Length % CoefficientsPerFrame != 0 || framesPerLevel < 1 || frames % framesPerLevel != 0)
            throw new ArgumentException($"lcm_step_roll: the coefficient table must hold 6 floats per frame for F frames, F a positive multiple of p ({framesPerLevel}); got {coefficients.Length} floats.", nameof(coefficients));
        if (frameElements <= 0)
            throw new ArgumentOutOfRangeException(nameof(frameElements), frameElements, "frameElements must be positive.");
        long expected = (long)frames * frameElements;
        foreach (int length in (ReadOnlySpan<int>)[modelOutput.Length, sample.Length, noise.Length, nextSample.Length])
        {
            if (length != expected)
                throw new ArgumentException($"Every tensor of the step must hold F·frameElements = {frames}·{frameElements} = {expected} elements; got {length}.");
        }

        int p = framesPerLevel;
        long chunkElements = (long)p * frameElements;
        if (newNoise.Length != chunkElements || decodeInput.Length != chunkElements)
            throw new ArgumentException($"newNoise and decodeInput must hold p·frameElements = {chunkElements} elements; got {newNoise.Length} and {decodeInput.Length}.");
        if (sample.Overlaps(nextSample))
            throw new ArgumentException("nextSample must not overlap sample: the roll reads frames that it would overwrite.", nameof(nextSample));

        for (int f = 0; f < frames; f++)
        {
            var k = coefficients.Slice(f * CoefficientsPerFrame, CoefficientsPerFrame);
            var src = new Range(f * frameElements, (f + 1) * frameElements);
            if (f < p)
            {
                Span<float> dst = decodeInput.Slice(f * frameElements, frameElements);
                Denoise(k[0], k[1], k[2], k[3], modelOutput[src], sample[src], dst);
                Renoise(k[4], k[5], dst, default, dst);
            }
            else
            {
                Span<float> dst = nextSample.Slice((f - p) * frameElements, frameElements);
                Denoise(k[0], k[1], k[2], k[3], modelOutput[src], sample[src], dst);
                Renoise(k[4], k[5], dst, noise[src], dst);
            }
        }

        newNoise.CopyTo(nextSample[(int)((frames - p) * (long)frameElements)..]);
    }

    /// <summary>
    /// Describes the launch. Addresses: <paramref name="modelOutput"/>, <paramref name="sample"/>,
    /// <paramref name="noise"/> and <paramref name="nextSample"/> hold F·E floats, <paramref name="newNoise"/> and
    /// <paramref name="decodeInput"/> p·E, <paramref name="coefficients"/> F·6 (<see cref="PackCoefficients(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float})"/>).
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
        return new KernelLaunch(Op, "lcm_step_roll", grid, new Dim3(block), 0, arguments);
    }
}

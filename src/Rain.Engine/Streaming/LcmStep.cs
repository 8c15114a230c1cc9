using System.Numerics.Tensors;

namespace Rain.Engine.Streaming;

/// <summary>
/// The per-frame LCM step on frame-major tensors <c>[F, C, h, w]</c> (one frame = one contiguous slab), vectorised
/// with <see cref="TensorPrimitives"/>. The formulas and their order are those documented on <see cref="LcmSchedule"/>.
/// </summary>
public static class LcmStep
{
    /// <summary>
    /// One step over all F frames: writes <paramref name="denoised"/> and <paramref name="prevSample"/>.
    /// All spans hold F·<paramref name="frameElements"/> elements.
    /// </summary>
    public static void Step(
        LcmSchedule schedule,
        ReadOnlySpan<float> modelOutput,
        ReadOnlySpan<float> sample,
        ReadOnlySpan<float> noise,
        Span<float> prevSample,
        Span<float> denoised,
        int frameElements)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        int total = CheckLengths(schedule, frameElements, modelOutput.Length, sample.Length, noise.Length, prevSample.Length, denoised.Length);
        _ = total;
        for (int f = 0; f < schedule.Config.Frames; f++)
        {
            var slab = new Range(f * frameElements, (f + 1) * frameElements);
            Denoise(schedule, f, modelOutput[slab], sample[slab], denoised[slab]);
            Renoise(schedule, f, denoised[slab], noise[slab], prevSample[slab]);
        }
    }

    /// <summary>
    /// x̂₀ and the boundary condition for frame <paramref name="frame"/>: denoised = c_out·(√ᾱ·x − √(1−ᾱ)·v̂) + c_skip·x.
    /// <paramref name="destination"/> may not overlap the inputs.
    /// </summary>
    public static void Denoise(LcmSchedule schedule, int frame, ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        TensorPrimitives.Multiply(sample, schedule.SqrtAlphaProd[frame], destination);
        TensorPrimitives.MultiplyAdd(modelOutput, -schedule.SqrtOneMinusAlphaProd[frame], destination, destination);
        TensorPrimitives.Multiply(destination, schedule.COut[frame], destination);
        TensorPrimitives.MultiplyAdd(sample, schedule.CSkip[frame], destination, destination);
    }

    /// <summary>
    /// Re-noising to the previous timestep: x' = √ᾱ_prev·denoised + √(1−ᾱ_prev)·ε. Where the noise weight is 0 (the
    /// cleanest level), x' is a copy of denoised and ε is not read, so it may hold anything.
    /// <paramref name="destination"/> may alias <paramref name="denoised"/> but not <paramref name="noise"/>.
    /// </summary>
    public static void Renoise(LcmSchedule schedule, int frame, ReadOnlySpan<float> denoised, ReadOnlySpan<float> noise, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        float noiseWeight = schedule.SqrtOneMinusAlphaProdPrev[frame];
        if (noiseWeight == 0f)
        {
            denoised.CopyTo(destination);
            return;
        }

        TensorPrimitives.Multiply(denoised, schedule.SqrtAlphaProdPrev[frame], destination);
        TensorPrimitives.MultiplyAdd(noise, noiseWeight, destination, destination);
    }

    /// <summary>
    /// The step fused with the roll of the latent window (spec §3.1.5), the CPU twin of the <c>lcm_step_roll</c>
    /// kernel: frames at level 0 (the p cleanest) go, denoised, to <paramref name="decodeInput"/>; frame f ≥ p goes
    /// re-noised to slot f − p of <paramref name="nextSample"/>; the last p slots of <paramref name="nextSample"/>
    /// receive <paramref name="newNoise"/>. <paramref name="noise"/> has F frames, of which frames 0..p−1 are not read.
    /// <paramref name="nextSample"/> must not overlap <paramref name="sample"/>.
    /// </summary>
    public static void StepRoll(
        LcmSchedule schedule,
        ReadOnlySpan<float> modelOutput,
        ReadOnlySpan<float> sample,
        ReadOnlySpan<float> noise,
        ReadOnlySpan<float> newNoise,
        Span<float> nextSample,
        Span<float> decodeInput,
        int frameElements)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        int p = schedule.Config.FramesPerLevel, frames = schedule.Config.Frames;
        CheckLengths(schedule, frameElements, modelOutput.Length, sample.Length, noise.Length, nextSample.Length);
        long chunkElements = (long)p * frameElements;
        if (newNoise.Length != chunkElements || decodeInput.Length != chunkElements)
            throw new ArgumentException($"newNoise and decodeInput must hold p·frameElements = {chunkElements} elements; got {newNoise.Length} and {decodeInput.Length}.");
        if (sample.Overlaps(nextSample))
            throw new ArgumentException("nextSample must not overlap sample: the roll reads frames that it would overwrite.", nameof(nextSample));

        for (int f = 0; f < frames; f++)
        {
            var src = new Range(f * frameElements, (f + 1) * frameElements);
            if (f < p)
            {
                Span<float> dst = decodeInput.Slice(f * frameElements, frameElements);
                Denoise(schedule, f, modelOutput[src], sample[src], dst);
                Renoise(schedule, f, dst, default, dst);
            }
            else
            {
                Span<float> dst = nextSample.Slice((f - p) * frameElements, frameElements);
                Denoise(schedule, f, modelOutput[src], sample[src], dst);
                Renoise(schedule, f, dst, noise[src], dst);
            }
        }

        newNoise.CopyTo(nextSample[(int)((frames - p) * (long)frameElements)..]);
    }

    private static int CheckLengths(LcmSchedule schedule, int frameElements, params ReadOnlySpan<int> lengths)
    {
        if (frameElements <= 0)
            throw new ArgumentOutOfRangeException(nameof(frameElements), frameElements, "frameElements must be positive.");
        long expected = (long)schedule.Config.Frames * frameElements;
        foreach (int length in lengths)
        {
            if (length != expected)
                throw new ArgumentException($"Every tensor of the step must hold F·frameElements = {schedule.Config.Frames}·{frameElements} = {expected} elements; got {length}.");
        }

        return (int)expected;
    }
}

using Rain.Kernels;

namespace Rain.Engine.Streaming;

/// <summary>
/// The per-frame LCM step on frame-major tensors <c>[F, C, h, w]</c> (one frame = one contiguous slab), vectorised
/// with <c>TensorPrimitives</c> (the arithmetic is <see cref="LcmStepRoll"/>'s, beside its CUDA kernel). The formulas and their order are those documented on <see cref="LcmSchedule"/>.
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
        LcmStepRoll.Denoise(schedule.SqrtAlphaProd[frame], schedule.SqrtOneMinusAlphaProd[frame], schedule.COut[frame], schedule.CSkip[frame], modelOutput, sample, destination);
    }

    /// <summary>
    /// Re-noising to the previous timestep: x' = √ᾱ_prev·denoised + √(1−ᾱ_prev)·ε. Where the noise weight is 0 (the
    /// cleanest level), x' is a copy of denoised and ε is not read, so it may hold anything.
    /// <paramref name="destination"/> may alias <paramref name="denoised"/> but not <paramref name="noise"/>.
    /// </summary>
    public static void Renoise(LcmSchedule schedule, int frame, ReadOnlySpan<float> denoised, ReadOnlySpan<float> noise, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        LcmStepRoll.Renoise(schedule.SqrtAlphaProdPrev[frame], schedule.SqrtOneMinusAlphaProdPrev[frame], denoised, noise, destination);
    }

    /// <summary>
    /// The step fused with the roll of the latent window (spec §3.1.5): the CPU reference of the <c>lcm_step_roll</c>
    /// kernel (<see cref="LcmStepRoll.Reference"/>) over this schedule's coefficients: frames at level 0 (the p cleanest) go, denoised, to <paramref name="decodeInput"/>; frame f ≥ p goes
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
        int frames = schedule.Config.Frames;
        Span<float> table = frames <= 64 ? stackalloc float[frames * LcmStepRoll.CoefficientsPerFrame] : new float[frames * LcmStepRoll.CoefficientsPerFrame];
        LcmStepRoll.PackCoefficients(schedule.SqrtAlphaProd, schedule.SqrtOneMinusAlphaProd, schedule.COut, schedule.CSkip, schedule.SqrtAlphaProdPrev, schedule.SqrtOneMinusAlphaProdPrev, table);
        LcmStepRoll.Reference(table, modelOutput, sample, noise, newNoise, nextSample, decodeInput, schedule.Config.FramesPerLevel, frameElements);
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

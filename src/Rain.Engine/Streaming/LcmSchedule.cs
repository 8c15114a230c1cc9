namespace Rain.Engine.Streaming;

/// <summary>
/// Per-frame constants of one stream window: the timestep of every frame (cleanest level first) and every
/// coefficient the LCM step needs (spec §2.7). Frame f sits at level ℓ = f / p; level 0 is the cleanest and is
/// decoded after the step; level L−1 holds the newest chunk at the noisiest timestep.
/// </summary>
/// <remarks>
/// The step of frame f with model output v̂ and sample x, in this order of operations:
/// <code>
/// x̂₀       = √ᾱ_t · x − √(1−ᾱ_t) · v̂
/// denoised = c_out · x̂₀ + c_skip · x
/// x'       = √ᾱ_prev · denoised + √(1−ᾱ_prev) · ε     (x' = denoised exactly where ᾱ_prev = 1)
/// </code>
/// with t_prev the timestep of the next cleaner level and ᾱ_prev = 1 at the cleanest level (t_prev = −1), so the
/// decoded frames are exactly denoised. RAIN's scheduler writes t_prev = t − T/L; for RAIN's L = 4 (and any L whose
/// trailing timesteps are T/L apart) that is the same number. Where it is not (L = 6: 166 − 166 = 0), RAIN would
/// re-noise to a timestep no level evaluates and would add noise to the decoded frames; we follow the diffusers
/// LCM semantics instead.
/// c_skip = σ²/((s·t)² + σ²) and c_out = s·t/√((s·t)² + σ²), s = timestep scaling (10), σ = σ_data (0.5).
/// √ᾱ and √(1−ᾱ) are float32 operations on the float32 ᾱ table, as in the original; c_skip and c_out are computed
/// in float64 and rounded to float32.
/// </remarks>
public sealed class LcmSchedule
{
    /// <summary>Builds the window schedule of <paramref name="config"/>.</summary>
    public LcmSchedule(StreamConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        Training = new TrainingSchedule(config.Scheduler);
        int p = config.FramesPerLevel, levels = config.Levels, frames = config.Frames;
        InferenceTimesteps = Training.InferenceTimesteps(levels);
        double s = config.Scheduler.TimestepScaling, sigma2 = config.Scheduler.SigmaData * config.Scheduler.SigmaData;

        LevelTimesteps = new int[levels];
        for (int level = 0; level < levels; level++)
            LevelTimesteps[level] = InferenceTimesteps[levels - 1 - level];

        FrameTimesteps = new int[frames];
        PrevTimesteps = new int[frames];
        AlphaProd = new float[frames];
        AlphaProdPrev = new float[frames];
        SqrtAlphaProd = new float[frames];
        SqrtOneMinusAlphaProd = new float[frames];
        SqrtAlphaProdPrev = new float[frames];
        SqrtOneMinusAlphaProdPrev = new float[frames];
        CSkip = new float[frames];
        COut = new float[frames];
        for (int f = 0; f < frames; f++)
        {
            int level = f / p;
            int t = LevelTimesteps[level];
            int tPrev = level == 0 ? -1 : LevelTimesteps[level - 1];
            float a = Training.AlphaCumprod(t), aPrev = Training.AlphaCumprod(tPrev);
            double scaled = s * t;
            FrameTimesteps[f] = t;
            PrevTimesteps[f] = tPrev;
            AlphaProd[f] = a;
            AlphaProdPrev[f] = aPrev;
            SqrtAlphaProd[f] = MathF.Sqrt(a);
            SqrtOneMinusAlphaProd[f] = MathF.Sqrt(1f - a);
            SqrtAlphaProdPrev[f] = MathF.Sqrt(aPrev);
            SqrtOneMinusAlphaProdPrev[f] = MathF.Sqrt(1f - aPrev);
            CSkip[f] = (float)(sigma2 / ((scaled * scaled) + sigma2));
            COut[f] = (float)(scaled / Math.Sqrt((scaled * scaled) + sigma2));
        }
    }

    /// <summary>The stream configuration.</summary>
    public StreamConfig Config { get; }

    /// <summary>The training schedule (betas, ᾱ).</summary>
    public TrainingSchedule Training { get; }

    /// <summary>The L inference timesteps, noisiest first (RAIN: 999, 749, 499, 249).</summary>
    public int[] InferenceTimesteps { get; }

    /// <summary>Timestep of each level, cleanest first (RAIN: 249, 499, 749, 999).</summary>
    public int[] LevelTimesteps { get; }

    /// <summary>Timestep of each of the F frames, cleanest first.</summary>
    public int[] FrameTimesteps { get; }

    /// <summary>The timestep each frame is re-noised to: the next cleaner level's; −1 for the cleanest level.</summary>
    public int[] PrevTimesteps { get; }

    /// <summary>ᾱ_t per frame.</summary>
    public float[] AlphaProd { get; }

    /// <summary>ᾱ_prev per frame (1 where t_prev &lt; 0).</summary>
    public float[] AlphaProdPrev { get; }

    /// <summary>√ᾱ_t per frame.</summary>
    public float[] SqrtAlphaProd { get; }

    /// <summary>√(1−ᾱ_t) per frame.</summary>
    public float[] SqrtOneMinusAlphaProd { get; }

    /// <summary>√ᾱ_prev per frame.</summary>
    public float[] SqrtAlphaProdPrev { get; }

    /// <summary>√(1−ᾱ_prev) per frame: the weight of the re-noising ε, exactly 0 at the cleanest level.</summary>
    public float[] SqrtOneMinusAlphaProdPrev { get; }

    /// <summary>c_skip per frame.</summary>
    public float[] CSkip { get; }

    /// <summary>c_out per frame.</summary>
    public float[] COut { get; }
}

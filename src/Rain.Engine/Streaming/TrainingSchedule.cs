namespace Rain.Engine.Streaming;

/// <summary>
/// The training noise schedule: betas and ᾱ (<c>alphas_cumprod</c>) for every training timestep, as RAIN's LCM
/// scheduler builds them (spec §2.7): scaled-linear betas, optional zero-terminal-SNR rescale, ᾱ_t = ∏(1−β).
/// </summary>
/// <remarks>
/// The betas are computed in float64 (the rescale's ratios of tiny numbers near t = T−1 need it) and rounded to
/// float32 once. ᾱ is then formed exactly as the original scheduler forms it from its float32 betas: α = 1 − β in
/// float32, and a product accumulated in float64 with each prefix rounded to float32 (PyTorch's CPU <c>cumprod</c>).
/// That float32 rounding of the 1000 factors moves ᾱ by up to 1e-6 relative from the exact value (t = 499:
/// 0.24235895 against 0.24235917), which shows in outputs where the terms of x̂₀ = √ᾱ·x − √(1−ᾱ)·v̂ cancel; matching
/// the original's factors keeps the step within 1e-7 of it.
/// </remarks>
public sealed class TrainingSchedule
{
    private readonly float[] _betas;
    private readonly float[] _alphasCumprod;

    /// <summary>Builds the schedule for <paramref name="config"/>.</summary>
    public TrainingSchedule(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        int n = config.TrainTimesteps;
        var betas = new double[n];
        for (int i = 0; i < n; i++)
        {
            double f = (double)i / (n - 1);
            betas[i] = config.BetaSchedule switch
            {
                BetaSchedule.Linear => config.BetaStart + ((config.BetaEnd - config.BetaStart) * f),
                _ => Square(Math.Sqrt(config.BetaStart) + ((Math.Sqrt(config.BetaEnd) - Math.Sqrt(config.BetaStart)) * f)),
            };
        }

        if (config.RescaleZeroTerminalSnr)
            betas = RescaleZeroTerminalSnr(betas);

        // The scheduler's own step, as the original runs it: float32 betas, α = 1 − β in float32, then the product.
        _betas = Array.ConvertAll(betas, b => (float)b);
        _alphasCumprod = Cumprod(Array.ConvertAll(_betas, b => 1f - b));
    }

    /// <summary>The configuration this schedule was built from.</summary>
    public SchedulerConfig Config { get; }

    /// <summary>β_t after the optional rescale, t = 0..T−1.</summary>
    public ReadOnlySpan<float> Betas => _betas;

    /// <summary>ᾱ_t = ∏_{i≤t} (1−β_i), t = 0..T−1 (float32).</summary>
    public ReadOnlySpan<float> AlphasCumprod => _alphasCumprod;

    /// <summary>ᾱ used for the step before timestep 0 (<c>final_alpha_cumprod</c>): 1, as <c>set_alpha_to_one</c>.</summary>
    public static float FinalAlphaCumprod => 1f;

    /// <summary>ᾱ_t, or 1 for t &lt; 0 (the "previous" timestep of the last inference step).</summary>
    public float AlphaCumprod(int t) =>
        t < 0 ? FinalAlphaCumprod : t < _alphasCumprod.Length ? _alphasCumprod[t]
            : throw new ArgumentOutOfRangeException(nameof(t), t, $"Timestep must be below {_alphasCumprod.Length}.");

    /// <summary>
    /// The L inference timesteps with trailing spacing, noisiest first: round(arange(T, 0, −T/L)) − 1, rounding half
    /// to even as numpy does. RAIN, T = 1000, L = 4: [999, 749, 499, 249].
    /// </summary>
    public int[] InferenceTimesteps(int levels)
    {
        int n = Config.TrainTimesteps;
        if (levels < 1 || levels > n)
            throw new ArgumentOutOfRangeException(nameof(levels), levels, $"Inference steps must be between 1 and {n}.");
        double stepRatio = (double)n / levels;
        var result = new int[levels];
        for (int i = 0; i < levels; i++)
            result[i] = (int)Math.Round(n - (i * stepRatio), MidpointRounding.ToEven) - 1;
        return result;
    }

    // torch.cumprod on the CPU: float64 accumulator, each prefix rounded to float32.
    private static float[] Cumprod(float[] values)
    {
        var result = new float[values.Length];
        double acc = 1.0;
        for (int i = 0; i < values.Length; i++)
        {
            acc *= values[i];
            result[i] = (float)acc;
        }

        return result;
    }

    // diffusers' rescale_zero_terminal_snr: shift and scale √ᾱ so that its last value is 0 and its first unchanged,
    // then recover the betas from ratios of consecutive ᾱ (float64 here).
    private static double[] RescaleZeroTerminalSnr(double[] betas)
    {
        int n = betas.Length;
        var sqrtBar = new double[n];
        double acc = 1.0;
        for (int i = 0; i < n; i++)
        {
            acc *= 1.0 - betas[i];
            sqrtBar[i] = Math.Sqrt(acc);
        }

        double first = sqrtBar[0], last = sqrtBar[n - 1];
        double scale = first / (first - last);
        var bar = new double[n];
        for (int i = 0; i < n; i++)
            bar[i] = Square((sqrtBar[i] - last) * scale);

        var result = new double[n];
        result[0] = 1.0 - bar[0];
        for (int i = 1; i < n; i++)
            result[i] = 1.0 - (bar[i] / bar[i - 1]);
        return result;
    }

    private static double Square(double x) => x * x;
}

namespace Rain.Engine.Streaming;

/// <summary>
/// The training noise schedule: betas and ᾱ (<c>alphas_cumprod</c>) for every training timestep, as RAIN's LCM
/// scheduler builds them (spec §2.7): scaled-linear betas, optional zero-terminal-SNR rescale, ᾱ_t = ∏(1−β).
/// Computed in float64 and rounded once to float32, so the table is the exact value to within one float32 rounding.
/// </summary>
public sealed class TrainingSchedule
{
    private readonly float[] _betas;
    private readonly float[] _alphasCumprod;
    private readonly double[] _alphasCumprod64;

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

        var cumprod = new double[n];
        double acc = 1.0;
        for (int i = 0; i < n; i++)
        {
            acc *= 1.0 - betas[i];
            cumprod[i] = acc;
        }

        _alphasCumprod64 = cumprod;
        _betas = Array.ConvertAll(betas, b => (float)b);
        _alphasCumprod = Array.ConvertAll(cumprod, a => (float)a);
    }

    /// <summary>The configuration this schedule was built from.</summary>
    public SchedulerConfig Config { get; }

    /// <summary>β_t after the optional rescale, t = 0..T−1.</summary>
    public ReadOnlySpan<float> Betas => _betas;

    /// <summary>ᾱ_t = ∏_{i≤t} (1−β_i), t = 0..T−1 (float32).</summary>
    public ReadOnlySpan<float> AlphasCumprod => _alphasCumprod;

    /// <summary>ᾱ used for the step before timestep 0 (<c>final_alpha_cumprod</c>): 1, as <c>set_alpha_to_one</c>.</summary>
    public static float FinalAlphaCumprod => 1f;

    /// <summary>ᾱ_t in float64, or 1 for t &lt; 0 (the "previous" timestep of the last inference step).</summary>
    public double AlphaCumprod(int t) =>
        t < 0 ? 1.0 : t < _alphasCumprod64.Length ? _alphasCumprod64[t]
            : throw new ArgumentOutOfRangeException(nameof(t), t, $"Timestep must be below {_alphasCumprod64.Length}.");

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

    // diffusers' rescale_zero_terminal_snr: shift and scale √ᾱ so that its last value is 0 and its first unchanged,
    // then recover the betas from ratios of consecutive ᾱ.
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

namespace Rain.Engine.Streaming;

/// <summary>How the training betas are spaced (diffusers' <c>beta_schedule</c>).</summary>
public enum BetaSchedule
{
    /// <summary>β_i linear from <c>BetaStart</c> to <c>BetaEnd</c>.</summary>
    Linear,

    /// <summary>√β_i linear from √<c>BetaStart</c> to √<c>BetaEnd</c>, then squared (Stable Diffusion, RAIN).</summary>
    ScaledLinear,
}

/// <summary>
/// The LCM scheduler constants RAIN takes from <c>noise_scheduler_kwargs</c> (spec §2.7). Immutable; every
/// value is checked when it is set, so an invalid configuration never reaches any computation.
/// </summary>
/// <remarks>
/// Only what RAIN uses is supported: v-prediction, trailing timestep spacing and ᾱ_final = 1. Those three are
/// therefore not settings; the record states them as constants so that a bundle can record them.
/// </remarks>
public sealed record SchedulerConfig
{
    private readonly int _trainTimesteps = 1000;
    private readonly double _betaStart = 0.00085;
    private readonly double _betaEnd = 0.012;
    private readonly double _timestepScaling = 10.0;
    private readonly double _sigmaData = 0.5;

    /// <summary>RAIN's scheduler (<c>configs/rain_morpher.yaml</c>): 1000 steps, scaled-linear 0.00085→0.012, zero-SNR rescale.</summary>
    public static SchedulerConfig Rain { get; } = new();

    /// <summary>Number of training timesteps T (<c>num_train_timesteps</c>); 2 to 100000.</summary>
    public int TrainTimesteps
    {
        get => _trainTimesteps;
        init => _trainTimesteps = value is >= 2 and <= 100_000
            ? value
            : throw new ArgumentOutOfRangeException(nameof(TrainTimesteps), value, $"TrainTimesteps (num_train_timesteps) must be between 2 and 100000; got {value}.");
    }

    /// <summary>First beta (<c>beta_start</c>); in (0, 1) and below <see cref="BetaEnd"/>.</summary>
    public double BetaStart
    {
        get => _betaStart;
        init => _betaStart = value is > 0 and < 1 && double.IsFinite(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(BetaStart), value, $"BetaStart (beta_start) must lie in (0, 1); got {value}.");
    }

    /// <summary>Last beta (<c>beta_end</c>); in (0, 1) and above <see cref="BetaStart"/>.</summary>
    public double BetaEnd
    {
        get => _betaEnd;
        init => _betaEnd = value is > 0 and < 1 && double.IsFinite(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(BetaEnd), value, $"BetaEnd (beta_end) must lie in (0, 1); got {value}.");
    }

    /// <summary>Beta spacing (<c>beta_schedule</c>).</summary>
    public BetaSchedule BetaSchedule { get; init; } = BetaSchedule.ScaledLinear;

    /// <summary>Rescale betas to zero terminal SNR (<c>rescale_betas_zero_snr</c>), so that ᾱ_{T−1} = 0.</summary>
    public bool RescaleZeroTerminalSnr { get; init; } = true;

    /// <summary>LCM boundary-condition timestep scaling (<c>timestep_scaling</c>); positive.</summary>
    public double TimestepScaling
    {
        get => _timestepScaling;
        init => _timestepScaling = value > 0 && double.IsFinite(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(TimestepScaling), value, $"TimestepScaling must be positive and finite; got {value}.");
    }

    /// <summary>σ_data of the LCM boundary condition (fixed at 0.5 in diffusers); positive.</summary>
    public double SigmaData
    {
        get => _sigmaData;
        init => _sigmaData = value > 0 && double.IsFinite(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(SigmaData), value, $"SigmaData must be positive and finite; got {value}.");
    }

    /// <summary>The model predicts v (<c>prediction_type: v_prediction</c>); the only type RAIN uses.</summary>
    public const string PredictionType = "v_prediction";

    /// <summary>Inference timesteps are spaced "trailing" (<c>timestep_spacing: trailing</c>); the only spacing RAIN uses.</summary>
    public const string TimestepSpacing = "trailing";

    /// <summary>Checks the relations between values (each value alone was checked when set).</summary>
    /// <exception cref="ArgumentException">BetaStart is not below BetaEnd.</exception>
    public void Validate()
    {
        if (!(BetaStart < BetaEnd))
            throw new ArgumentException($"BetaStart ({BetaStart}) must be smaller than BetaEnd ({BetaEnd}).");
    }
}

namespace Rain.Engine.Streaming;

/// <summary>
/// The shape of a stream: p frames per noise level, L levels, the image size and the scheduler. Immutable;
/// single values are checked when set and <see cref="Validate"/> checks the relations between them. Every type
/// that consumes a configuration validates it first, so nothing runs on an invalid one.
/// </summary>
public sealed record StreamConfig
{
    /// <summary>Largest p and largest L. RAIN's motion modules also limit F = p·L to the length of their positional
    /// encoding (32 positions, <c>temporal_position_encoding_max_len</c>); that limit belongs to the model and is
    /// checked by <see cref="EnsureFitsPositionalEncoding"/> once a model is known.</summary>
    public const int MaxFrames = 32;

    /// <summary>Image sizes must be multiples of this: the VAE divides by 8 and the UNet halves the latent three times.</summary>
    public const int SizeMultiple = 64;

    /// <summary>Latent channels of the SD VAE.</summary>
    public const int LatentChannels = 4;

    private readonly int _framesPerLevel = 4;
    private readonly int _levels = 4;
    private readonly int _height = 512;
    private readonly int _width = 512;
    private readonly SchedulerConfig _scheduler = SchedulerConfig.Rain;

    /// <summary>RAIN's stream: 512×512, p = 4, L = 4 (F = 16), RAIN's scheduler.</summary>
    public static StreamConfig Rain { get; } = new();

    /// <summary>p: frames per chunk, i.e. frames that enter and leave per step (1 to 32).</summary>
    public int FramesPerLevel
    {
        get => _framesPerLevel;
        init => _framesPerLevel = value is >= 1 and <= MaxFrames
            ? value
            : throw new ArgumentOutOfRangeException(nameof(FramesPerLevel), value, $"FramesPerLevel (p) must be between 1 and {MaxFrames}; got {value}.");
    }

    /// <summary>L: noise levels held in the window, which is also the number of LCM inference steps per chunk (1 to 32).</summary>
    public int Levels
    {
        get => _levels;
        init => _levels = value is >= 1 and <= MaxFrames
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Levels), value, $"Levels (L) must be between 1 and {MaxFrames}; got {value}.");
    }

    /// <summary>Image height in pixels; a positive multiple of 64.</summary>
    public int Height
    {
        get => _height;
        init => _height = CheckSize(value, nameof(Height));
    }

    /// <summary>Image width in pixels; a positive multiple of 64.</summary>
    public int Width
    {
        get => _width;
        init => _width = CheckSize(value, nameof(Width));
    }

    /// <summary>Scheduler constants.</summary>
    public SchedulerConfig Scheduler
    {
        get => _scheduler;
        init => _scheduler = value ?? throw new ArgumentNullException(nameof(Scheduler));
    }

    /// <summary>F = p·L, the frames in one UNet evaluation.</summary>
    public int Frames => FramesPerLevel * Levels;

    /// <summary>Latent height h = H/8.</summary>
    public int LatentHeight => Height / 8;

    /// <summary>Latent width w = W/8.</summary>
    public int LatentWidth => Width / 8;

    /// <summary>Elements of one latent frame, 4·h·w.</summary>
    public int LatentFrameElements => LatentChannels * LatentHeight * LatentWidth;

    /// <summary>Checks the relations between values.</summary>
    /// <exception cref="ArgumentException">L exceeds the training timesteps, or the scheduler is inconsistent.</exception>
    public void Validate()
    {
        if (Levels > Scheduler.TrainTimesteps)
            throw new ArgumentException($"Levels ({Levels}) cannot exceed the scheduler's TrainTimesteps ({Scheduler.TrainTimesteps}).");
        Scheduler.Validate();
    }

    /// <summary>Checks that the F = p·L frames of a window fit a model whose motion modules encode <paramref name="positions"/> positions.</summary>
    /// <exception cref="ArgumentException">F exceeds <paramref name="positions"/>.</exception>
    public void EnsureFitsPositionalEncoding(int positions)
    {
        if (Frames > positions)
            throw new ArgumentException(
                $"FramesPerLevel × Levels = {FramesPerLevel} × {Levels} = {Frames} frames, but the model's motion modules encode only {positions} " +
                "frame positions (temporal_position_encoding_max_len). Reduce p or L.");
    }

    private static int CheckSize(int value, string name) =>
        value > 0 && value % SizeMultiple == 0 && value <= 8192
            ? value
            : throw new ArgumentOutOfRangeException(name, value,
                $"{name} must be a positive multiple of {SizeMultiple} up to 8192 (the VAE divides by 8 and the UNet halves the latent three times); got {value}.");
}

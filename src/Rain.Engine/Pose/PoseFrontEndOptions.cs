namespace Rain.Engine.Pose;

/// <summary>
/// How a <see cref="PoseFrontEnd"/> runs. Immutable; every value is checked when it is set (an
/// <see cref="ArgumentOutOfRangeException"/> names the option and what is allowed). The defaults are RAIN's live app.
/// </summary>
public sealed record PoseFrontEndOptions
{
    /// <summary>Largest pose-image side (the detection size).</summary>
    public const int MaxSide = 4096;

    /// <summary>Largest camera frame side accepted (as <see cref="Media.ImageCodec.MaxSide"/>).</summary>
    public const int MaxFrameSide = Media.ImageCodec.MaxSide;

    private readonly int _width = 512, _height = 512, _damping = 1, _threads;
    private readonly double? _crop = DefaultCenterCrop;
    private readonly RetargetOptions _retarget = RetargetOptions.Live;

    /// <summary>RAIN's web-UI centre crop for camera frames (<c>cropping</c>, <c>gradio_app.py:19</c>).</summary>
    public const double DefaultCenterCrop = 0.9;

    /// <summary>
    /// Width of the detection size (RAIN: 512): every frame is resized to Width×Height before detection, keypoints are
    /// normalised by it, and the pose image has this size. Give the engine's image size when the pose images feed it.
    /// </summary>
    public int Width
    {
        get => _width;
        init => _width = value is >= 1 and <= MaxSide ? value : throw new ArgumentOutOfRangeException(nameof(Width), value, $"Width must be 1 to {MaxSide} pixels.");
    }

    /// <summary>Height of the detection size (RAIN: 512).</summary>
    public int Height
    {
        get => _height;
        init => _height = value is >= 1 and <= MaxSide ? value : throw new ArgumentOutOfRangeException(nameof(Height), value, $"Height must be 1 to {MaxSide} pixels.");
    }

    /// <summary>
    /// The web UI's centre crop applied to every frame before detection (spec §1: d = trunc(min(h, w)·crop), a centred
    /// d×d square, one larger where the margin is odd). RAIN crops camera frames with 0.9 (the default); null takes
    /// the frame whole (frames that are already cropped, such as the golden vectors' or a pose video's). Must be in
    /// (0, 1]: RAIN's 0 leaves an empty image, which it then fails to resize.
    /// </summary>
    public double? CenterCrop
    {
        get => _crop;
        init => _crop = value is null || (value > 0 && value <= 1) ? value : throw new ArgumentOutOfRangeException(nameof(CenterCrop), value, "CenterCrop must be in (0, 1], or null for no crop.");
    }

    /// <summary>The face cache's damping window (RAIN's <c>damping_step</c>; live: 1, i.e. no smoothing). 1 to 64.</summary>
    public int DampingStep
    {
        get => _damping;
        init => _damping = value is >= 1 and <= 64 ? value : throw new ArgumentOutOfRangeException(nameof(DampingStep), value, "DampingStep must be 1 to 64 frames.");
    }

    /// <summary>The initial face retargeting (RAIN's live list by default); swap it later with <see cref="PoseFrontEnd.Retarget"/>.</summary>
    public RetargetOptions Retarget
    {
        get => _retarget;
        init => _retarget = value ?? throw new ArgumentNullException(nameof(Retarget));
    }

    /// <summary>ONNX Runtime intra-op threads of each model; 0 lets ONNX Runtime use every core.</summary>
    public int Threads
    {
        get => _threads;
        init => _threads = value is >= 0 and <= 1024 ? value : throw new ArgumentOutOfRangeException(nameof(Threads), value, "Threads must be 0 (all cores) to 1024.");
    }
}

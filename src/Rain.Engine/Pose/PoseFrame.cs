namespace Rain.Engine.Pose;

/// <summary>The person box the pose model used, in detection-space pixels (not clipped: it may leave the image).</summary>
/// <param name="X1">Left.</param>
/// <param name="Y1">Top.</param>
/// <param name="X2">Right.</param>
/// <param name="Y2">Bottom.</param>
/// <param name="Score">Detector score (objectness × person probability).</param>
public readonly record struct PersonBox(double X1, double Y1, double X2, double Y2, double Score);

/// <summary>Where one frame's time went in the front end, in milliseconds.</summary>
/// <param name="DetectorMilliseconds">The YOLOX model run (ONNX Runtime).</param>
/// <param name="EstimatorMilliseconds">The DWPose/RTMPose model run (ONNX Runtime).</param>
/// <param name="OtherMilliseconds">Everything else: crop, resize, letterbox, decoding, NMS, affine crop, SimCC,
/// face cache, retargeting and drawing (the front end's own work).</param>
public readonly record struct PoseTimings(double DetectorMilliseconds, double EstimatorMilliseconds, double OtherMilliseconds)
{
    /// <summary>The whole frame.</summary>
    public double TotalMilliseconds => DetectorMilliseconds + EstimatorMilliseconds + OtherMilliseconds;
}

/// <summary>
/// What <see cref="PoseFrontEnd.Process(ReadOnlySpan{byte}, int, int, int, Span{byte})"/> found for the last frame. The
/// spans are views of the front end's own buffers: valid until the next <c>Process</c> call on the same front end (copy
/// what you keep), and read on the thread that called <c>Process</c>.
/// </summary>
public sealed class PoseFrame
{
    private readonly PoseFrontEnd _owner;

    internal PoseFrame(PoseFrontEnd owner) => _owner = owner;

    /// <summary>Frames this front end has processed before this one (0 for the first).</summary>
    public long Index { get; internal set; } = -1;

    /// <summary>The largest person box, or null when the detector found none (the pose model then ran on the whole image).</summary>
    public PersonBox? Person { get; internal set; }

    /// <summary>134 keypoints, (x, y) pairs in detection-space pixels, OpenPose order (0–17 body with the neck at 1,
    /// 18–23 feet, 24–91 face, 92–112 left hand, 113–133 right hand).</summary>
    public ReadOnlySpan<double> Keypoints => _owner.Keypoints134;

    /// <summary>The 134 keypoint scores (the neck's is 0 or 1).</summary>
    public ReadOnlySpan<double> Scores => _owner.Scores134;

    /// <summary>
    /// The 68 face landmarks as drawn: (x, y) pairs normalised by the detection size, after the face cache, damping and
    /// the translations (the golden vectors' <c>face_translated</c>; −1-derived values where a point was never seen).
    /// </summary>
    public ReadOnlySpan<double> Face => _owner.Drawing.Translated;

    /// <summary>The 68 face landmarks after the cache and damping, before the translations (normalised).</summary>
    public ReadOnlySpan<double> FaceDamped => _owner.FaceDampedBuffer;

    /// <summary>The circle radius in pixels (max(trunc(3·l), 1)).</summary>
    public int Radius => _owner.Drawing.Radius;

    /// <summary>Circles drawn (of 26).</summary>
    public int CirclesDrawn => _owner.Drawing.CirclesDrawn;

    /// <summary>Where the frame's time went.</summary>
    public PoseTimings Timings { get; internal set; }
}

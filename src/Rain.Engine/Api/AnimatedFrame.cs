using Rain.Engine.Media;

namespace Rain.Engine.Api;

/// <summary>
/// One output frame of an <see cref="AnimationSession"/>. The session lends it from a pool: read it, then
/// <see cref="Dispose"/> it to hand the buffer back (a frame that is never disposed is simply collected, but the session
/// then allocates a new buffer, so a steady stream is only allocation-free when frames are disposed). Do not use a frame
/// after disposing it.
/// </summary>
public sealed class AnimatedFrame : IDisposable
{
    private readonly Action<AnimatedFrame> _return;

    internal AnimatedFrame(int width, int height, Action<AnimatedFrame> returnToPool, bool withPose)
    {
        Image = new RgbImage(width, height);
        Pose = withPose ? new RgbImage(width, height) : null;
        _return = returnToPool;
    }

    /// <summary>Frame index in the stream: frame i belongs to the i-th pose processed (0-based; poses dropped by latest-frame-wins are not counted).</summary>
    public long Index { get; internal set; }

    /// <summary>The image (RGB, the bundle's size). Owned by the frame; valid until <see cref="Dispose"/>.</summary>
    public RgbImage Image { get; }

    /// <summary>
    /// Time from its pose entering the session to this frame leaving it (queued for the reader), in ms: from the push of a
    /// pose image, or from the capture time of a camera frame (glass to glass, as far as the engine can see).
    /// </summary>
    public double LatencyMilliseconds { get; internal set; }

    /// <summary>
    /// Time from its pose image being queued for the stream steps to this frame leaving the session, in ms: the engine's
    /// own latency (pose in → frame out). For a pushed pose image the same as <see cref="LatencyMilliseconds"/>; for a
    /// camera frame it leaves out the wait for the pose front end and the front end itself, which
    /// <see cref="LatencyMilliseconds"/> (glass to glass) includes.
    /// </summary>
    public double EngineLatencyMilliseconds { get; internal set; }

    /// <summary>
    /// When its pose entered the session, as a <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> value: the push of a
    /// pose image, or the capture timestamp given with a camera frame (so a host can find the camera frame it came from).
    /// </summary>
    public long EnteredTimestamp { get; internal set; }

    /// <summary>
    /// The pose image this frame was animated from (the pose the caller pushed, or the one the pose front end drew from a
    /// camera frame) when <see cref="EngineOptions.AttachPoseImages"/> is on; null otherwise. Owned by the frame.
    /// </summary>
    public RgbImage? Pose { get; }

    internal bool Lent { get; set; }

    /// <summary>Returns the frame's buffer to the session's pool. Idempotent.</summary>
    public void Dispose()
    {
        if (Lent)
        {
            Lent = false;
            _return(this);
        }
    }
}

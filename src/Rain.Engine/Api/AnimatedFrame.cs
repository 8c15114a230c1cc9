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

    internal AnimatedFrame(int width, int height, Action<AnimatedFrame> returnToPool)
    {
        Image = new RgbImage(width, height);
        _return = returnToPool;
    }

    /// <summary>Frame index in the stream: frame i belongs to the i-th pose processed (0-based; poses dropped by latest-frame-wins are not counted).</summary>
    public long Index { get; internal set; }

    /// <summary>The image (RGB, the bundle's size). Owned by the frame; valid until <see cref="Dispose"/>.</summary>
    public RgbImage Image { get; }

    /// <summary>Time from its pose entering the session (push) to this frame leaving it (queued for the reader), in ms.</summary>
    public double LatencyMilliseconds { get; internal set; }

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

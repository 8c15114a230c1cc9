namespace Rain.Engine.Api;

/// <summary>A snapshot of a session's telemetry (see <see cref="AnimationSession.Statistics"/>).</summary>
/// <param name="Steps">Stream steps completed.</param>
/// <param name="FramesOut">Frames emitted.</param>
/// <param name="DroppedPoses">Pose images dropped because the queue was full (latest-frame-wins only).</param>
/// <param name="FramesPerSecond">Frames emitted per second, from the first step's start to the last frame out.</param>
/// <param name="StepTime">Whole-step durations (ms).</param>
/// <param name="FrameLatency">Per frame, its pose entering to its image leaving (ms).</param>
/// <param name="Stages">Per-stage time per step (ms).</param>
/// <param name="AllocatedBytesLastStep">Managed bytes the step thread allocated during the last step (0 in steady state).</param>
/// <param name="AllocatedBytesTotal">Managed bytes the step thread allocated inside steps since the start.</param>
/// <param name="AllocatingSteps">Steps that allocated any managed memory (warm-up only, in steady state none).</param>
public sealed record SessionStatistics(
    long Steps,
    long FramesOut,
    long DroppedPoses,
    double FramesPerSecond,
    LatencySummary StepTime,
    LatencySummary FrameLatency,
    IReadOnlyDictionary<Stage, LatencySummary> Stages,
    long AllocatedBytesLastStep,
    long AllocatedBytesTotal,
    long AllocatingSteps)
{
    /// <summary>Camera frames and the pose front end (null when no camera frame was pushed): see <see cref="CameraStatistics"/>.</summary>
    public CameraStatistics? Camera { get; init; }
}

/// <summary>
/// The camera path of a session: frames pushed with <see cref="AnimationSession.PushCameraFrame(ReadOnlySpan{byte}, int, int, int, long, CancellationToken)"/>
/// and the pose front end's time per frame on the session's pose thread.
/// </summary>
/// <param name="FramesIn">Camera frames accepted.</param>
/// <param name="Dropped">Camera frames dropped before the front end because a newer one came (latest-frame-wins only).</param>
/// <param name="Detector">The person detector's model run per frame (ms).</param>
/// <param name="Estimator">The pose model's run per frame (ms).</param>
/// <param name="Other">The front end's own work per frame: crop, resize, letterbox, NMS, affine crop, decoding, face cache, retargeting, drawing (ms).</param>
/// <param name="Total">The whole front end per frame (ms).</param>
public sealed record CameraStatistics(long FramesIn, long Dropped, LatencySummary Detector, LatencySummary Estimator, LatencySummary Other, LatencySummary Total);

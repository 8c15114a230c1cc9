using System.Diagnostics;
using Rain.Engine.Api;

namespace Rain.Engine.Diagnostics;

/// <summary>
/// A session's part of the timeline: "pose in" on the pushing thread, "frame out" on the step thread, queue depths, and
/// one flow per frame — pose in → the step that took the pose (its PoseInput) → the step that decoded it (its
/// FrameOutput) → frame out. A pose is identified by the timestamp at which it entered the queue, which the session
/// keeps with it until its frame leaves.
/// </summary>
internal sealed class SessionTrace(TraceWriter trace, StageTimings timings)
{
    private const string Flow = "frame";

    /// <summary>
    /// A pose entered the queue at <paramref name="now"/> (called by the pushing thread); its flow is named by
    /// <paramref name="entered"/>, the time the session keeps with it (its push, or its camera frame's capture).
    /// </summary>
    public void PoseIn(long entered, long now, int queued)
    {
        trace.Slice("pose in", "session", now, Stopwatch.GetTimestamp(), TraceWriter.Args.Pose, queued);
        trace.Flow(TraceWriter.Kind.FlowStart, Flow, entered, now);
    }

    /// <summary>The oldest pending pose was dropped for a new one (latest-frame-wins).</summary>
    public void Dropped(long at) => trace.Instant("pose dropped", "session", at);

    /// <summary>A step finished that took the poses that entered at <paramref name="entered"/>; the queues after it.</summary>
    public void StepDone(ReadOnlySpan<long> entered, int inputQueue, int outputQueue)
    {
        long poseInput = timings.LastStart(Stage.PoseInput);
        foreach (long id in entered)
            trace.Flow(TraceWriter.Kind.FlowStep, Flow, id, poseInput);
        trace.Counter("queues", timings.LastStep.End, TraceWriter.Args.Queues, inputQueue, outputQueue);
    }

    /// <summary>
    /// A frame entered the output queue: the slice from <paramref name="start"/> (before waiting for room) to now, and
    /// the end of its flow through the decoding step's FrameOutput.
    /// </summary>
    public void FrameOut(long entered, long start, long frame, double latencyMilliseconds)
    {
        trace.Flow(TraceWriter.Kind.FlowStep, Flow, entered, timings.LastStart(Stage.FrameOutput));
        trace.Slice("frame out", "session", start, Stopwatch.GetTimestamp(), TraceWriter.Args.Frame, frame, 0, latencyMilliseconds);
        trace.Flow(TraceWriter.Kind.FlowEnd, Flow, entered, start);
    }
}

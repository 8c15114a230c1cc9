using System.Diagnostics;

namespace Rain.Engine.Api;

/// <summary>The stages of one stream step whose time is measured.</summary>
public enum Stage
{
    /// <summary>Pose images to tensors (host).</summary>
    PoseInput,

    /// <summary>The pose guider on the p new frames.</summary>
    PoseGuider,

    /// <summary>The UNet's network parts (all of them, excluding the attention cores).</summary>
    UNetParts,

    /// <summary>The 42 cross-noise attention cores between UNet parts.</summary>
    Attention,

    /// <summary>Noise, the LCM step and the roll of the windows.</summary>
    Scheduler,

    /// <summary>The TAESDV decoder on the p cleanest frames.</summary>
    Decode,

    /// <summary>Decoded tensors to output images (host).</summary>
    FrameOutput,

    /// <summary>Buffer copies between stages.</summary>
    Copies,

    /// <summary>
    /// GPU backends: the whole device step — pose upload, pose guider, UNet parts and attention kernels, noise and LCM step,
    /// decoder, frames back — launched as one CUDA graph (or part by part) and waited for. Its parts are not timed one by
    /// one (that would need a synchronisation between them); profile them with Nsight Systems and
    /// <see cref="EngineOptions.UseCudaGraph"/> off.
    /// </summary>
    Device,
}

/// <summary>
/// Per-stage time of the last step and summaries over the run, one <see cref="LatencyRecorder"/> per stage and one for
/// the whole step. Begin/End pairs never allocate.
/// </summary>
public sealed class StageTimings
{
    private static readonly Stage[] Stages = Enum.GetValues<Stage>();
    private readonly LatencyRecorder[] _recorders;
    private readonly double[] _current = new double[Stages.Length];

    /// <summary>Creates recorders keeping <paramref name="capacity"/> samples each.</summary>
    public StageTimings(int capacity = 65536)
    {
        _recorders = Stages.Select(_ => new LatencyRecorder(capacity)).ToArray();
        Step = new LatencyRecorder(capacity);
    }

    /// <summary>Whole-step durations.</summary>
    public LatencyRecorder Step { get; }

    /// <summary>The recorder of one stage.</summary>
    public LatencyRecorder this[Stage stage] => _recorders[(int)stage];

    /// <summary>Adds time to <paramref name="stage"/> for the step in progress.</summary>
    public void Add(Stage stage, long startTimestamp) => _current[(int)stage] += Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;

    /// <summary>Closes the step in progress: records each stage's accumulated time and the step's total.</summary>
    public void EndStep(long stepStartTimestamp)
    {
        for (int i = 0; i < _current.Length; i++)
        {
            _recorders[i].Record(_current[i]);
            _current[i] = 0;
        }

        Step.RecordSince(stepStartTimestamp);
    }

    /// <summary>Summaries of every stage.</summary>
    public IReadOnlyDictionary<Stage, LatencySummary> Summaries() => Stages.ToDictionary(s => s, s => _recorders[(int)s].Summarize());
}

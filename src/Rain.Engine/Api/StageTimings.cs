using System.Diagnostics;
using Rain.Engine.Diagnostics;
using Rain.Engine.Streaming;

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
/// the whole step. Begin/End pairs never allocate. When a <see cref="TraceWriter"/> is attached, every timed interval
/// also becomes an event of the timeline (the timing points are the trace's, so the two always agree).
/// </summary>
public sealed class StageTimings
{
    private static readonly Stage[] Stages = Enum.GetValues<Stage>();
    private static readonly string[] StageNames = Enum.GetNames<Stage>();
    private static readonly double MillisecondsPerTick = 1000.0 / Stopwatch.Frequency; // TimeSpan would round each piece to 100 ns
    private readonly LatencyRecorder[] _recorders;
    private readonly double[] _current = new double[Stages.Length];
    private readonly long[] _lastStart = new long[Stages.Length];
    private long _lastStepStart, _lastStepEnd;

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

    /// <summary>Where the intervals also go as trace events; null (the default) records none.</summary>
    internal TraceWriter? Trace { get; set; }

    /// <summary>Whether each step's trace carries a flow from the chunk's pose input to its frame output L−1 steps later (off when a session draws per-frame flows).</summary>
    internal bool ChunkFlows { get; set; } = true;

    /// <summary>Start and end of the last completed step (Stopwatch ticks; valid while tracing).</summary>
    internal (long Start, long End) LastStep => (_lastStepStart, _lastStepEnd);

    /// <summary>Adds time to <paramref name="stage"/> for the step in progress.</summary>
    public void Add(Stage stage, long startTimestamp)
    {
        long now = Stopwatch.GetTimestamp();
        _current[(int)stage] += (now - startTimestamp) * MillisecondsPerTick;
        if (Trace is { } trace)
        {
            _lastStart[(int)stage] = startTimestamp;
            trace.Slice(StageNames[(int)stage], "stage", startTimestamp, now);
        }
    }

    /// <summary>Closes the step in progress: records each stage's accumulated time and the step's total.</summary>
    /// <param name="stepStartTimestamp">When the step began (<see cref="Stopwatch.GetTimestamp"/>).</param>
    /// <param name="outcome">What the step did (the trace's step number and decoded chunk).</param>
    public void EndStep(long stepStartTimestamp, StepOutcome outcome)
    {
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < _current.Length; i++)
        {
            _recorders[i].Record(_current[i]);
            _current[i] = 0;
        }

        double ms = (now - stepStartTimestamp) * MillisecondsPerTick;
        Step.Record(ms);
        EngineMetrics.StepCompleted(ms);
        if (Trace is not { } trace)
            return;
        (_lastStepStart, _lastStepEnd) = (stepStartTimestamp, now);
        trace.Slice("step", "step", stepStartTimestamp, now, TraceWriter.Args.Step, outcome.Step, outcome.Emit ? outcome.DecodedChunk : -1);
        if (!ChunkFlows)
            return;

        // The chunk that entered at this step leaves, decoded, L−1 steps later: an arrow from its pose input to its frames.
        trace.Flow(TraceWriter.Kind.FlowStart, "chunk", outcome.Step, _lastStart[(int)Stage.PoseInput]);
        if (outcome.Emit)
            trace.Flow(TraceWriter.Kind.FlowEnd, "chunk", outcome.DecodedChunk, _lastStart[(int)Stage.FrameOutput]);
    }

    /// <summary>Summaries of every stage.</summary>
    public IReadOnlyDictionary<Stage, LatencySummary> Summaries() => Stages.ToDictionary(s => s, s => _recorders[(int)s].Summarize());

    /// <summary>Where the last interval of <paramref name="stage"/> began (valid while tracing).</summary>
    internal long LastStart(Stage stage) => _lastStart[(int)stage];

    /// <summary><see cref="Add(Stage, long)"/> for one piece of a stage (a UNet part, an attention core) named in the trace.</summary>
    internal void Add(Stage stage, long startTimestamp, string traceName)
    {
        long now = Stopwatch.GetTimestamp();
        _current[(int)stage] += (now - startTimestamp) * MillisecondsPerTick;
        Trace?.Slice(traceName, stage == Stage.Attention ? "attention" : "unet", startTimestamp, now);
    }

    /// <summary>A trace-only event spanning several timed pieces (the UNet around its parts and attention cores).</summary>
    internal void Group(string traceName, long startTimestamp) => Trace?.Slice(traceName, "stage", startTimestamp, Stopwatch.GetTimestamp());
}

namespace Rain.Engine.Streaming;

/// <summary>What one <see cref="StreamState.Advance"/> did.</summary>
/// <param name="Step">Index of the step that ran (0 for the first).</param>
/// <param name="DecodedChunk">The chunk whose frames left the window through the decoder input; negative for a filler chunk.</param>
/// <param name="Emit">Whether those frames are output: true exactly for real chunks (<paramref name="DecodedChunk"/> ≥ 0).</param>
public readonly record struct StepOutcome(long Step, long DecodedChunk, bool Emit);

/// <summary>
/// The recurrent state of one stream on the host: the latent window <c>[F, 4, h, w]</c>, the pose-feature window
/// <c>[F, C_pose, h, w]</c>, both frame-major and cleanest level first, and the chunk bookkeeping. The CPU backend runs
/// the network between <see cref="NewPoseFeatureSlots"/> and <see cref="Advance"/>; a GPU backend keeps the same
/// layout and schedule on the device.
/// </summary>
/// <remarks>
/// <para><b>Chunks and levels.</b> Chunk c is the c-th group of p pose frames pushed (c = 0, 1, …). At step k (0-based)
/// level ℓ (0 = cleanest, L−1 = noisiest) holds chunk k − (L−1−ℓ) in frames ℓ·p … ℓ·p+p−1. Chunk c therefore enters at
/// step c at level L−1, visits every level once from noisiest to cleanest, and leaves at step c + L − 1, when it is
/// decoded: L−1 steps after it entered.</para>
/// <para><b>Start of stream (clean start).</b> Nothing uninitialised is ever read. Before step 0 the window is filled
/// explicitly: level ℓ &lt; L−1 holds the filler chunk −(L−1−ℓ), whose latent is counter-based noise and whose pose
/// features are zero; level L−1 holds chunk 0's starting noise. Filler chunks are decoded at steps 0 … L−2 and are
/// never emitted (<see cref="StepOutcome.Emit"/> is false); a decoder that keeps memories must not run on them, so
/// the first emitted frame is decoded from zero memories, exactly like a decoder started on it. The first emitted
/// frames are those of chunk 0 — the first real pose chunk — at step L−1, after it has passed every level.</para>
/// <para><b>Noise.</b> The latent of chunk c at level ℓ came from noise stream (c, ℓ) of <see cref="CounterNoise"/>:
/// its starting noise is stream (c, L−1) and the re-noising from level ℓ+1 to ℓ uses stream (c, ℓ). Element e of a
/// stream is element e of the chunk's p frames, frame-major. The cleanest level is not re-noised.</para>
/// <para><b>No aliasing.</b> Each window is double-buffered: a step reads the current buffers and writes the other
/// ones, then the roles swap, so no slot is written while a value in it may still be read.</para>
/// <para>Not thread-safe: one stream, one caller at a time.</para>
/// </remarks>
public sealed class StreamState
{
    private readonly float[][] _latents = new float[2][];
    private readonly float[][] _poses = new float[2][];
    private readonly float[] _noise;
    private readonly float[] _newNoise;
    private readonly float[] _decodeInput;
    private readonly CounterNoise _rng;
    private int _current;
    private bool _newPoseWritten;

    /// <summary>Creates the state and fills the starting window (see remarks).</summary>
    /// <param name="schedule">The window schedule.</param>
    /// <param name="poseChannels">Channels of the pose features (the UNet's first width; RAIN: 320).</param>
    /// <param name="seed">Seed of the counter-based noise.</param>
    public StreamState(LcmSchedule schedule, int poseChannels, ulong seed)
        : this(schedule, poseChannels, seed, poison: null)
    {
    }

    // poison: tests fill every buffer with this value before the start so that a read of an unwritten slot shows.
    internal StreamState(LcmSchedule schedule, int poseChannels, ulong seed, float? poison)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentOutOfRangeException.ThrowIfLessThan(poseChannels, 1);
        Schedule = schedule;
        var c = schedule.Config;
        LatentFrameElements = c.LatentFrameElements;
        PoseFrameElements = checked(poseChannels * c.LatentHeight * c.LatentWidth);
        PoseChannels = poseChannels;
        _rng = new CounterNoise(seed);
        int frames = c.Frames, p = c.FramesPerLevel;
        for (int i = 0; i < 2; i++)
        {
            _latents[i] = GC.AllocateUninitializedArray<float>(checked(frames * LatentFrameElements));
            _poses[i] = GC.AllocateUninitializedArray<float>(checked(frames * PoseFrameElements));
        }

        _noise = GC.AllocateUninitializedArray<float>(frames * LatentFrameElements);
        _newNoise = GC.AllocateUninitializedArray<float>(p * LatentFrameElements);
        _decodeInput = GC.AllocateUninitializedArray<float>(p * LatentFrameElements);
        if (poison is float v)
        {
            foreach (var buffer in new[] { _latents[0], _latents[1], _poses[0], _poses[1], _noise, _newNoise, _decodeInput })
                buffer.AsSpan().Fill(v);
        }

        Reset();
    }

    /// <summary>The window schedule.</summary>
    public LcmSchedule Schedule { get; }

    /// <summary>Channels of the pose features.</summary>
    public int PoseChannels { get; }

    /// <summary>Elements of one latent frame (4·h·w).</summary>
    public int LatentFrameElements { get; }

    /// <summary>Elements of one pose-feature frame (C_pose·h·w).</summary>
    public int PoseFrameElements { get; }

    /// <summary>Steps completed since the start.</summary>
    public long StepIndex { get; private set; }

    /// <summary>Seed of the noise.</summary>
    public ulong Seed => _rng.Seed;

    /// <summary>The latent window <c>[F, 4, h, w]</c> the next step's UNet reads.</summary>
    public ReadOnlySpan<float> Latents => _latents[_current];

    /// <summary>The pose-feature window <c>[F, C_pose, h, w]</c> the next step's UNet reads.</summary>
    public ReadOnlySpan<float> PoseFeatures => _poses[_current];

    /// <summary>The denoised latents <c>[p, 4, h, w]</c> of the chunk the last step took out of the window.</summary>
    public ReadOnlySpan<float> DecodeInput => _decodeInput;

    /// <summary>
    /// Tests: noise supplied from outside instead of <see cref="CounterNoise"/> — called in <see cref="Advance"/> with the
    /// step index, the re-noising buffer of the whole window <c>[F, 4, h, w]</c> (level 0's part is not read) and the new
    /// chunk's starting noise <c>[p, 4, h, w]</c> — so a stream recorded by the original implementation can be replayed
    /// through the engine's own step.
    /// </summary>
    internal Action<long, Span<float>, Span<float>>? NoiseOverride { get; set; }

    /// <summary>
    /// Tests: restarts from an explicit state — the latent and pose-feature windows as given, at step
    /// <paramref name="stepIndex"/> (from L − 1 on, every step emits, since no filler chunk is left in the window).
    /// </summary>
    internal void Restart(ReadOnlySpan<float> latents, ReadOnlySpan<float> poseFeatures, long stepIndex)
    {
        Reset();
        latents.CopyTo(_latents[0]);
        poseFeatures.CopyTo(_poses[0]);
        StepIndex = stepIndex;
    }

    /// <summary>The chunk at <paramref name="level"/> during step <paramref name="step"/>: step − (L−1−level).</summary>
    public long ChunkAt(long step, int level)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(level);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(level, Schedule.Config.Levels);
        return step - (Schedule.Config.Levels - 1 - level);
    }

    /// <summary>Restarts the stream: step 0, the starting window of the remarks, the same seed.</summary>
    public void Reset()
    {
        var c = Schedule.Config;
        int p = c.FramesPerLevel, levels = c.Levels;
        int chunkElements = p * LatentFrameElements;
        _current = 0;
        StepIndex = 0;
        _newPoseWritten = false;
        for (int level = 0; level < levels; level++)
        {
            long chunk = ChunkAt(0, level);
            _rng.Fill(chunk, level, 0, _latents[0].AsSpan(level * chunkElements, chunkElements));
        }

        // Filler chunks have no pose; the newest slots are written by the pose guider before step 0 runs.
        _poses[0].AsSpan(0, (levels - 1) * p * PoseFrameElements).Clear();
    }

    /// <summary>
    /// The pose-feature slots <c>[p, C_pose, h, w]</c> of the newest chunk (level L−1) of the current window. The
    /// caller must fill them with the pose features of chunk <see cref="StepIndex"/> before calling <see cref="Advance"/>.
    /// </summary>
    public Span<float> NewPoseFeatureSlots()
    {
        var c = Schedule.Config;
        int start = (c.Levels - 1) * c.FramesPerLevel * PoseFrameElements;
        _newPoseWritten = true;
        return _poses[_current].AsSpan(start, c.FramesPerLevel * PoseFrameElements);
    }

    /// <summary>
    /// Completes the step: applies the LCM step to every frame with <paramref name="modelOutput"/> (the UNet's v̂ for
    /// the current window), writes the cleanest chunk to <see cref="DecodeInput"/>, rolls both windows one level down
    /// and lets the next chunk's starting noise in.
    /// </summary>
    /// <exception cref="InvalidOperationException">The newest chunk's pose features were not supplied.</exception>
    public StepOutcome Advance(ReadOnlySpan<float> modelOutput)
    {
        if (!_newPoseWritten)
            throw new InvalidOperationException($"Step {StepIndex}: the pose features of chunk {StepIndex} were not supplied (call NewPoseFeatureSlots and fill them first).");

        var c = Schedule.Config;
        int p = c.FramesPerLevel, levels = c.Levels, frames = c.Frames;
        int chunkElements = p * LatentFrameElements;
        long step = StepIndex;

        if (NoiseOverride is { } noise)
        {
            noise(step, _noise, _newNoise);
        }
        else
        {
            // Re-noising of level ℓ ≥ 1 to level ℓ−1 uses stream (chunk, ℓ−1); level 0 is not re-noised.
            for (int level = 1; level < levels; level++)
                _rng.Fill(ChunkAt(step, level), level - 1, 0, _noise.AsSpan(level * chunkElements, chunkElements));
            _rng.Fill(step + 1, levels - 1, 0, _newNoise);
        }

        int next = 1 - _current;
        LcmStep.StepRoll(Schedule, modelOutput, _latents[_current], _noise, _newNoise, _latents[next], _decodeInput, LatentFrameElements);

        int poseChunkElements = p * PoseFrameElements;
        _poses[_current].AsSpan(poseChunkElements, (frames - p) * PoseFrameElements).CopyTo(_poses[next]);

        _current = next;
        _newPoseWritten = false;
        StepIndex = step + 1;
        long decoded = ChunkAt(step, 0);
        return new StepOutcome(step, decoded, decoded >= 0);
    }
}

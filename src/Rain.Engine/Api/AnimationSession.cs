using System.Diagnostics;
using Rain.Engine.Backends;
using Rain.Engine.Diagnostics;
using Rain.Engine.Media;

namespace Rain.Engine.Api;

/// <summary>
/// One endless stream for one reference image: push pose images, read animated frames in order.
/// </summary>
/// <remarks>
/// <para><b>Steps.</b> Every p pushed poses make one step on the session's own thread. Chunk c (poses c·p … c·p+p−1)
/// enters at step c and its frames come out at step c + L − 1: the first frames after L − 1 steps (RAIN: the 4th step).
/// Frames come out in pose order; frame i belongs to pose i.</para>
/// <para><b>End of input.</b> <see cref="CompleteInput"/> drains the window: a trailing partial chunk is padded, and the
/// L − 1 steps that bring the last real chunk to the cleanest level are run, by repeating the last pose pushed; the padding's
/// frames are never emitted. So N pushed poses give exactly N frames (none for N = 0), in order.
/// <c>CompleteInput(drain: false)</c> — a live source that stops — ends at once instead: only the complete chunks still
/// queued are stepped and whatever is still in the window is dropped.</para>
/// <para><b>Queues.</b> Both queues are bounded (<see cref="EngineOptions.InputCapacity"/>, <see cref="EngineOptions.OutputCapacity"/>).
/// When the pose queue is full, <see cref="TryPushPose"/> returns false and <see cref="PushPose"/> waits — or, with
/// <see cref="EngineOptions.LatestFrameWins"/>, the oldest pending pose is dropped. When the frame queue is full the step
/// thread waits for the reader.</para>
/// <para><b>Threading and ownership.</b> Push from any thread (one pusher keeps the order yours); read from any thread.
/// A pushed <see cref="RgbImage"/> is read later by the step thread: do not modify it after pushing. Frames are lent:
/// dispose each <see cref="AnimatedFrame"/> after use.</para>
/// <para><b>Errors.</b> A pose of the wrong size is refused at push (<see cref="ArgumentException"/>) and the session stays
/// usable. If a step fails (an exception in any stage, non-finite values — see <see cref="EngineOptions.CheckNumerics"/> —,
/// running out of memory, or a step outliving <see cref="EngineOptions.StepTimeout"/>), the session closes: pushes throw at
/// once, and reads first hand out every frame finished before the fault, then throw <see cref="SessionFaultedException"/>
/// naming the step, the chunk and, when known, the stage, with the cause as inner exception. <see cref="Dispose"/> stops the
/// step thread and releases the engine for a new session.</para>
/// </remarks>
public sealed partial class AnimationSession : IDisposable
{
    private readonly RainEngine _engine;
    private readonly IStreamer _streamer;
    private readonly EngineOptions _options;
    private readonly object _gate = new(); // Monitor.Wait/Pulse need a monitor object, not a System.Threading.Lock.
    private readonly (RgbImage Pose, long Entered, long Queued)[] _input;
    private readonly AnimatedFrame?[] _output;
    private readonly Stack<AnimatedFrame> _pool = new();
    private readonly long[][] _enteredByLevel;
    private readonly long[][] _queuedByLevel; // when each pose image was queued (for a camera frame: after the pose front end)
    private readonly byte[][][]? _posesByLevel; // copies of each level's pose images (AttachPoseImages)
    private readonly LatencyRecorder _frameLatency = new();
    private readonly Thread _thread;
    private readonly SessionTrace? _trace;
    private readonly int _p, _levels;
    private readonly long _stepTimeoutTicks; // Stopwatch ticks; 0 = no watchdog
    private int _inHead, _inCount, _outHead, _outCount;
    private bool _inputComplete, _drain, _finished, _disposed;
    private Fault? _fault;
    private RgbImage? _lastPose;
    private long _posesStepped, _stepStarted;
    private long _steps, _framesOut, _dropped, _firstStepStart, _lastFrameOut, _allocLast, _allocTotal, _allocSteps;

    internal AnimationSession(RainEngine engine, IStreamer streamer, EngineOptions options)
    {
        _engine = engine;
        _streamer = streamer;
        _options = options;
        _p = engine.FramesPerStep;
        _levels = engine.Bundle.Manifest.Levels;
        _stepTimeoutTicks = options.StepTimeout == Timeout.InfiniteTimeSpan ? 0 : (long)(options.StepTimeout.TotalSeconds * Stopwatch.Frequency);
        _input = new (RgbImage, long, long)[Math.Max(options.InputCapacity, _p)]; // fewer than p could never make a step
        _output = new AnimatedFrame?[Math.Max(options.OutputCapacity, _p)];
        _enteredByLevel = [.. Enumerable.Range(0, _levels).Select(_ => new long[_p])];
        _queuedByLevel = [.. Enumerable.Range(0, _levels).Select(_ => new long[_p])];
        if (options.AttachPoseImages)
            _posesByLevel = [.. Enumerable.Range(0, _levels).Select(_ => Enumerable.Range(0, _p).Select(_ => new byte[engine.Width * engine.Height * 3]).ToArray())];
        for (int i = 0; i < _output.Length + _p; i++)
            _pool.Push(new AnimatedFrame(engine.Width, engine.Height, Return, options.AttachPoseImages));
        if (options.Trace is { } trace)
        {
            streamer.Timings.Trace = trace;
            streamer.Timings.ChunkFlows = false; // the session draws each frame's flow instead
            _trace = new SessionTrace(trace, streamer.Timings);
        }

        EngineMetrics.Opened(this);
        _thread = new Thread(Loop) { IsBackground = true, Name = "rain-session" };
        _thread.Start();
    }

    /// <summary>Width of pose images and frames.</summary>
    public int Width => _engine.Width;

    /// <summary>Height of pose images and frames.</summary>
    public int Height => _engine.Height;

    /// <summary>A snapshot of the telemetry: step time, per-stage time, frame latency, fps, drops, allocations.</summary>
    public SessionStatistics Statistics
    {
        get
        {
            lock (_gate)
            {
                double seconds = _framesOut > 0 ? Stopwatch.GetElapsedTime(_firstStepStart, _lastFrameOut).TotalSeconds : 0;
                return new SessionStatistics(
                    _steps,
                    _framesOut,
                    _dropped,
                    seconds > 0 ? _framesOut / seconds : 0,
                    _streamer.Timings.Step.Summarize(),
                    _frameLatency.Summarize(),
                    _streamer.Timings.Summaries(),
                    _allocLast,
                    _allocTotal,
                    _allocSteps)
                {
                    Camera = _camera?.Statistics(),
                };
            }
        }
    }

    /// <summary>Poses waiting for a step and frames waiting for the reader (the live counters read them).</summary>
    internal (int Input, int Output) QueueDepths
    {
        get
        {
            lock (_gate)
                return (_inCount, _outCount);
        }
    }

    /// <summary>Frames per second from the first step's start to the last frame out (the live counters read it).</summary>
    internal double FramesPerSecond
    {
        get
        {
            lock (_gate)
            {
                double seconds = _framesOut > 0 ? Stopwatch.GetElapsedTime(_firstStepStart, _lastFrameOut).TotalSeconds : 0;
                return seconds > 0 ? _framesOut / seconds : 0;
            }
        }
    }

    /// <summary>Queues a pose image without waiting. False when the queue is full (never with latest-frame-wins).</summary>
    /// <exception cref="ArgumentException">The image is not the bundle's size; nothing was queued.</exception>
    /// <exception cref="SessionFaultedException">The session closed after a step failed.</exception>
    /// <exception cref="InvalidOperationException">Input was completed.</exception>
    public bool TryPushPose(RgbImage pose)
    {
        _streamer.CheckPose(pose);
        lock (_gate)
        {
            ThrowIfClosed();
            return Enqueue(pose, Stopwatch.GetTimestamp());
        }
    }

    // Under _gate: queues a checked pose that entered at `entered` (its push, or its camera frame's capture).
    private bool Enqueue(RgbImage pose, long entered)
    {
        long now = Stopwatch.GetTimestamp();
        if (_inCount == _input.Length)
        {
            if (!_options.LatestFrameWins)
                return false;
            _inHead = (_inHead + 1) % _input.Length;
            _inCount--;
            _dropped++;
            EngineMetrics.PoseDropped();
            _trace?.Dropped(now);
        }

        _input[(_inHead + _inCount) % _input.Length] = (pose, entered, now);
        _inCount++;
        _trace?.PoseIn(entered, now, _inCount);
        Monitor.PulseAll(_gate);
        return true;
    }

    /// <summary>Queues a pose image, waiting while the queue is full (never with latest-frame-wins).</summary>
    /// <exception cref="ArgumentException">The image is not the bundle's size; nothing was queued.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    /// <exception cref="SessionFaultedException">The session closed after a step failed (or, while waiting, a step outlived <see cref="EngineOptions.StepTimeout"/>).</exception>
    public void PushPose(RgbImage pose, CancellationToken cancellationToken = default)
    {
        using var registration = cancellationToken.CanBeCanceled ? cancellationToken.Register(Wake) : default;
        while (!TryPushPose(pose))
        {
            lock (_gate)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (_inCount == _input.Length && _fault is null && !_disposed && !WatchdogFired())
                    Wait();
            }
        }
    }

    /// <summary>
    /// No more poses. With <paramref name="drain"/> (the default) the window is drained — a partial chunk is padded and the
    /// last chunks are brought out by repeating the last pose, without emitting the padding — so every pushed pose gets its
    /// frame; without, only complete chunks still queued are stepped and the window's content is dropped (a stopped live
    /// source). Reading ends (<see cref="ReadFrame"/> returns null) after the last frame. May be called again with
    /// <paramref name="drain"/> false to stop a drain that is under way.
    /// </summary>
    public void CompleteInput(bool drain = true)
    {
        lock (_gate)
        {
            if (_camera is { } camera && camera.Complete(drain))
                return; // the pose thread completes input once the camera frames queued before are made into poses
            CompleteInputUnderGate(drain);
        }
    }

    // Under _gate.
    private void CompleteInputUnderGate(bool drain)
    {
        _drain = drain && (!_inputComplete || _drain);
        _inputComplete = true;
        Monitor.PulseAll(_gate);
    }

    /// <summary>Takes the next frame if one is ready.</summary>
    /// <exception cref="SessionFaultedException">The session closed after a step failed and every frame finished before was read.</exception>
    public bool TryReadFrame(out AnimatedFrame? frame)
    {
        lock (_gate)
        {
            if (Dequeue(out frame))
                return true;
            if (_fault is not null)
                throw _fault.ToException();
            return false;
        }
    }

    /// <summary>Waits for the next frame, in order; null once input is complete and every frame has been read.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    /// <exception cref="SessionFaultedException">The session closed after a step failed (or outlived <see cref="EngineOptions.StepTimeout"/>)
    /// and every frame finished before was read.</exception>
    public AnimatedFrame? ReadFrame(CancellationToken cancellationToken = default)
    {
        using var registration = cancellationToken.CanBeCanceled ? cancellationToken.Register(Wake) : default;
        lock (_gate)
        {
            while (true)
            {
                if (Dequeue(out var frame))
                    return frame;
                if (_fault is not null || WatchdogFired())
                    throw _fault!.ToException();
                if (_finished || _disposed)
                    return null;
                cancellationToken.ThrowIfCancellationRequested();
                Wait();
            }
        }
    }

    /// <summary>
    /// Stops the step thread (a step in progress completes), drops queued poses and frames, and frees the engine for a new
    /// session. A step that outlives <see cref="EngineOptions.StepTimeout"/> again here is abandoned: the engine then refuses
    /// new sessions, since its buffers are still in that step's hands.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            Monitor.PulseAll(_gate);
        }

        _camera?.Join();

        if (Thread.CurrentThread != _thread)
        {
            if (_stepTimeoutTicks == 0)
            {
                _thread.Join();
            }
            else if (!_thread.Join(_options.StepTimeout))
            {
                EngineMetrics.Closed(this);
                _engine.Abandon(this);
                return;
            }
        }

        EngineMetrics.Closed(this);
        _engine.Release(this);
    }

    private void Wake()
    {
        lock (_gate)
            Monitor.PulseAll(_gate);
    }

    // Under _gate: waits for a pulse, waking in time to notice a hung step when the watchdog is on.
    private void Wait()
    {
        if (_stepTimeoutTicks == 0)
            Monitor.Wait(_gate);
        else
            Monitor.Wait(_gate, TimeSpan.FromTicks(Math.Clamp(_options.StepTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond, TimeSpan.TicksPerSecond)));
    }

    // Under _gate: faults the session when the step in progress has run longer than StepTimeout. The step thread cannot be
    // interrupted (it may be inside native code); when its step returns, its results are dropped.
    private bool WatchdogFired()
    {
        if (_stepTimeoutTicks == 0 || _stepStarted == 0 || _fault is not null || Stopwatch.GetTimestamp() - _stepStarted <= _stepTimeoutTicks)
            return false;
        var cause = new TimeoutException($"the step has run for {Stopwatch.GetElapsedTime(_stepStarted).TotalSeconds:F1} s, longer than EngineOptions.StepTimeout ({_options.StepTimeout.TotalSeconds:F1} s); it is abandoned.");
        _fault = new Fault(_steps, _steps - (_levels - 1), _streamer.CurrentStage, cause);
        Monitor.PulseAll(_gate);
        return true;
    }

    private void ThrowIfClosed()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_fault is not null)
            throw _fault.ToException();
        if (_inputComplete)
            throw new InvalidOperationException("Input was completed (CompleteInput); no more poses are accepted.");
    }

    private bool Dequeue(out AnimatedFrame? frame)
    {
        frame = null;
        if (_outCount == 0)
            return false;
        frame = _output[_outHead];
        _output[_outHead] = null;
        _outHead = (_outHead + 1) % _output.Length;
        _outCount--;
        Monitor.PulseAll(_gate);
        return true;
    }

    private void Return(AnimatedFrame frame)
    {
        lock (_gate)
            _pool.Push(frame);
    }

    // Under _gate: moves the next chunk's poses into `poses` (and their entry times into `entered`). A full chunk when one is
    // queued; after CompleteInput with drain, the partial rest padded with the last pose, then chunks of the last pose until
    // the last real chunk has left the window. False when there is nothing (more) to step.
    private bool TakeChunk(RgbImage[] poses, long[] entered, long[] queued)
    {
        int real = Math.Min(_inCount, _p);
        if (real < _p)
        {
            long total = _posesStepped + real;
            long realChunks = (total + _p - 1) / _p;
            if (!_inputComplete || !_drain || total == 0 || _steps >= realChunks + _levels - 1)
                return false;
        }

        for (int i = 0; i < real; i++)
        {
            (poses[i], entered[i], queued[i]) = _input[_inHead];
            _input[_inHead] = default;
            _inHead = (_inHead + 1) % _input.Length;
        }

        _inCount -= real;
        _posesStepped += real;
        if (real > 0)
            _lastPose = poses[real - 1];
        for (int i = real; i < _p; i++)
        {
            (poses[i], entered[i]) = (_lastPose!, Stopwatch.GetTimestamp());
            queued[i] = entered[i];
        }
        return true;
    }

    private void Loop()
    {
        var poses = new RgbImage[_p];
        var frames = new AnimatedFrame[_p];
        var buffers = new byte[_p][];
        long step = 0;
        try
        {
            while (true)
            {
                lock (_gate)
                {
                    while (_inCount < _p && !_inputComplete && !_disposed && _fault is null)
                        Monitor.Wait(_gate);
                    if (_disposed || _fault is not null || !TakeChunk(poses, _enteredByLevel[_steps % _levels], _queuedByLevel[_steps % _levels]))
                        break;
                    if (_posesByLevel is { } kept)
                    {
                        for (int i = 0; i < _p; i++)
                            poses[i].Pixels.CopyTo(kept[_steps % _levels][i], 0);
                    }

                    for (int i = 0; i < _p; i++)
                    {
                        frames[i] = _pool.Count > 0 ? _pool.Pop() : new AnimatedFrame(Width, Height, Return, _options.AttachPoseImages);
                        buffers[i] = frames[i].Image.Pixels;
                    }

                    step = _steps;
                    _stepStarted = Stopwatch.GetTimestamp();
                    if (step == 0)
                        _firstStepStart = _stepStarted;
                    Monitor.PulseAll(_gate);
                }

                long before = GC.GetAllocatedBytesForCurrentThread();
                var outcome = _streamer.Step(poses, buffers);
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                Array.Clear(poses);

                lock (_gate)
                {
                    _stepStarted = 0;
                    if (_fault is not null)
                        break; // the watchdog gave up on this step while it ran: its frames are not trusted
                    _steps++;
                    _allocLast = allocated;
                    _allocTotal += allocated;
                    _allocSteps += allocated > 0 ? 1 : 0;
                    EngineMetrics.StepAllocated(allocated);
                    _trace?.StepDone(_enteredByLevel[outcome.Step % _levels], _inCount, _outCount);
                    if (!outcome.Emit)
                    {
                        foreach (var f in frames)
                            _pool.Push(f);
                        continue;
                    }

                    // The emitted chunk entered L−1 steps ago; its poses' entry times are kept per level slot.
                    long[] entered = _enteredByLevel[outcome.DecodedChunk % _levels];
                    long[] queued = _queuedByLevel[outcome.DecodedChunk % _levels];
                    for (int i = 0; i < _p; i++)
                    {
                        var f = frames[i];
                        f.Index = (outcome.DecodedChunk * _p) + i;
                        if (f.Index >= _posesStepped)
                        {
                            _pool.Push(f); // padding of the drain: no pose of the caller's
                            continue;
                        }

                        long waitStart = Stopwatch.GetTimestamp();
                        while (_outCount == _output.Length && !_disposed)
                            Monitor.Wait(_gate);
                        if (_disposed)
                            return;
                        long now = Stopwatch.GetTimestamp();
                        f.LatencyMilliseconds = Stopwatch.GetElapsedTime(entered[i], now).TotalMilliseconds;
                        f.EnteredTimestamp = entered[i];
                        f.EngineLatencyMilliseconds = Stopwatch.GetElapsedTime(queued[i], now).TotalMilliseconds;
                        _posesByLevel?[outcome.DecodedChunk % _levels][i].CopyTo(f.Pose!.Pixels, 0);
                        f.Lent = true;
                        _frameLatency.Record(f.LatencyMilliseconds);
                        EngineMetrics.FrameOut(f.LatencyMilliseconds);
                        _trace?.FrameOut(entered[i], waitStart, f.Index, f.LatencyMilliseconds);
                        _output[(_outHead + _outCount) % _output.Length] = f;
                        _outCount++;
                        _framesOut++;
                        _lastFrameOut = now;
                        Monitor.PulseAll(_gate);
                    }
                }
            }
        }
        catch (Exception e)
        {
            // Every failure — out of memory included — closes the session; the frames already queued stay readable.
            lock (_gate)
            {
                _stepStarted = 0;
                _fault ??= new Fault(step, step - (_levels - 1), e is NonFiniteValuesException n ? n.Stage : _streamer.CurrentStage, e);
            }
        }
        finally
        {
            lock (_gate)
            {
                _finished = true;
                Monitor.PulseAll(_gate);
            }
        }
    }

    private sealed record Fault(long Step, long Chunk, Stage? Stage, Exception Cause)
    {
        // A new exception per throw: one instance rethrown on several threads would have its stack trace overwritten.
        public SessionFaultedException ToException() => new(Step, Chunk, Stage, Cause);
    }
}

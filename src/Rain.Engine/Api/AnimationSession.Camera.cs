using System.Diagnostics;
using Rain.Engine.Media;
using Rain.Engine.Pose;

namespace Rain.Engine.Api;

public sealed partial class AnimationSession
{
    private CameraFeed? _camera; // made by the first camera frame

    /// <summary>
    /// The face retargeting of camera frames (<see cref="RainEngine.PoseFrontEnd"/>'s): set it from any thread while frames
    /// stream; the next camera frame uses it.
    /// </summary>
    /// <exception cref="Bundle.BundleException">The bundle has no pose models.</exception>
    public RetargetOptions Retarget
    {
        get => _engine.PoseFrontEnd.Retarget;
        set => _engine.PoseFrontEnd.Retarget = value;
    }

    /// <summary>
    /// Queues a camera frame without waiting: the session's pose thread turns it into RAIN's pose image
    /// (<see cref="RainEngine.PoseFrontEnd"/>) and queues that as a pose. The pixels are copied before this returns.
    /// False when the camera queue is full (never with <see cref="EngineOptions.LatestFrameWins"/>: the oldest waiting
    /// camera frame is dropped and counted). The frame's latency — and so <see cref="AnimatedFrame.LatencyMilliseconds"/>,
    /// glass to glass — runs from <paramref name="captureTimestamp"/> (a <see cref="Stopwatch.GetTimestamp"/> value taken
    /// when the frame was captured or read; 0: now).
    /// </summary>
    /// <param name="rgb">Interleaved RGB, any size up to 16384 per side, rows <paramref name="stride"/> bytes apart.</param>
    /// <param name="width">Frame width.</param>
    /// <param name="height">Frame height.</param>
    /// <param name="stride">Bytes from one row to the next (at least width·3).</param>
    /// <param name="captureTimestamp">When the frame was captured (0: now).</param>
    /// <exception cref="ArgumentException">A size or the stride is wrong; nothing was queued.</exception>
    /// <exception cref="Bundle.BundleException">The bundle has no pose models.</exception>
    /// <exception cref="SessionFaultedException">The session closed after a step (or the pose front end) failed.</exception>
    /// <exception cref="InvalidOperationException">Input was completed.</exception>
    public bool TryPushCameraFrame(ReadOnlySpan<byte> rgb, int width, int height, int stride, long captureTimestamp = 0)
    {
        PilResizePlan.CheckSpan(rgb.Length, width, height, stride, nameof(rgb));
        if (width > PoseFrontEndOptions.MaxFrameSide || height > PoseFrontEndOptions.MaxFrameSide)
            throw new ArgumentException($"a camera frame must be 1 to {PoseFrontEndOptions.MaxFrameSide} pixels per side; got {width}x{height}.", nameof(rgb));
        long stamp = captureTimestamp != 0 ? captureTimestamp : Stopwatch.GetTimestamp();
        var camera = Camera();
        lock (_gate)
        {
            ThrowIfClosed();
            return camera.TryAdd(rgb, width, height, stride, stamp);
        }
    }

    /// <summary>
    /// Queues a camera frame, waiting while the camera queue is full (never with latest-frame-wins). See
    /// <see cref="TryPushCameraFrame"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    public void PushCameraFrame(ReadOnlySpan<byte> rgb, int width, int height, int stride, long captureTimestamp = 0, CancellationToken cancellationToken = default)
    {
        using var registration = cancellationToken.CanBeCanceled ? cancellationToken.Register(Wake) : default;
        long stamp = captureTimestamp != 0 ? captureTimestamp : Stopwatch.GetTimestamp();
        while (!TryPushCameraFrame(rgb, width, height, stride, stamp))
        {
            lock (_gate)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (_camera!.Full && _fault is null && !_disposed && !WatchdogFired())
                    Wait();
            }
        }
    }

    /// <summary>Queues a camera frame held as an <see cref="RgbImage"/> (copied), waiting while the camera queue is full.</summary>
    public void PushCameraFrame(RgbImage frame, long captureTimestamp = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(frame);
        PushCameraFrame(frame.Pixels, frame.Width, frame.Height, frame.Width * 3, captureTimestamp, cancellationToken);
    }

    private CameraFeed Camera()
    {
        lock (_gate)
        {
            if (_camera is not null)
                return _camera;
        }

        // Loading the models (first use only) happens outside the gate: steps go on meanwhile.
        var frontEnd = _engine.PoseFrontEnd;
        lock (_gate)
        {
            ThrowIfClosed();
            return _camera ??= new CameraFeed(this, frontEnd);
        }
    }

    /// <summary>
    /// Camera frames waiting for the pose front end (a small queue of reused buffers) and the pose thread that turns them
    /// into pose images and queues those as the session's poses, stamped with the frame's capture time. Its state is
    /// guarded by the session's gate; the front end runs outside it.
    /// </summary>
    private sealed class CameraFeed
    {
        private const int Capacity = 2; // camera frames waiting; a live camera needs only the newest
        private readonly AnimationSession _session;
        private readonly PoseFrontEnd _frontEnd;
        private readonly Slot[] _slots = [new(), new(), new(), new()]; // a ring: Capacity waiting, the one in the front end just behind them, one spare
        private readonly RgbImage[] _poses; // ring of pose images: one is reused only after every pose that could still be queued or stepped
        private readonly LatencyRecorder _detector = new(), _estimator = new(), _other = new(), _total = new();
        private readonly Thread _thread;
        private int _head, _count;
        private long _framesIn, _dropped, _posesMade;
        private bool? _complete; // null: streaming; else CompleteInput came with this drain flag

        public CameraFeed(AnimationSession session, PoseFrontEnd frontEnd)
        {
            _session = session;
            _frontEnd = frontEnd;
            frontEnd.Reset(); // a new stream: no face carried over from another session
            _poses = [.. Enumerable.Range(0, session._input.Length + session._p + 2).Select(_ => new RgbImage(session.Width, session.Height))];
            _thread = new Thread(Loop) { IsBackground = true, Name = "rain-pose" };
            _thread.Start();
        }

        // Under the gate.
        public bool Full => _count == Capacity;

        // Under the gate: copies a frame into the queue (dropping the oldest with latest-frame-wins).
        public bool TryAdd(ReadOnlySpan<byte> rgb, int width, int height, int stride, long stamp)
        {
            if (_count == Capacity)
            {
                if (!_session._options.LatestFrameWins)
                    return false;
                _head = (_head + 1) % _slots.Length;
                _count--;
                _dropped++;
            }

            var slot = _slots[(_head + _count) % _slots.Length];
            slot.Copy(rgb, width, height, stride, stamp);
            _count++;
            _framesIn++;
            Monitor.PulseAll(_session._gate);
            return true;
        }

        // Under the gate: CompleteInput. True when the pose thread will complete the session's input after the frames queued.
        public bool Complete(bool drain)
        {
            if (_complete is not null || !_thread.IsAlive)
                return false;
            _complete = drain;
            if (!drain)
                _count = 0; // a stopped live source: frames not yet made into poses are dropped
            Monitor.PulseAll(_session._gate);
            return true;
        }

        public void Join()
        {
            if (Thread.CurrentThread != _thread)
                _thread.Join();
        }

        public CameraStatistics Statistics() =>
            new(_framesIn, _dropped, _detector.Summarize(), _estimator.Summarize(), _other.Summarize(), _total.Summarize());

        private void Loop()
        {
            var s = _session;
            s._options.Trace?.NameThread("rain-pose");
            try
            {
                while (true)
                {
                    Slot slot;
                    lock (s._gate)
                    {
                        while (_count == 0 && _complete is null && !s._disposed && s._fault is null)
                            Monitor.Wait(s._gate);
                        if (s._disposed || s._fault is not null)
                            return;
                        if (_count == 0)
                        {
                            s.CompleteInputUnderGate(_complete!.Value);
                            return;
                        }

                        // Taken off the queue: TryAdd writes at most Capacity slots ahead of _head, never into this one behind it.
                        slot = _slots[_head];
                        _head = (_head + 1) % _slots.Length;
                        _count--;
                    }

                    var pose = _poses[_posesMade++ % _poses.Length];
                    long start = Stopwatch.GetTimestamp();
                    var frame = _frontEnd.Process(slot.Pixels.AsSpan(0, slot.Width * slot.Height * 3), slot.Width, slot.Height, slot.Width * 3, pose.Pixels);
                    long end = Stopwatch.GetTimestamp();
                    var t = frame.Timings;
                    _detector.Record(t.DetectorMilliseconds);
                    _estimator.Record(t.EstimatorMilliseconds);
                    _other.Record(t.OtherMilliseconds);
                    _total.Record(Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
                    s._options.Trace?.Complete("pose front end", "pose", start, end);

                    lock (s._gate)
                    {
                        while (!s._disposed && s._fault is null && !s.Enqueue(pose, slot.Stamp))
                            s.Wait();
                        Monitor.PulseAll(s._gate);
                    }
                }
            }
            catch (Exception e)
            {
                // The front end failed (a model run, a frame it cannot use): the session closes as for a failing step.
                lock (s._gate)
                {
                    s._fault ??= new Fault(s._steps, s._steps - (s._levels - 1), null,
                        new InvalidOperationException($"the pose front end failed on camera frame {_posesMade - 1}: {e.Message}", e));
                    Monitor.PulseAll(s._gate);
                }
            }
        }

        private sealed class Slot
        {
            public byte[] Pixels { get; private set; } = [];

            public int Width { get; private set; }

            public int Height { get; private set; }

            public long Stamp { get; private set; }

            public void Copy(ReadOnlySpan<byte> rgb, int width, int height, int stride, long stamp)
            {
                int row = width * 3;
                if (Pixels.Length < row * height)
                    Pixels = new byte[row * height]; // only when the camera's frame size grows
                for (int y = 0; y < height; y++)
                    rgb.Slice(y * stride, row).CopyTo(Pixels.AsSpan(y * row, row));
                (Width, Height, Stamp) = (width, height, stamp);
            }
        }
    }
}

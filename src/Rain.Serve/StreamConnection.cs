using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Rain.Engine.Api;
using Rain.Engine.Media;
using Rain.Engine.Pose;

namespace Rain.Serve;

/// <summary>
/// One WebSocket client holding the engine: its control messages, its camera frames into the session (decoded with the
/// CLI's image limits), and a pump thread sending each animated frame back with the capture time of the camera frame it
/// came from. A client that goes — closed, aborted, or silent past the keep-alive — frees the session at once.
/// </summary>
internal sealed class StreamConnection : IDisposable
{
    private const int MapCapacity = 4096; // camera frames remembered for their sequence and capture time
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly StreamHost _host;
    private readonly WebSocket _socket;
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly Lock _gate = new();
    private readonly Dictionary<long, (uint Sequence, double CaptureMs)> _stamps = [];
    private readonly Queue<long> _stampOrder = new();
    private RetargetOptions _retarget;
    private RgbImage? _uploaded;
    private AnimationSession? _session;
    private Thread? _pump;
    private CancellationTokenSource? _pumpCancel;
    private string _state = "connected";
    private long _framesIn, _framesOut, _refused, _lastStamp;
    private SessionStatistics? _stats; // the last stream's, kept after it stops
    private double? _glassP50, _glassP95;
    private bool _warnedNotStreaming;

    public StreamConnection(StreamHost host, WebSocket socket)
    {
        _host = host;
        _socket = socket;
        _retarget = host.Options.Retarget;
    }

    private RainEngine Engine => _host.Engine;

    private ServeOptions Options => _host.Options;

    /// <summary>The numbers of <c>GET /api/status</c>.</summary>
    public StatusSnapshot Snapshot()
    {
        AnimationSession? session;
        SessionStatistics? stats;
        lock (_gate)
        {
            session = _session;
            stats = _stats;
        }

        if (session is not null)
        {
            try
            {
                stats = session.Statistics;
            }
            catch (ObjectDisposedException)
            {
            }
        }

        long camDropped = stats is null ? 0 : (stats.Camera?.Dropped ?? 0) + stats.DroppedPoses;
        return new StatusSnapshot(_state, Interlocked.Read(ref _framesIn), Interlocked.Read(ref _framesOut), camDropped + Interlocked.Read(ref _refused),
            stats?.FramesPerSecond ?? 0, stats?.FrameLatency.P50 ?? 0, stats?.FrameLatency.P95 ?? 0, _glassP50, _glassP95);
    }

    /// <summary>Serves the client until it goes; the session is always disposed on the way out.</summary>
    public async Task RunAsync(CancellationToken aborted)
    {
        using var stats = new CancellationTokenSource();
        var statsLoop = StatsLoop(stats.Token);
        try
        {
            await SendJson(Hello(), aborted).ConfigureAwait(false);
            await ReceiveLoop(aborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went (closed the tab, lost the network, stopped answering pings): free the engine.
        }
        finally
        {
            StopStream(drain: false, cancel: true);
            await stats.CancelAsync().ConfigureAwait(false);
            await statsLoop.ConfigureAwait(false);
        }
    }

    private object Hello()
    {
        var frontEnd = Engine.PoseFrontEnd;
        double crop = frontEnd.Options.CenterCrop ?? 1.0;
        return new
        {
            Type = "hello",
            Engine.Width,
            Engine.Height,
            FrameShortSide = (int)Math.Ceiling(Math.Max(Engine.Width, Engine.Height) / crop),
            Backend = Engine.BackendDescription,
            FramesPerStep = Engine.FramesPerStep,
            StartupSteps = Engine.StartupSteps,
            Reference = new { Name = Options.ReferenceName, Options.Reference.Width, Options.Reference.Height },
            Sliders = Sliders.All.Select(s => new { s.Name, s.Min, s.Max, s.Start }).ToArray(),
            PoseNote = Options.PoseModelNote,
            Options.MaxFrameBytes,
            Options.MaxUploadBytes,
            LatestFrameWins = Engine.Options.LatestFrameWins,
        };
    }

    private async Task ReceiveLoop(CancellationToken aborted)
    {
        int cap = Math.Max(Options.MaxFrameBytes, Options.MaxUploadBytes) + Protocol.ClientHeaderBytes;
        byte[] buffer = new byte[Math.Min(cap, 1 << 18)];
        while (true)
        {
            int length = 0, limit = cap;
            ValueWebSocketReceiveResult result;
            do
            {
                if (length == buffer.Length)
                    Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, cap));
                result = await _socket.ReceiveAsync(buffer.AsMemory(length), aborted).ConfigureAwait(false);
                length += result.Count;
                if (result.MessageType == WebSocketMessageType.Text)
                    limit = Options.MaxControlBytes;
                else if (result.MessageType == WebSocketMessageType.Binary && length > 0)
                    limit = Protocol.ClientHeaderBytes + (buffer[0] == Protocol.ReferenceImage ? Options.MaxUploadBytes : Options.MaxFrameBytes);
                if (length > limit || (!result.EndOfMessage && length >= limit))
                {
                    await Refuse(length, limit, aborted).ConfigureAwait(false);
                    return;
                }
            }
            while (!result.EndOfMessage);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                StopStream(drain: false, cancel: true);
                await _send.WaitAsync(aborted).ConfigureAwait(false);
                try
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", aborted).ConfigureAwait(false);
                }
                finally
                {
                    _send.Release();
                }

                return;
            }

            if (result.MessageType == WebSocketMessageType.Text)
                await OnControl(Encoding.UTF8.GetString(buffer, 0, length), aborted).ConfigureAwait(false);
            else
                await OnBinary(buffer.AsMemory(0, length), aborted).ConfigureAwait(false);
        }
    }

    private async Task Refuse(int length, int limit, CancellationToken aborted)
    {
        Log($"refused a message of {length}+ bytes (limit {limit}); closing that client's socket");
        StopStream(drain: false, cancel: true);
        await _send.WaitAsync(aborted).ConfigureAwait(false);
        try
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, string.Create(CultureInfo.InvariantCulture, $"message over {limit} bytes"), aborted).ConfigureAwait(false);
        }
        finally
        {
            _send.Release();
        }
    }

    private async Task OnControl(string text, CancellationToken aborted)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            await SendError($"a text message must be a JSON object with a \"type\" ({e.Message})", aborted).ConfigureAwait(false);
            return;
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
            {
                await SendError("a text message must be a JSON object with a string \"type\" (start, stop, retarget, report)", aborted).ConfigureAwait(false);
                return;
            }

            string type = typeElement.GetString()!;
            switch (type)
            {
                case "start":
                    await Start(root, aborted).ConfigureAwait(false);
                    break;
                case "stop":
                    bool drain = root.TryGetProperty("drain", out var d) && d.ValueKind == JsonValueKind.True;
                    await Task.Run(() => StopStream(drain, cancel: false), aborted).ConfigureAwait(false);
                    await SendJson(new { Type = "stopped", Snapshot().FramesOut }, aborted).ConfigureAwait(false);
                    break;
                case "retarget":
                    if (!root.TryGetProperty("retarget", out var r))
                    {
                        await SendError("retarget: the message needs a \"retarget\" object (slider names and values, or \"translations\")", aborted).ConfigureAwait(false);
                        return;
                    }

                    try
                    {
                        _retarget = RetargetOptions.FromJson(r.GetRawText(), "retarget");
                    }
                    catch (FormatException e)
                    {
                        await SendError(e.Message, aborted).ConfigureAwait(false);
                        return;
                    }

                    lock (_gate)
                    {
                        if (_session is not null)
                            _session.Retarget = _retarget;
                    }

                    break;
                case "report":
                    if (root.TryGetProperty("glass_to_glass_ms", out var g) && g.ValueKind == JsonValueKind.Object)
                    {
                        _glassP50 = Number(g, "p50");
                        _glassP95 = Number(g, "p95");
                    }

                    break;
                default:
                    await SendError($"unknown message type \"{type}\"; the types are start, stop, retarget, report", aborted).ConfigureAwait(false);
                    break;
            }
        }
    }

    private static double? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.GetDouble() is var x && double.IsFinite(x) && x >= 0 ? x : null;

    private async Task Start(JsonElement message, CancellationToken aborted)
    {
        bool streaming;
        lock (_gate)
            streaming = _session is not null;
        if (streaming)
        {
            await SendError("start: already streaming; send stop first", aborted).ConfigureAwait(false);
            return;
        }

        string which = message.TryGetProperty("reference", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "configured";
        RgbImage reference;
        if (which == "configured")
        {
            reference = Options.Reference;
        }
        else if (which == "uploaded")
        {
            if (_uploaded is null)
            {
                await SendError("start: no reference was uploaded (send a 0x02 message first)", aborted).ConfigureAwait(false);
                return;
            }

            reference = _uploaded;
        }
        else
        {
            await SendError($"start: \"reference\" must be \"configured\" or \"uploaded\"; found \"{which}\"", aborted).ConfigureAwait(false);
            return;
        }

        if (message.TryGetProperty("retarget", out var rt))
        {
            try
            {
                _retarget = RetargetOptions.FromJson(rt.GetRawText(), "start.retarget");
            }
            catch (FormatException e)
            {
                await SendError(e.Message, aborted).ConfigureAwait(false);
                return;
            }
        }

        _state = "starting";
        AnimationSession session;
        try
        {
            // Fusing the reference (CLIP, VAE encoder, ReferenceNet) runs once per stream, off the socket's thread.
            session = await Task.Run(() => Engine.CreateSession(reference), aborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _state = "connected";
            await SendError($"start: the stream could not start: {e.Message}", aborted).ConfigureAwait(false);
            return;
        }

        session.Retarget = _retarget;
        var cancel = new CancellationTokenSource();
        var pump = new Thread(() => Pump(session, cancel.Token)) { IsBackground = true, Name = "rain-serve-pump" };
        lock (_gate)
        {
            _session = session;
            _pumpCancel = cancel;
            _pump = pump;
            _stats = null;
            _framesIn = _framesOut = _refused = 0;
            _warnedNotStreaming = false;
            _state = "streaming";
        }

        pump.Start();
        Log($"stream started ({which} reference {reference.Width}x{reference.Height})");
        await SendJson(new { Type = "started", Reference = which, reference.Width, reference.Height }, aborted).ConfigureAwait(false);
    }

    // Ends the stream: drain flushes the window (every camera frame taken gets its frame); cancel stops the pump at once.
    private void StopStream(bool drain, bool cancel)
    {
        AnimationSession? session;
        Thread? pump;
        CancellationTokenSource? pumpCancel;
        lock (_gate)
        {
            (session, pump, pumpCancel) = (_session, _pump, _pumpCancel);
            if (session is null)
                return;
            _session = null;
            _pump = null;
            _pumpCancel = null;
        }

        try
        {
            session.CompleteInput(drain);
        }
        catch (Exception e) when (e is InvalidOperationException or SessionFaultedException)
        {
            // Already completed, or faulted: the pump has ended or ends now.
        }

        if (cancel)
            pumpCancel!.Cancel();
        if (!pump!.Join(drain ? TimeSpan.FromMinutes(5) : TimeSpan.FromSeconds(10)))
        {
            pumpCancel!.Cancel();
            pump.Join();
        }

        try
        {
            _stats = session.Statistics;
        }
        catch (ObjectDisposedException)
        {
        }

        session.Dispose();
        pumpCancel!.Dispose();
        _state = "connected";
        Log(string.Create(CultureInfo.InvariantCulture, $"stream stopped: {_framesIn} camera frames in, {_framesOut} animated frames out"));
    }

    private async Task OnBinary(ReadOnlyMemory<byte> message, CancellationToken aborted)
    {
        if (!Protocol.TryReadClientHeader(message.Span, out byte kind, out uint sequence, out double captureMs, out string? error))
        {
            Interlocked.Increment(ref _refused);
            await SendError(error!, aborted).ConfigureAwait(false);
            return;
        }

        long received = Stopwatch.GetTimestamp();
        if (kind == Protocol.ReferenceImage)
        {
            try
            {
                _uploaded = ImageCodec.Decode(message.Span[Protocol.ClientHeaderBytes..], "uploaded reference");
            }
            catch (ImageFormatException e)
            {
                await SendError(e.Message, aborted).ConfigureAwait(false);
                return;
            }

            await SendJson(new { Type = "reference", _uploaded.Width, _uploaded.Height }, aborted).ConfigureAwait(false);
            return;
        }

        AnimationSession? session;
        lock (_gate)
            session = _session;
        Interlocked.Increment(ref _framesIn);
        if (session is null)
        {
            Interlocked.Increment(ref _refused);
            if (!_warnedNotStreaming)
            {
                _warnedNotStreaming = true;
                await SendError("camera frames count only while streaming: send {\"type\":\"start\"} first", aborted).ConfigureAwait(false);
            }

            return;
        }

        RgbImage frame;
        try
        {
            frame = ImageCodec.Decode(message.Span[Protocol.ClientHeaderBytes..], string.Create(CultureInfo.InvariantCulture, $"camera frame {sequence}"));
        }
        catch (ImageFormatException e)
        {
            Interlocked.Increment(ref _refused);
            await SendError(e.Message, aborted).ConfigureAwait(false);
            return;
        }

        long stamp = Remember(received, sequence, captureMs);
        try
        {
            if (Engine.Options.LatestFrameWins)
                session.TryPushCameraFrame(frame.Pixels, frame.Width, frame.Height, frame.Width * 3, stamp);
            else
                await Task.Run(() => session.PushCameraFrame(frame.Pixels, frame.Width, frame.Height, frame.Width * 3, stamp, aborted), aborted).ConfigureAwait(false);
        }
        catch (SessionFaultedException e)
        {
            // The stream failed (the pump has said so): end it, so the client can start again.
            Interlocked.Increment(ref _refused);
            await Task.Run(() => StopStream(drain: false, cancel: true), aborted).ConfigureAwait(false);
            await SendError($"the stream stopped: {e.Message}", aborted, fatal: true).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or ArgumentException)
        {
            Interlocked.Increment(ref _refused);
            await SendError($"camera frame {sequence}: {e.Message}", aborted).ConfigureAwait(false);
        }
    }

    // A unique stamp per camera frame (its arrival), so an animated frame finds its sequence and capture time.
    private long Remember(long received, uint sequence, double captureMs)
    {
        lock (_stamps)
        {
            long stamp = Math.Max(received, _lastStamp + 1);
            _lastStamp = stamp;
            _stamps[stamp] = (sequence, captureMs);
            _stampOrder.Enqueue(stamp);
            while (_stampOrder.Count > MapCapacity)
                _stamps.Remove(_stampOrder.Dequeue());
            return stamp;
        }
    }

    private (uint Sequence, double CaptureMs) Recall(long stamp)
    {
        lock (_stamps)
            return _stamps.Remove(stamp, out var v) ? v : (0u, double.NaN);
    }

    // The pump thread: animated frames out, in order, each with its camera frame's sequence and capture time.
    private void Pump(AnimationSession session, CancellationToken cancel)
    {
        try
        {
            while (session.ReadFrame(cancel) is { } frame)
            {
                byte[] message;
                using (frame)
                {
                    var (sequence, captureMs) = Recall(frame.EnteredTimestamp);
                    byte[] jpeg = JpegEncoder.Encode(frame.Image, 90);
                    byte[] png = frame.Pose is null ? [] : ImageCodec.EncodePng(frame.Pose);
                    message = new byte[Protocol.FrameHeaderBytes + jpeg.Length + png.Length];
                    Protocol.WriteFrameHeader(message, sequence, captureMs, jpeg.Length, png.Length, frame.LatencyMilliseconds);
                    jpeg.CopyTo(message, Protocol.FrameHeaderBytes);
                    png.CopyTo(message, Protocol.FrameHeaderBytes + jpeg.Length);
                }

                _send.Wait(cancel);
                try
                {
                    _socket.SendAsync(message, WebSocketMessageType.Binary, true, cancel).GetAwaiter().GetResult();
                }
                finally
                {
                    _send.Release();
                }

                Interlocked.Increment(ref _framesOut);
            }
        }
        catch (SessionFaultedException e)
        {
            Log($"stream faulted: {e.Message}");
            _ = SendError($"the stream stopped: {e.Message}", CancellationToken.None, fatal: true);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // Stopped, or the client went.
        }
    }

    private async Task StatsLoop(CancellationToken cancel)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        try
        {
            while (await timer.WaitForNextTickAsync(cancel).ConfigureAwait(false))
            {
                if (_state != "streaming" || _socket.State != WebSocketState.Open)
                    continue;
                var s = Snapshot();
                await SendJson(new { Type = "stats", s.State, s.FramesIn, s.FramesOut, s.Dropped, s.Fps, LatencyMs = new { P50 = s.LatencyP50, P95 = s.LatencyP95 } }, cancel).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
        }
    }

    private Task SendError(string message, CancellationToken cancel, bool fatal = false) =>
        SendJson(new { Type = "error", Message = message, Fatal = fatal }, cancel);

    private async Task SendJson(object value, CancellationToken cancel)
    {
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(value, Json);
        await _send.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            if (_socket.State == WebSocketState.Open)
                await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, cancel).ConfigureAwait(false);
        }
        finally
        {
            _send.Release();
        }
    }

    public void Dispose() => _send.Dispose();

    private void Log(string line) => Options.Log?.WriteLine($"rain serve: {line}");
}

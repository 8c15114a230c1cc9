using Rain.Engine.Api;

namespace Rain.Serve;

/// <summary>
/// The one engine of a server and the one stream it runs: the first WebSocket client holds it until it goes; another gets
/// "busy". Also the numbers behind <c>GET /api/status</c> (the current stream's, or the last one's).
/// </summary>
internal sealed class StreamHost : IDisposable
{
    private readonly Lock _gate = new();
    private StreamConnection? _holder;
    private StatusSnapshot _last = StatusSnapshot.Empty;

    public StreamHost(RainEngine engine, ServeOptions options)
    {
        Engine = engine;
        Options = options;
    }

    public RainEngine Engine { get; }

    public ServeOptions Options { get; }

    /// <summary>Takes the engine for <paramref name="connection"/>; false while another client holds it.</summary>
    public bool TryAcquire(StreamConnection connection)
    {
        lock (_gate)
        {
            if (_holder is not null)
                return false;
            _holder = connection;
            return true;
        }
    }

    /// <summary>Frees the engine (the client went; its session is disposed).</summary>
    public void Release(StreamConnection connection)
    {
        lock (_gate)
        {
            if (_holder != connection)
                return;
            _last = connection.Snapshot() with { State = "idle" };
            _holder = null;
        }
    }

    public StatusSnapshot Status()
    {
        lock (_gate)
            return _holder?.Snapshot() ?? _last;
    }

    public void Dispose() => Engine.Dispose();
}

/// <summary>What <c>GET /api/status</c> reports (snake_case JSON).</summary>
/// <param name="State">idle (no client), connected (a client, not streaming), starting (fusing the reference), streaming.</param>
/// <param name="FramesIn">Camera frames received in the current (or last) stream.</param>
/// <param name="FramesOut">Animated frames sent.</param>
/// <param name="Dropped">Camera frames that gave no animated frame: replaced by a newer one before the engine took them, refused (undecodable), or sent while not streaming.</param>
/// <param name="Fps">Animated frames per second (the engine's, first step to last frame).</param>
/// <param name="LatencyP50">Server latency p50 (ms): camera frame received → animated frame ready.</param>
/// <param name="LatencyP95">Server latency p95 (ms).</param>
/// <param name="GlassP50">Glass-to-glass p50 (ms) as the page measured and reported it; null before a report.</param>
/// <param name="GlassP95">Glass-to-glass p95 (ms) as reported.</param>
internal sealed record StatusSnapshot(string State, long FramesIn, long FramesOut, long Dropped, double Fps, double LatencyP50, double LatencyP95, double? GlassP50, double? GlassP95)
{
    public static StatusSnapshot Empty { get; } = new("idle", 0, 0, 0, 0, 0, 0, null, null);
}

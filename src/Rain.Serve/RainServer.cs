using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Rain.Engine.Api;
using Rain.Engine.Media;

namespace Rain.Serve;

/// <summary>
/// <c>rain serve</c>: RAIN's live app in the browser. Kestrel serves one page (plain files embedded in this assembly), the
/// configured reference (<c>GET /api/reference</c>), <c>GET /api/status</c> and one WebSocket (<c>/ws</c>, the protocol
/// in README "In the browser"). One engine, one stream at a time.
/// </summary>
public sealed class RainServer : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private static readonly Dictionary<string, (string File, string ContentType)> Pages = new(StringComparer.Ordinal)
    {
        ["/"] = ("index.html", "text/html; charset=utf-8"),
        ["/index.html"] = ("index.html", "text/html; charset=utf-8"),
        ["/app.js"] = ("app.js", "text/javascript; charset=utf-8"),
        ["/style.css"] = ("style.css", "text/css; charset=utf-8"),
    };

    private readonly StreamHost _host;
    private readonly byte[] _referencePng;

    private RainServer(WebApplication app, StreamHost host)
    {
        App = app;
        _host = host;
        _referencePng = ImageCodec.EncodePng(host.Options.Reference);
    }

    /// <summary>The ASP.NET Core application (tests reach its TestServer through it).</summary>
    public WebApplication App { get; }

    /// <summary>The addresses Kestrel listens on, once started (e.g. <c>http://127.0.0.1:8080</c>).</summary>
    public IReadOnlyList<string> Addresses =>
        [.. App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []];

    /// <summary>The engine's backend, in words.</summary>
    public string BackendDescription => _host.Engine.BackendDescription;

    /// <summary>
    /// Loads the engine (and its pose models) and builds the server; <see cref="StartAsync"/> starts it.
    /// <paramref name="configureHost"/> lets tests swap Kestrel for a TestServer.
    /// </summary>
    /// <exception cref="Rain.Engine.Bundle.BundleException">The bundle is unusable or has no pose models.</exception>
    /// <exception cref="ArgumentException">An option is invalid (named).</exception>
    public static RainServer Create(ServeOptions options, Action<IWebHostBuilder>? configureHost = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Port is < 0 or > 65535)
            throw new ArgumentException($"--port must be 0 to 65535; got {options.Port}.");
        if (options.MaxFrameBytes < 1024 || options.MaxUploadBytes < 1024)
            throw new ArgumentException("the frame and upload limits must be at least 1024 bytes.");
        var listen = ParseHost(options.Host);

        // Live camera: the newest frame wins, one step of poses queued, a short output queue (latency, not throughput).
        var engineOptions = options.Engine with { AttachPoseImages = true };
        if (engineOptions.LatestFrameWins)
            engineOptions = engineOptions with { InputCapacity = 1 };
        var engine = RainEngine.Load(options.BundlePath, engineOptions);
        StreamHost host;
        try
        {
            _ = engine.PoseFrontEnd; // loads the pose models now: a bundle without them fails here, not on the first frame
            host = new StreamHost(engine, options);
        }
        catch
        {
            engine.Dispose();
            throw;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 0; // no endpoint reads a request body; uploads go over the WebSocket, capped there
            if (listen is null)
                k.ListenLocalhost(options.Port);
            else
                k.Listen(listen, options.Port);
        });
        configureHost?.Invoke(builder.WebHost);
        var app = builder.Build();
        var server = new RainServer(app, host);
        server.Map(app);
        return server;
    }

    /// <summary>Starts listening.</summary>
    /// <exception cref="IOException">The address cannot be bound (e.g. the port is in use).</exception>
    public Task StartAsync(CancellationToken cancellationToken = default) => App.StartAsync(cancellationToken);

    /// <summary>Serves until <paramref name="cancellationToken"/> is cancelled or the host is told to stop (Ctrl+C).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => App.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops the server and disposes the engine.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await App.StopAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await App.DisposeAsync().ConfigureAwait(false);
        _host.Dispose();
    }

    private static IPAddress? ParseHost(string host)
    {
        if (host == "localhost")
            return null;
        return IPAddress.TryParse(host, out var address)
            ? address
            : throw new ArgumentException($"--host must be an IP address to listen on (127.0.0.1, ::1, 0.0.0.0, ::) or localhost; got '{host}'.");
    }

    private void Map(WebApplication app)
    {
        var options = _host.Options;
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = options.ClientTimeout / 2, KeepAliveTimeout = options.ClientTimeout / 2 });
        bool loopback = options.Host == "localhost" || (IPAddress.TryParse(options.Host, out var bound) && IPAddress.IsLoopback(bound));
        app.Use(async (context, next) =>
        {
            // Bound to loopback, only loopback names reach it: a web page whose own name was made to resolve to 127.0.0.1
            // (DNS rebinding) is same-origin with itself, so the origin check alone would let it in.
            if (loopback && !IsLoopbackName(context.Request.Host.Host))
            {
                context.Response.StatusCode = StatusCodes.Status421MisdirectedRequest;
                await context.Response.WriteAsync("rain serve listens on loopback: use http://127.0.0.1, http://localhost or http://[::1] (--host 0.0.0.0 serves other names)").ConfigureAwait(false);
                return;
            }

            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.CacheControl = "no-store";
            headers["Referrer-Policy"] = "no-referrer";
            headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; connect-src 'self'; frame-ancestors 'none'";
            await next(context).ConfigureAwait(false);
        });

        foreach (var (path, (file, type)) in Pages)
        {
            byte[] body = Resource(file);
            app.MapGet(path, (HttpContext c) => Results.Bytes(body, type));
        }

        app.MapGet("/api/reference", () => Results.Bytes(_referencePng, "image/png"));
        app.MapGet("/api/status", () =>
        {
            var s = _host.Status();
            var status = new
            {
                s.State,
                s.FramesIn,
                s.FramesOut,
                s.Dropped,
                Fps = Math.Round(s.Fps, 2),
                LatencyMs = new { P50 = Math.Round(s.LatencyP50, 1), P95 = Math.Round(s.LatencyP95, 1) },
                GlassToGlassMs = s.GlassP50 is null ? null : new { P50 = Math.Round(s.GlassP50.Value, 1), P95 = Math.Round(s.GlassP95 ?? 0, 1) },
                Backend = _host.Engine.BackendDescription,
                _host.Engine.Width,
                _host.Engine.Height,
            };
            return Results.Text(JsonSerializer.Serialize(status, Json), "application/json");
        });
        app.Map(Protocol.Path, Socket);
    }

    private async Task Socket(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("this is rain serve's WebSocket: connect with a WebSocket client (the page does)").ConfigureAwait(false);
            return;
        }

        if (!OriginAllowed(context.Request))
        {
            _host.Options.Log?.WriteLine($"rain serve: refused a WebSocket from origin {context.Request.Headers.Origin}");
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsync("origin not allowed: the WebSocket is for this server's own page (rain serve --allow-origin adds others)").ConfigureAwait(false);
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        using var connection = new StreamConnection(_host, socket);
        if (!_host.TryAcquire(connection))
        {
            var busy = JsonSerializer.SerializeToUtf8Bytes(new
            {
                Type = "busy",
                Message = "Another browser is streaming from this engine (one stream per engine: one GPU, one animation). Try again when it stops.",
            }, Json);
            try
            {
                await socket.SendAsync(busy, System.Net.WebSockets.WebSocketMessageType.Text, true, context.RequestAborted).ConfigureAwait(false);
                await socket.CloseOutputAsync((System.Net.WebSockets.WebSocketCloseStatus)Protocol.BusyCloseStatus, "busy: another client is streaming", context.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or OperationCanceledException)
            {
            }

            return;
        }

        try
        {
            _host.Options.Log?.WriteLine($"rain serve: client connected ({context.Connection.RemoteIpAddress})");
            await connection.RunAsync(context.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            _host.Release(connection);
            _host.Options.Log?.WriteLine("rain serve: client gone; the engine is free");
        }
    }

    private static bool IsLoopbackName(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));

    // Same origin as the page (the Host header), an origin the user allowed, or no Origin at all (not a browser).
    private bool OriginAllowed(HttpRequest request)
    {
        string origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
            return true;
        if (_host.Options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
            return true;
        return Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    private static byte[] Resource(string file)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("wwwroot/" + file)
            ?? throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"the page file {file} is not embedded in Rain.Serve"));
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

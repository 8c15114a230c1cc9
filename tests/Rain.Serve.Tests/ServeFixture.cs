using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.TestHost;
using Rain.Engine.Api;
using Rain.Engine.Media;
using Rain.Models.Bundle;
using Rain.Models.Config;
using Rain.Testing;

namespace Rain.Serve.Tests;

/// <summary>
/// The golden tiny bundle (128×64, the golden RAIN config with seeded random weights) with the stand-in DWPose models, and
/// one without pose models; exported once for the test class.
/// </summary>
public sealed class ServeFixture : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("rain-serve-tests-").FullName;

    public ServeFixture()
    {
        var config = RainConfig.Load(GoldenData.PathOf("configs/rain_morpher.yaml"));
        Folder = Path.Combine(_root, "with-pose");
        BundleExport.Write(config, Folder, randomSeed: 5, poseModels: (DwposeGolden.Detector, DwposeGolden.Estimator));
        WithoutPoseModels = Path.Combine(_root, "without");
        BundleExport.Write(config, WithoutPoseModels, randomSeed: 5);
    }

    public string Folder { get; }

    public string WithoutPoseModels { get; }

    /// <summary>The reference the servers start with: golden camera frame 4 (a picture with structure, any size).</summary>
    public static RgbImage Reference { get; } = DwposeGolden.Frame(4);

    /// <summary>A golden camera frame's PNG file bytes (the stand-in detector finds a person in frame 0).</summary>
    public static byte[] FramePng(int i) => File.ReadAllBytes(DwposeGolden.PathOf($"frames/frame_{i:D2}.png"));

    public ServeOptions Options(EngineOptions? engine = null) => new()
    {
        BundlePath = Folder,
        Reference = Reference,
        ReferenceName = "frame_04.png",
        Engine = engine ?? new EngineOptions { Seed = 7, LatestFrameWins = true },
        Port = 0,
    };

    /// <summary>A started server on an in-process TestServer.</summary>
    public static async Task<(RainServer Server, TestServer Test)> StartInProcess(ServeOptions options)
    {
        var server = RainServer.Create(options, web => web.UseTestServer());
        await server.StartAsync();
        return (server, server.App.GetTestServer());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A protocol client over a WebSocket: messages with a timeout, the header helpers.</summary>
internal sealed class Client : IAsyncDisposable
{
    private readonly byte[] _buffer = new byte[4 << 20];

    private Client(WebSocket socket) => Socket = socket;

    public WebSocket Socket { get; }

    public static async Task<Client> Connect(TestServer server, string? origin = null)
    {
        var ws = server.CreateWebSocketClient();
        if (origin is not null)
            ws.ConfigureRequest = r => r.Headers.Origin = origin;
        return new Client(await ws.ConnectAsync(new Uri(server.BaseAddress, "ws"), CancellationToken.None));
    }

    /// <summary>The next message: text as JSON, binary as bytes; null when the server closed (see <see cref="Socket"/>'s CloseStatus).</summary>
    public async Task<(JsonElement? Json, byte[]? Binary)?> Next(int seconds = 60)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        int length = 0;
        WebSocketReceiveResult r;
        do
        {
            r = await Socket.ReceiveAsync(new ArraySegment<byte>(_buffer, length, _buffer.Length - length), timeout.Token);
            length += r.Count;
        }
        while (!r.EndOfMessage);
        if (r.MessageType == WebSocketMessageType.Close)
            return null;
        if (r.MessageType == WebSocketMessageType.Text)
            return (JsonDocument.Parse(Encoding.UTF8.GetString(_buffer, 0, length)).RootElement.Clone(), null);
        return (null, _buffer.AsSpan(0, length).ToArray());
    }

    /// <summary>The next message that is not a periodic "stats" one.</summary>
    public async Task<(JsonElement? Json, byte[]? Binary)?> NextNotStats(int seconds = 60)
    {
        while (true)
        {
            var m = await Next(seconds);
            if (m?.Json is { } j && j.GetProperty("type").GetString() == "stats")
                continue;
            return m;
        }
    }

    /// <summary>The next control message, which must be of <paramref name="type"/>.</summary>
    public async Task<JsonElement> Expect(string type, int seconds = 60)
    {
        var m = await NextNotStats(seconds);
        Assert.True(m is not null, $"expected a \"{type}\" message; the server closed the socket ({Socket.CloseStatus} {Socket.CloseStatusDescription})");
        Assert.True(m.Value.Json is not null, $"expected a \"{type}\" message; got a binary message");
        var json = m.Value.Json!.Value;
        Assert.True(json.GetProperty("type").GetString() == type, $"expected a \"{type}\" message; got {json}");
        return json;
    }

    public Task Send(string json) => Socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendBinary(byte[] bytes) => Socket.SendAsync(bytes, WebSocketMessageType.Binary, true, CancellationToken.None);

    /// <summary>A client message: the 16-byte header and <paramref name="payload"/>.</summary>
    public static byte[] Message(byte kind, uint sequence, double captureMs, byte[] payload)
    {
        var m = new byte[16 + payload.Length];
        m[0] = kind;
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(4), sequence);
        BinaryPrimitives.WriteDoubleLittleEndian(m.AsSpan(8), captureMs);
        payload.CopyTo(m, 16);
        return m;
    }

    /// <summary>An animated frame's parts (see the protocol).</summary>
    public static (uint Sequence, double CaptureMs, byte[] Jpeg, byte[] Png, double ServerMs) Frame(byte[] m)
    {
        Assert.Equal(0x81, m[0]);
        uint seq = BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(4));
        double capture = BinaryPrimitives.ReadDoubleLittleEndian(m.AsSpan(8));
        int jpeg = (int)BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(16));
        int png = (int)BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(20));
        double server = BinaryPrimitives.ReadDoubleLittleEndian(m.AsSpan(24));
        Assert.Equal(m.Length, 32 + jpeg + png);
        return (seq, capture, m.AsSpan(32, jpeg).ToArray(), m.AsSpan(32 + jpeg, png).ToArray(), server);
    }

    public async ValueTask DisposeAsync()
    {
        if (Socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
            {
            }
        }

        Socket.Dispose();
    }
}

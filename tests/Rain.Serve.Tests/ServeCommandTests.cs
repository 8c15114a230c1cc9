using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Rain.Cli;

namespace Rain.Serve.Tests;

/// <summary><c>rain serve</c> from the command line: a real Kestrel on loopback, and its refusals with exit code 2.</summary>
public sealed class ServeCommandTests(ServeFixture bundle) : IClassFixture<ServeFixture>
{
    private ServeCommand.Request Request(string? bundlePath, string host = "127.0.0.1", int port = 0) =>
        new(bundlePath, null, host, port, null, [], 16, 42, 0, null, BackendChoice.Cpu);

    [Fact]
    public async Task ServesOnLoopbackUntilStoppedAndNamesStandInPoseModelsOnThePage()
    {
        using var stop = new CancellationTokenSource();
        var o = new StringWriter();
        var e = new StringWriter();
        var addresses = new TaskCompletionSource<IReadOnlyList<string>>();
        var run = Task.Run(() => ServeCommand.Run(Request(bundle.Folder), o, e, stop.Token, a => addresses.SetResult(a)));
        var listening = await addresses.Task.WaitAsync(TimeSpan.FromMinutes(2));
        string address = listening.Single();
        Assert.StartsWith("http://127.0.0.1:", address, StringComparison.Ordinal); // loopback by default

        using (var http = new HttpClient())
        {
            var status = JsonDocument.Parse(await http.GetStringAsync(new Uri(address + "/api/status"))).RootElement;
            Assert.Equal("idle", status.GetProperty("state").GetString());
            Assert.Equal(128, status.GetProperty("width").GetInt32());
        }

        using (var ws = new ClientWebSocket())
        {
            await ws.ConnectAsync(new Uri(address.Replace("http://", "ws://", StringComparison.Ordinal) + "/ws"), CancellationToken.None);
            var buffer = new byte[1 << 16];
            var r = await ws.ReceiveAsync(buffer, CancellationToken.None);
            var hello = JsonDocument.Parse(Encoding.UTF8.GetString(buffer, 0, r.Count)).RootElement;
            Assert.Equal("hello", hello.GetProperty("type").GetString());
            Assert.Contains("not a trained DWPose", hello.GetProperty("pose_note").GetString(), StringComparison.Ordinal); // this bundle carries the stand-ins
            Assert.Equal("the demo's character", hello.GetProperty("reference").GetProperty("name").GetString());
            await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains($"serving {address}/", o.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("listening on the network", o.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClientThatStopsAnsweringIsDroppedAfterTheKeepAlive()
    {
        // Kestrel on loopback and a raw TCP client that completes the WebSocket handshake, then never reads or answers a ping
        // (a laptop closed mid-stream: no close frame, no TCP reset).
        var server = RainServer.Create(bundle.Options() with { Host = "127.0.0.1", Port = 0, ClientTimeout = TimeSpan.FromSeconds(2) });
        await using var owned = server;
        await server.StartAsync();
        var address = new Uri(server.Addresses.Single());
        using var http = new HttpClient();
        async Task<string> State() => JsonDocument.Parse(await http.GetStringAsync(new Uri(address, "/api/status"))).RootElement.GetProperty("state").GetString()!;

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /ws HTTP/1.1\r\nHost: {address.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        var head = new byte[512];
        int n = await stream.ReadAsync(head);
        Assert.StartsWith("HTTP/1.1 101", Encoding.ASCII.GetString(head, 0, n), StringComparison.Ordinal);
        Assert.Equal("connected", await State());

        var clock = System.Diagnostics.Stopwatch.StartNew();
        string state;
        while ((state = await State()) != "idle" && clock.Elapsed < TimeSpan.FromSeconds(30))
            await Task.Delay(100);
        Assert.Equal("idle", state);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the engine was freed only after {clock.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task OnLoopbackOnlyLoopbackNamesAreServed()
    {
        var server = RainServer.Create(bundle.Options() with { Host = "127.0.0.1", Port = 0 });
        await using var owned = server;
        await server.StartAsync();
        var address = new Uri(server.Addresses.Single());
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(address, "/api/status"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://localhost:{address.Port}/api/status"))).StatusCode);
        using var rebound = new HttpRequestMessage(HttpMethod.Get, new Uri(address, "/api/status"));
        rebound.Headers.Host = $"attacker.example:{address.Port}"; // what a DNS-rebinding page's requests carry
        var refused = await http.SendAsync(rebound);
        Assert.Equal(HttpStatusCode.MisdirectedRequest, refused.StatusCode);
        Assert.Contains("loopback", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public void ABundleWithoutPoseModelsIsRefusedWithWhatToDo()
    {
        var e = new StringWriter();
        Assert.Equal(CliErrors.BadInput, ServeCommand.Run(Request(bundle.WithoutPoseModels), TextWriter.Null, e, CancellationToken.None));
        Assert.Contains("no pose models", e.ToString(), StringComparison.Ordinal);
        Assert.Contains("--pose-detector", e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AHostNameIsRefused()
    {
        var e = new StringWriter();
        Assert.Equal(CliErrors.BadInput, ServeCommand.Run(Request(bundle.Folder, host: "example.com"), TextWriter.Null, e, CancellationToken.None));
        Assert.Contains("--host must be an IP address", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void APortInUseIsReportedInOneLine()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var e = new StringWriter();
        Assert.Equal(CliErrors.BadInput, ServeCommand.Run(Request(bundle.Folder, port: port), TextWriter.Null, e, CancellationToken.None));
        Assert.Contains($"cannot listen on 127.0.0.1:{port}", e.ToString(), StringComparison.Ordinal);
        Assert.Single(e.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("rain serve:", StringComparison.Ordinal));
    }

    [Fact]
    public void BadOptionsAreRefusedBeforeAnythingLoads()
    {
        Assert.Equal(CliErrors.BadInput, ServeCommand.Run(Request(bundle.Folder, port: 70000), TextWriter.Null, TextWriter.Null, CancellationToken.None));
        Assert.Equal(CliErrors.BadInput, RainCommand.Invoke(["serve", "--port", "many"]));
    }
}

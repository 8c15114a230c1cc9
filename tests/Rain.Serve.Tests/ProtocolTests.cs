using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Rain.Engine.Api;
using Rain.Engine.Media;
using Rain.Engine.Pose;
using Rain.Testing;

namespace Rain.Serve.Tests;

/// <summary>
/// The WebSocket protocol in-process (TestServer): frames in and out against the engine run directly, busy, a vanishing
/// client, oversized and malformed messages, the origin check, the page's files and the status endpoint.
/// </summary>
public sealed class ProtocolTests(ServeFixture bundle) : IClassFixture<ServeFixture>
{
    private static readonly EngineOptions Exact = new() { Seed = 7, LatestFrameWins = false }; // every frame taken: comparable with a direct run

    [Fact]
    public async Task CameraFramesComeBackAsTheEnginesFramesWithTheirSequenceCaptureTimeAndPose()
    {
        const int N = 9; // not a multiple of p = 4
        var (server, test) = await ServeFixture.StartInProcess(bundle.Options(Exact));
        await using var owned = server;
        var received = new List<(uint Sequence, double CaptureMs, byte[] Jpeg, byte[] Png, double ServerMs)>();
        await using (var client = await Client.Connect(test))
        {
            var hello = await client.Expect("hello");
            Assert.Equal(128, hello.GetProperty("width").GetInt32());
            Assert.Equal(64, hello.GetProperty("height").GetInt32());
            Assert.Equal(143, hello.GetProperty("frame_short_side").GetInt32()); // ceil(128 / 0.9): the centre crop's square maps onto the detection size
            Assert.Equal(RetargetSliders.Names, hello.GetProperty("sliders").EnumerateArray().Select(s => s.GetProperty("name").GetString()));

            await client.Send("""{"type":"start"}""");
            var started = await client.Expect("started");
            Assert.Equal("configured", started.GetProperty("reference").GetString());
            for (int i = 0; i < N; i++)
                await client.SendBinary(Client.Message(0x01, (uint)(100 + i), 5000.25 + i, ServeFixture.FramePng(i % 2 == 0 ? 0 : 7)));
            await client.Send("""{"type":"stop","drain":true}""");
            while (await client.NextNotStats(120) is { } m && m.Binary is { } b)
                received.Add(Client.Frame(b));
        }

        // The reference: the same engine options, the same camera frames pushed directly, the pose front end run alone.
        var frames = Enumerable.Range(0, N).Select(i => DwposeGolden.Frame(i % 2 == 0 ? 0 : 7)).ToArray();
        var expectedFrames = new List<RgbImage>();
        using (var engine = RainEngine.Load(bundle.Folder, Exact))
        using (var session = engine.CreateSession(ServeFixture.Reference))
        {
            foreach (var f in frames)
                session.PushCameraFrame(f);
            session.CompleteInput();
            while (session.ReadFrame() is { } f)
            {
                using (f)
                    expectedFrames.Add(new RgbImage(f.Image.Width, f.Image.Height, (byte[])f.Image.Pixels.Clone()));
            }
        }

        using var poses = PoseFrontEnd.Load(Rain.Engine.Bundle.ModelBundle.Load(bundle.Folder));
        var expectedPoses = frames.Select(f => poses.Process(f)).ToArray();

        Assert.Equal(N, received.Count);
        for (int i = 0; i < N; i++)
        {
            var r = received[i];
            Assert.Equal((uint)(100 + i), r.Sequence);
            Assert.Equal(5000.25 + i, r.CaptureMs);
            Assert.True(r.ServerMs > 0, "the server's latency is measured");
            var image = ImageCodec.Decode(r.Jpeg, $"frame {i}");
            Assert.Equal((128, 64), (image.Width, image.Height));
            Assert.Equal(JpegEncoder.Encode(expectedFrames[i], 90), r.Jpeg); // exactly the engine's frame, encoded
            Assert.True(MeanAbsDiff(image, expectedFrames[i]) < 8, $"frame {i}: the JPEG is far from the engine's frame (mean |diff| {MeanAbsDiff(image, expectedFrames[i]):F2})");
            var pose = ImageCodec.Decode(r.Png, $"pose {i}");
            Assert.Equal(expectedPoses[i].Pixels, pose.Pixels); // the pose image the frame was made from, lossless
        }

        Assert.True(expectedPoses[0].Pixels.Any(b => b != 0), "the stand-in pose model draws a face on frame 0");
    }

    [Fact]
    public async Task StatusReportsTheStream()
    {
        var (server, test) = await ServeFixture.StartInProcess(bundle.Options(Exact));
        await using var owned = server;
        using var http = test.CreateClient();
        var idle = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/status", UriKind.Relative))).RootElement;
        Assert.Equal("idle", idle.GetProperty("state").GetString());
        foreach (string key in new[] { "frames_in", "frames_out", "dropped", "fps", "backend" })
            Assert.True(idle.TryGetProperty(key, out var _), key);
        Assert.True(idle.GetProperty("latency_ms").TryGetProperty("p50", out _));
        Assert.True(idle.GetProperty("latency_ms").TryGetProperty("p95", out _));
        Assert.Contains("ONNX Runtime", idle.GetProperty("backend").GetString(), StringComparison.Ordinal);

        await using var client = await Client.Connect(test);
        await client.Expect("hello");
        await client.Send("""{"type":"start"}""");
        await client.Expect("started");
        for (int i = 0; i < 8; i++)
            await client.SendBinary(Client.Message(0x01, (uint)i, i, ServeFixture.FramePng(0)));
        await client.Send("""{"type":"report","glass_to_glass_ms":{"p50":120.5,"p95":300}}""");
        await client.Send("""{"type":"stop","drain":true}""");
        int frames = 0;
        while (await client.NextNotStats(120) is { } m && m.Binary is not null)
            frames++;
        var s = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/status", UriKind.Relative))).RootElement;
        Assert.Equal("connected", s.GetProperty("state").GetString());
        Assert.Equal(8, s.GetProperty("frames_in").GetInt64());
        Assert.Equal(frames, s.GetProperty("frames_out").GetInt64());
        Assert.Equal(8, frames);
        Assert.Equal(0, s.GetProperty("dropped").GetInt64());
        Assert.True(s.GetProperty("fps").GetDouble() > 0);
        Assert.True(s.GetProperty("latency_ms").GetProperty("p95").GetDouble() >= s.GetProperty("latency_ms").GetProperty("p50").GetDouble());
        Assert.True(s.GetProperty("latency_ms").GetProperty("p50").GetDouble() > 0);
        Assert.Equal(120.5, s.GetProperty("glass_to_glass_ms").GetProperty("p50").GetDouble());
    }

    [Fact]
    public async Task ASecondClientIsToldBusyAndTheFirstKeepsItsStream()
    {
        var (server, test) = await ServeFixture.StartInProcess(bundle.Options());
        await using var owned = server;
        await using var first = await Client.Connect(test);
        await first.Expect("hello");
        await using (var second = await Client.Connect(test))
        {
            var busy = await second.Expect("busy");
            Assert.Contains("one stream per engine", busy.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Null(await second.Next());
            Assert.Equal(1013, (int)second.Socket.CloseStatus!.Value);
        }

        await first.Send("""{"type":"start"}""");
        await first.Expect("started");
        await first.SendBinary(Client.Message(0x01, 1, 1, ServeFixture.FramePng(0)));
        await first.Send("""{"type":"stop"}""");
        await first.Expect("stopped");
    }

    [Fact]
    public async Task AClientThatVanishesFreesTheEngineWithinSeconds()
    {
        var (server, test) = await ServeFixture.StartInProcess(bundle.Options());
        await using var owned = server;
        using var http = test.CreateClient();
        var gone = await Client.Connect(test);
        await gone.Expect("hello");
        await gone.Send("""{"type":"start"}""");
        await gone.Expect("started");
        for (int i = 0; i < 6; i++)
            await gone.SendBinary(Client.Message(0x01, (uint)i, i, ServeFixture.FramePng(0)));
        gone.Socket.Abort(); // no close handshake: the tab crashed, the network went
        await gone.DisposeAsync();

        string state = "";
        for (int i = 0; i < 100 && state != "idle"; i++)
        {
            await Task.Delay(100);
            state = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/status", UriKind.Relative))).RootElement.GetProperty("state").GetString()!;
        }

        Assert.Equal("idle", state);
        await using var next = await Client.Connect(test);
        await next.Expect("hello");
        await next.Send("""{"type":"start"}""");
        await next.Expect("started");
    }

    [Fact]
    public async Task OversizedMessagesCloseThatSocketAndTheServerKeepsServing()
    {
        var (server, test) = await ServeFixture.StartInProcess(bundle.Options() with { MaxFrameBytes = 4096, MaxControlBytes = 2048 });
        await using var owned = server;
        await using (var client = await Client.Connect(test))
        {
            await client.Expect("hello");
            await client.SendBinary(Client.Message(0x01, 0, 0, new byte[4097]));
            Assert.Null(await client.NextNotStats());
            Assert.Equal(WebSocketCloseStatus.MessageTooBig, client.Socket.CloseStatus);
            Assert.Contains("4112", client.Socket.CloseStatusDescription, StringComparison.Ordinal); // 16 + 4096
        }

        await using (var client = await Client.Connect(test))
        {
            await client.Expect("hello"); // the engine was freed
            await client.Send("{\"type\":\"report\",\"pad\":\"" + new string('x', 3000) + "\"}");
            Assert.Null(await client.NextNotStats());
            Assert.Equal(WebSocketCloseStatus.MessageTooBig, client.Socket.CloseStatus);
        }

        await using (var client = await Client.Connect(test))
        {
            await client.Expect("hello");
            await client.Send("""{"type":"start"}""");
            await client.Expect("started");
        }
    }

    [Fact]
    public async Task MalformedMessagesAreRefusedWithAReasonAndTheSocketKeepsServing()
    {
        var (server, test) = await ServeFixture.StartInProcess(bundle.Options(Exact));
        await using var owned = server;
        await using var client = await Client.Connect(test);
        await client.Expect("hello");

        async Task Refused(Func<Task> send, string expected)
        {
            await send();
            var error = await client.Expect("error");
            Assert.Contains(expected, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        await Refused(() => client.Send("not json"), "JSON object");
        await Refused(() => client.Send("[1, 2]"), "\"type\"");
        await Refused(() => client.Send("""{"type":"dance"}"""), "unknown message type \"dance\"");
        await Refused(() => client.Send("""{"type":"retarget","retarget":{"eye_size":2}}"""), "eye_size");
        await Refused(() => client.Send("""{"type":"retarget"}"""), "\"retarget\" object");
        await Refused(() => client.Send("""{"type":"start","reference":"uploaded"}"""), "no reference was uploaded");
        await Refused(() => client.Send("""{"type":"start","reference":"/etc/passwd"}"""), "\"configured\" or \"uploaded\"");
        await Refused(() => client.SendBinary([1, 0, 0]), "16-byte header");
        await Refused(() => client.SendBinary(Client.Message(0x07, 0, 0, [1, 2, 3])), "kind 0x07");
        await Refused(() => client.SendBinary(Client.Message(0x01, 0, double.NaN, [1, 2, 3])), "capture time");
        await Refused(() => client.SendBinary(Client.Message(0x01, 0, 0, ServeFixture.FramePng(0))), "send {\"type\":\"start\"} first");
        await Refused(() => client.SendBinary(Client.Message(0x02, 0, 0, [0x89, 0x50, 0x4e, 0x47, 1, 2])), "uploaded reference");

        await client.Send("""{"type":"start"}""");
        await client.Expect("started");
        await Refused(() => client.SendBinary(Client.Message(0x01, 5, 0, [0xff, 0xd8, 0xff, 0xe0, 9, 9, 9])), "camera frame 5");
        await Refused(() => client.Send("""{"type":"start"}"""), "already streaming");

        // Still serving: a good frame gives its animated frame.
        await client.SendBinary(Client.Message(0x01, 6, 42, ServeFixture.FramePng(0)));
        await client.Send("""{"type":"stop","drain":true}""");
        var frame = await client.NextNotStats(120);
        Assert.NotNull(frame?.Binary);
        Assert.Equal(6u, Client.Frame(frame!.Value.Binary!).Sequence);
        await client.Expect("stopped");
        using var http = test.CreateClient();
        var s = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/status", UriKind.Relative))).RootElement;
        Assert.Equal(1, s.GetProperty("frames_out").GetInt64());
        Assert.Equal(1, s.GetProperty("dropped").GetInt64()); // the undecodable frame of this stream
    }

    [Fact]
    public async Task AnUploadedReferenceStartsAStream()
    {
        var (server, test) = await ServeFixture.StartInProcess(bundle.Options());
        await using var owned = server;
        await using var client = await Client.Connect(test);
        await client.Expect("hello");
        await client.SendBinary(Client.Message(0x02, 0, 0, ServeFixture.FramePng(3)));
        var reference = await client.Expect("reference");
        Assert.Equal((800, 600), (reference.GetProperty("width").GetInt32(), reference.GetProperty("height").GetInt32()));
        await client.Send("""{"type":"start","reference":"uploaded"}""");
        var started = await client.Expect("started");
        Assert.Equal("uploaded", started.GetProperty("reference").GetString());
        Assert.Equal(800, started.GetProperty("width").GetInt32());
    }

    [Fact]
    public async Task RetargetingAppliesToTheNextCameraFrames()
    {
        var (server, test) = await ServeFixture.StartInProcess(bundle.Options(Exact));
        await using var owned = server;
        var poses = new List<byte[]>();
        await using (var client = await Client.Connect(test))
        {
            await client.Expect("hello");
            await client.Send("""{"type":"start"}""");
            await client.Expect("started");
            for (int i = 0; i < 4; i++)
                await client.SendBinary(Client.Message(0x01, (uint)i, i, ServeFixture.FramePng(0)));
            await client.Send("""{"type":"retarget","retarget":{"eye_height_ratio":0.5,"face_length_ratio":1.4,"mouth_width_ratio":2.5}}""");
            for (int i = 4; i < 12; i++)
                await client.SendBinary(Client.Message(0x01, (uint)i, i, ServeFixture.FramePng(0)));
            await client.Send("""{"type":"stop","drain":true}""");
            while (await client.NextNotStats(120) is { } m && m.Binary is { } b)
                poses.Add(ImageCodec.Decode(Client.Frame(b).Png, "pose").Pixels);
        }

        var frame = DwposeGolden.Frame(0);
        using var frontEnd = PoseFrontEnd.Load(Rain.Engine.Bundle.ModelBundle.Load(bundle.Folder));
        byte[] live = frontEnd.Process(frame).Pixels;
        frontEnd.Retarget = RetargetOptions.FromSliders(new RetargetSliders { EyeHeightRatio = 0.5, FaceLengthRatio = 1.4, MouthWidthRatio = 2.5 });
        byte[] moved = frontEnd.Process(frame).Pixels;
        Assert.NotEqual(live, moved);
        Assert.Equal(12, poses.Count);
        Assert.Equal(live, poses[0]);   // before the message
        Assert.Equal(moved, poses[^1]); // after it
        Assert.All(poses, p => Assert.True(p.AsSpan().SequenceEqual(live) || p.AsSpan().SequenceEqual(moved)));
    }

    [Fact]
    public async Task TheWebSocketRefusesOtherOrigins()
    {
        var (server, test) = await ServeFixture.StartInProcess(bundle.Options());
        await using var owned = server;
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => Client.Connect(test, "http://evil.example"));
        Assert.Contains("403", refused.Message, StringComparison.Ordinal);
        await using var same = await Client.Connect(test, "http://localhost");
        await same.Expect("hello");
    }

    [Fact]
    public async Task ThePageItsFilesAndTheReferenceAreServedAndNothingElse()
    {
        var (server, test) = await ServeFixture.StartInProcess(bundle.Options());
        await using var owned = server;
        using var http = test.CreateClient();
        var page = await http.GetAsync(new Uri("/", UriKind.Relative));
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<canvas id=\"out\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html, StringComparison.Ordinal); // nothing from outside the machine
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        var js = await http.GetAsync(new Uri("/app.js", UriKind.Relative));
        Assert.Equal("text/javascript", js.Content.Headers.ContentType!.MediaType);
        Assert.Contains("getUserMedia", await js.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var reference = ImageCodec.Decode(await http.GetByteArrayAsync(new Uri("/api/reference", UriKind.Relative)), "reference");
        Assert.Equal(ServeFixture.Reference.Pixels, reference.Pixels);
        foreach (string path in new[] { "/../../etc/passwd", "/wwwroot/index.html", "/Rain.Serve.dll", "/api/reference?path=/etc/passwd&x=1/../" })
        {
            var r = await http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(path.StartsWith("/api/reference", StringComparison.Ordinal) ? r.Content.Headers.ContentType!.MediaType == "image/png" : r.StatusCode == HttpStatusCode.NotFound, path);
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync(new Uri("/ws", UriKind.Relative))).StatusCode);
    }

    private static double MeanAbsDiff(RgbImage a, RgbImage b)
    {
        long sum = 0;
        for (int i = 0; i < a.Pixels.Length; i++)
            sum += Math.Abs(a.Pixels[i] - b.Pixels[i]);
        return (double)sum / a.Pixels.Length;
    }
}

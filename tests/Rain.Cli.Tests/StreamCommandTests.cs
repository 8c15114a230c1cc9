using System.Text.Json.Nodes;
using Rain.Engine.Media;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Cli.Tests;

/// <summary>`rain demo`, `rain run` and `rain bench` end to end through the root command, and their clear errors.</summary>
public sealed class StreamCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("rain-cli-").FullName;

    private string Bundle()
    {
        string bundle = Path.Combine(_folder, "bundle");
        Assert.Equal(0, Cli.Invoke(output, "export", "--rain-root", GoldenData.Root, "--out", bundle));
        return bundle;
    }

    private string Poses(int count)
    {
        string poses = Path.Combine(_folder, "poses");
        Directory.CreateDirectory(poses);
        for (int i = 0; i < count; i++)
            ImageCodec.SavePng(DemoScene.Pose(i, 128, 64), Path.Combine(poses, $"pose_{i:D3}.png"));
        return poses;
    }

    [Fact]
    public void DemoStreamsWritesFramesAndAReportAndReusesItsCachedBundle()
    {
        string cache = Path.Combine(_folder, "cache"), out1 = Path.Combine(_folder, "demo");
        string trace = Path.Combine(out1, "trace.json"), picture = Path.Combine(out1, "trace.png");
        Assert.Equal(0, Cli.Invoke(output, out string first, out _, "demo", "--out", out1, "--steps", "5", "--cache", cache, "--threads", "1", "--trace", trace, "--trace-png", picture));
        Assert.Contains("exported", first, StringComparison.Ordinal);
        Assert.Contains($"trace: {trace} (", first, StringComparison.Ordinal);

        // The demo's timeline: its 5 chunks in 8 steps (the drain included), each frame's flow from pose in to frame out, the threads named.
        using (var document = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(trace)))
        {
            var events = document.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
            Assert.Equal(8, events.Count(e => e.GetProperty("name").GetString() == "step"));
            Assert.Equal(20, events.Count(e => e.GetProperty("ph").GetString() == "f" && e.GetProperty("cat").GetString() == "frame"));
            Assert.Equal(20, events.Count(e => e.GetProperty("name").GetString() == "write frame"));
            var threadNames = events.Where(e => e.GetProperty("name").GetString() == "thread_name").Select(e => e.GetProperty("args").GetProperty("name").GetString()).ToList();
            Assert.Contains("rain-session", threadNames);
            Assert.Contains("rain-pusher", threadNames);
            Assert.Contains("main (writes frames)", threadNames);
            Assert.Equal("rain demo", document.RootElement.GetProperty("otherData").GetProperty("command").GetString());
        }

        Assert.Equal(1400, ImageCodec.Load(picture).Width);

        // 5 chunks of p = 4, L = 4: the window is drained at the end, so all 20 poses give frames, in 5 + 3 steps.
        Assert.Equal(20, Directory.GetFiles(Path.Combine(out1, "frames"), "frame_*.png").Length);
        var frame = ImageCodec.Load(Path.Combine(out1, "frames", "frame_00019.png"));
        Assert.Equal((128, 64), (frame.Width, frame.Height));
        var report = JsonNode.Parse(File.ReadAllText(Path.Combine(out1, "latency.json")))!;
        Assert.Equal(8, report["steps"]!.GetValue<long>());
        Assert.Equal(20, report["frames"]!.GetValue<long>());
        Assert.True(report["frame_latency_ms"]!["p99"]!.GetValue<double>() >= report["frame_latency_ms"]!["p50"]!.GetValue<double>());
        Assert.NotNull(report["stages_ms"]!["UNetParts"]);

        Assert.Equal(0, Cli.Invoke(output, out string second, out _, "demo", "--out", out1, "--steps", "4", "--cache", cache, "--threads", "1"));
        Assert.Contains("(cached)", second, StringComparison.Ordinal);
        Assert.Equal(16, Directory.GetFiles(Path.Combine(out1, "frames"), "frame_*.png").Length);
    }

    [Fact]
    public void RunAnimatesAFolderOfPosesIntoTheFramesASessionMakesAndNamesABadPoseFile()
    {
        const int Count = 18; // not a multiple of p: the partial chunk is drained too
        string bundle = Bundle(), poses = Poses(Count), reference = Path.Combine(_folder, "reference.png"), frames = Path.Combine(_folder, "frames");
        ImageCodec.SavePng(DemoScene.Reference(96, 96), reference);
        Assert.Equal(0, Cli.Invoke(output, "run", "--bundle", bundle, "--reference", reference, "--poses", poses, "--out", frames, "--threads", "1", "--seed", "3"));
        var written = Directory.GetFiles(frames, "frame_*.png").Order(StringComparer.Ordinal).Select(ImageCodec.Load).ToList();
        Assert.Equal(Count, written.Count);
        Assert.True(File.Exists(Path.Combine(frames, "latency.json")));

        // Not black (NaN turned into bytes), not flat, not all alike; and the same bytes as a session of the public API
        // given the same bundle, seed, reference and poses (PNG is lossless), so the command wrote every frame, in order.
        Assert.All(written, f => Assert.True(f.Pixels.Distinct().Count() > 16, "a flat frame"));
        Assert.True(written.Select(f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(f.Pixels))).Distinct().Count() > Count / 2, "the frames barely change");
        using (var engine = Rain.Engine.Api.RainEngine.Load(bundle, new Rain.Engine.Api.EngineOptions { Seed = 3, Threads = 1 }))
        using (var session = engine.CreateSession(ImageCodec.Load(reference)))
        {
            foreach (string file in Directory.GetFiles(poses).Order(StringComparer.Ordinal))
                session.PushPose(ImageCodec.Load(file));
            session.CompleteInput();
            int i = 0;
            while (session.ReadFrame() is { } frame)
            {
                using (frame)
                    Assert.True(frame.Image.Pixels.AsSpan().SequenceEqual(written[i++].Pixels), $"frame {i - 1} differs from the session's");
            }

            Assert.Equal(Count, i);
        }

        ImageCodec.SavePng(DemoScene.Pose(0, 64, 64), Path.Combine(poses, "pose_005.png"));
        Assert.Equal(2, Cli.Invoke(output, out _, out string wrongSize, "run", "--bundle", bundle, "--reference", reference, "--poses", poses, "--out", frames));
        Assert.Contains("pose_005.png", wrongSize, StringComparison.Ordinal);
        Assert.Contains("128x64", wrongSize, StringComparison.Ordinal);

        File.WriteAllBytes(Path.Combine(poses, "pose_005.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);
        Assert.Equal(2, Cli.Invoke(output, out _, out string corrupt, "run", "--bundle", bundle, "--reference", reference, "--poses", poses, "--out", frames));
        Assert.Contains("pose_005.png", corrupt, StringComparison.Ordinal);
    }

    [Fact]
    public void RunToMp4EncodesThroughFfmpegOrSaysItIsMissingAndWritesPngs()
    {
        string bundle = Bundle(), poses = Poses(20), reference = Path.Combine(_folder, "reference.png"), video = Path.Combine(_folder, "out.mp4");
        ImageCodec.SavePng(DemoScene.Reference(96, 96), reference);
        Assert.Equal(0, Cli.Invoke(output, out _, out string errors, "run", "--bundle", bundle, "--reference", reference, "--poses", poses, "--out", video, "--threads", "1"));
        if (FfmpegVideo.Find() is { } ffmpeg)
        {
            // Decoded back through ffmpeg: 20 poses → 20 frames of the bundle's size.
            var frames = FfmpegVideo.ReadFrames(ffmpeg, video, 128, 64).ToList();
            Assert.Equal(20, frames.Count);
        }
        else
        {
            Assert.Contains("ffmpeg not found", errors, StringComparison.Ordinal);
            Assert.Equal(20, Directory.GetFiles(Path.Combine(_folder, "out_frames"), "frame_*.png").Length);
        }
    }

    [Fact]
    public void BenchReportsPercentilesStagesOverheadAndAllocationsAsJsonAndAChart()
    {
        string bundle = Bundle(), json = Path.Combine(_folder, "bench.json"), chart = Path.Combine(_folder, "bench.png"), trace = Path.Combine(_folder, "trace", "bench.trace.json");
        Assert.Equal(0, Cli.Invoke(output, out string text, out _, "bench", "--bundle", bundle, "--steps", "3", "--warmup", "3", "--threads", "1", "--serial-attention", "--json", json, "--chart", chart,
            "--gemm-seconds", "0.05", "--trace", trace, "--trace-png", Path.Combine(_folder, "trace", "bench.trace.png")));
        Assert.Contains("engine overhead", text, StringComparison.Ordinal);
        Assert.Contains("tracing cost: step time on/off ", text, StringComparison.Ordinal);

        // The trace holds the measured steps only (not the warm-up — L = 4 steps although 3 were asked, so that every
        // measured step decodes —, not the steps that measured the tracing cost), each chunk's flow from its pose input to
        // its frame output, and the UNet's 43 parts per step.
        using (var document = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(trace)))
        {
            var events = document.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
            Assert.Equal([4L, 5L, 6L], events.Where(e => e.GetProperty("name").GetString() == "step").Select(e => e.GetProperty("args").GetProperty("step").GetInt64()));
            Assert.Equal(3 * 43, events.Count(e => e.TryGetProperty("cat", out var c) && c.GetString() == "unet"));
            Assert.Equal(3, events.Count(e => e.GetProperty("ph").GetString() == "s" && e.GetProperty("cat").GetString() == "chunk"));
        }

        Assert.True(File.Exists(Path.Combine(_folder, "trace", "bench.trace.png")));
        var cost = JsonNode.Parse(File.ReadAllText(json))!["trace"]!["cost"]!;
        Assert.Equal(4, cost["steps_each"]!.GetValue<int>());
        Assert.Equal(0, cost["allocated_bytes_per_step_on_max"]!.GetValue<long>());
        Assert.Equal(0, cost["allocated_bytes_per_step_off_max"]!.GetValue<long>());
        Assert.True(cost["ratio_on_off"]!.GetValue<double>() > 0);
        var report = JsonNode.Parse(File.ReadAllText(json))!;
        Assert.Equal(3, report["step_ms_series"]!.AsArray().Count);
        double step = report["step_ms"]!["mean"]!.GetValue<double>();
        double compute = report["compute_ms_mean"]!.GetValue<double>();
        Assert.InRange(compute, 0, step);
        Assert.Equal(0, report["allocated_bytes_per_step_max"]!.GetValue<long>());
        Assert.True(report["peak_rss_bytes"]!.GetValue<long>() > 0);

        // Steady state: the warm-up is the L − 1 filler steps (no decode), the cold first decode, reported apart.
        Assert.Equal(3, report["warmup_steps_requested"]!.GetValue<int>());
        Assert.Equal(4, report["warmup_steps"]!.GetValue<int>());
        Assert.Equal([false, false, false, true], report["warmup"]!["decoded"]!.AsArray().Select(d => d!.GetValue<bool>()));
        Assert.Equal(4, report["warmup"]!["step_ms"]!.AsArray().Count);

        // The memory ledger: every part's weights are its files in the bundle; the groups add up to the parts.
        var memory = report["memory"]!;
        var networks = memory["networks"]!.AsArray();
        Assert.Equal(49, networks.Count);
        long onDisk = Directory.EnumerateFiles(bundle, "*.onnx").Concat(Directory.EnumerateFiles(bundle, "*.onnx.data")).Sum(f => new FileInfo(f).Length);
        Assert.Equal(onDisk, memory["weight_bytes"]!.GetValue<long>());
        Assert.Equal(onDisk, networks.Sum(n => n!["weight_bytes"]!.GetValue<long>()));
        Assert.Equal(onDisk, memory["groups"]!.AsObject().Sum(g => g.Value!["weight_bytes"]!.GetValue<long>()));
        Assert.All(networks.Where(n => n!["group"]!.GetValue<string>() == "reference"), n => Assert.False(n!["loaded"]!.GetValue<bool>()));
        Assert.Equal(onDisk - networks.Where(n => n!["group"]!.GetValue<string>() == "reference").Sum(n => n!["weight_bytes"]!.GetValue<long>()), memory["loaded_weight_bytes"]!.GetValue<long>());

        // The GEMM baseline ran at the UNet's shapes: three per distinct attention size of the plan.
        var gemm = report["gemm_baseline"]!;
        Assert.True(gemm["gflops_per_s"]!.GetValue<double>() > 0);
        Assert.Equal(12, gemm["shapes"]!.AsArray().Count);
        var flops = report["flops"]!;
        Assert.True(flops["unet_parts_per_step"]!.GetValue<double>() > 0);
        Assert.True(flops["unet_parts_fraction_of_gemm_rate"]!.GetValue<double>() > 0);
        var image = ImageCodec.Load(chart);
        Assert.Equal(900, image.Width);
    }

    [Fact]
    public void BenchSoakSamplesMemoryStepTimeAndLatencyAndReportsTheDriftAsJsonAndAPlot()
    {
        string bundle = Bundle(), json = Path.Combine(_folder, "soak.json"), chart = Path.Combine(_folder, "soak.png");
        Assert.Equal(0, Cli.Invoke(output, out string text, out _, "bench", "--bundle", bundle, "--soak", "0.25", "--sample-seconds", "1", "--threads", "1", "--json", json, "--chart", chart));
        Assert.Contains("drift rss_mb", text, StringComparison.Ordinal);
        var report = JsonNode.Parse(File.ReadAllText(json))!;
        var samples = report["samples"]!.AsArray();
        Assert.InRange(samples.Count, 5, 20); // 15 s at one per second, the load permitting
        Assert.All(samples, s => Assert.True(s!["rss_mb"]!.GetValue<double>() > 10));
        Assert.True(samples[^1]!["steps"]!.GetValue<long>() > samples[0]!["steps"]!.GetValue<long>());
        Assert.NotNull(report["drift"]!["rss_mb"]!["slope_per_hour"]);
        Assert.True(report["frames"]!.GetValue<long>() > 0);
        Assert.Equal(900, ImageCodec.Load(chart).Width);
    }

    [Fact]
    public void SoakDriftIsTheLeastSquaresSlopeAndTheQuarterMeansBesideTheNoise()
    {
        // RSS rising 60 MB per hour exactly (1 MB a minute) with ±0.5 MB alternating noise; step time flat with the same noise.
        var samples = Enumerable.Range(0, 100).Select(i => new SoakRun.Sample(i * 60, i * 100, 500 + i + (i % 2 == 0 ? 0.5 : -0.5), 20, 100 + (i % 2 == 0 ? 0.5 : -0.5), 101, 300, 310, 0)).ToList();
        var drift = SoakRun.Drift(samples).ToDictionary(d => d.Name, d => d.Value);
        Assert.Equal(60, drift["rss_mb"].SlopePerHour, 1.0);
        Assert.True(Math.Abs(drift["rss_mb"].Last - drift["rss_mb"].First) > 2 * drift["rss_mb"].Noise, "a steady rise must show as drift");
        Assert.Equal(0, drift["step_ms"].SlopePerHour, 1.0);
        Assert.InRange(drift["step_ms"].Noise, 0.4, 0.6);
        Assert.True(SoakRun.Flat(drift["step_ms"].First, drift["step_ms"].Last, drift["step_ms"].Noise));
        Assert.False(SoakRun.Flat(drift["rss_mb"].First, drift["rss_mb"].Last, drift["rss_mb"].Noise));
        Assert.True(SoakRun.Flat(100, 100.3, 0), "a change under the 0.5 % floor is flat even without noise");
    }

    [Fact]
    public void AMissingBundleOrRainRootIsAClearError()
    {
        string missing = Path.Combine(_folder, "nowhere");
        Assert.Equal(2, Cli.Invoke(output, out _, out string bench, "bench", "--bundle", missing));
        Assert.Contains("bundle.json", bench, StringComparison.Ordinal);
        Assert.Equal(2, Cli.Invoke(output, out _, out string export, "export", "--rain-root", missing, "--out", Path.Combine(_folder, "b")));
        Assert.Contains("rain_morpher.yaml", export, StringComparison.Ordinal);
        Assert.Equal(2, Cli.Invoke(output, out _, out string events, "bench", "--bundle", missing, "--trace", Path.Combine(_folder, "t.json"), "--trace-events", "5"));
        Assert.Contains("--trace-events must be 1024 to 16777216 (the events the trace keeps); got 5.", events, StringComparison.Ordinal);
    }

    [Fact]
    public void TheTensorRTBackendWithoutTensorRTFailsBeforeAnyWorkInDemoRunAndBench()
    {
        string empty = Directory.CreateDirectory(Path.Combine(_folder, "no-tensorrt")).FullName, cache = Path.Combine(_folder, "cache");
        string missing = Path.Combine(_folder, "nowhere"), reference = Path.Combine(_folder, "reference.png"), poses = Poses(1);
        ImageCodec.SavePng(DemoScene.Reference(96, 96), reference);
        string[][] commands =
        [
            ["demo", "--out", Path.Combine(_folder, "demo"), "--cache", cache],
            ["run", "--bundle", missing, "--reference", reference, "--poses", poses, "--out", Path.Combine(_folder, "frames")],
            ["bench", "--bundle", missing],
        ];
        foreach (string[] command in commands)
        {
            Assert.Equal(2, Cli.Invoke(output, out _, out string error, [.. command, "--backend", "tensorrt", "--tensorrt-dir", empty]));
            Assert.Contains("TensorRT was not found", error, StringComparison.Ordinal);
            Assert.Contains(Path.Combine(empty, "libnvinfer.so.10"), error, StringComparison.Ordinal);
            Assert.DoesNotContain("bundle.json", error, StringComparison.Ordinal); // the bundle was never read
        }

        Assert.False(Directory.Exists(cache)); // the demo exported nothing
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Cli.Tests;

/// <summary>
/// `rain bench --input`: camera frames (the golden DWPose camera frames in a lossless video made by ffmpeg) through a small
/// bundle with the DWPose stand-ins (128x64, p = 4, L = 4), glass-to-glass latency and the pose stage's timings after the warm-up.
/// </summary>
public sealed class BenchCameraTests(LiveCommandTests.PoseBundle bundle, ITestOutputHelper output) : IClassFixture<LiveCommandTests.PoseBundle>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("rain-bench-camera-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [SkippableFact]
    public void BenchCameraModeReportsGlassToGlassPercentilesAndThePoseStage()
    {
        string ffmpeg = Requires.Program("ffmpeg", "rain bench --input reads videos through ffmpeg");
        int[] order = [0, 1, 5, 7];
        string list = Path.Combine(_folder, "list"), video = Path.Combine(_folder, "camera.mkv"), json = Path.Combine(_folder, "bench.json");
        Directory.CreateDirectory(list);
        for (int i = 0; i < order.Length; i++)
            File.Copy(DwposeGolden.PathOf($"frames/frame_{order[i]:D2}.png"), Path.Combine(list, $"{i}.png"));
        Ffmpeg(ffmpeg, $"-framerate 16 -i \"{list}/%d.png\" -c:v ffv1 -pix_fmt bgr0 \"{video}\"");

        // 2 measured steps of p = 4 after the warm-up (L = 4 steps although 0 were asked): 8 frames, from a 4-frame video read again.
        Assert.Equal(0, Cli.Invoke(output, out string text, out _, "bench", "--bundle", bundle.Folder, "--input", video, "--steps", "2", "--warmup", "0", "--threads", "1", "--json", json));
        Assert.Contains("glass to glass ", text, StringComparison.Ordinal);
        Assert.Contains("pose stage (mean ms per frame", text, StringComparison.Ordinal);

        var r = JsonNode.Parse(File.ReadAllText(json))!;
        Assert.Equal("camera", r["mode"]!.GetValue<string>());
        Assert.Equal(4, r["warmup_steps"]!.GetValue<int>());
        Assert.Equal(4, r["warmup_frames"]!.GetValue<long>()); // chunk 0 leaves at step L − 1 = 3, the warm-up's last
        Assert.Equal(8, r["frames"]!.GetValue<int>());
        Assert.Equal(320, r["input"]!["width"]!.GetValue<int>());
        Assert.True(r["input"]!["passes"]!.GetValue<int>() >= 3, "12 frames at least came from a 4-frame video");

        var g2g = r["glass_to_glass_ms"]!;
        double[] perFrame = [.. g2g["per_frame"]!.AsArray().Select(v => v!.GetValue<double>())];
        double[] engine = [.. r["engine_latency_ms"]!["per_frame"]!.AsArray().Select(v => v!.GetValue<double>())];
        Assert.Equal(8, g2g["count"]!.GetValue<int>());
        Assert.Equal(8, perFrame.Length);
        Assert.Equal(8, engine.Length);
        double p50 = g2g["p50"]!.GetValue<double>(), p95 = g2g["p95"]!.GetValue<double>(), p99 = g2g["p99"]!.GetValue<double>(), max = g2g["max"]!.GetValue<double>();
        Assert.True(perFrame.Min() - 0.001 <= p50 && p50 <= p95 && p95 <= p99 && p99 <= max, $"{p50} {p95} {p99} {max}");
        Assert.Equal(perFrame.Max(), max, 0.001);
        Assert.Equal(perFrame.Order().ElementAt(3), p50, 0.001); // nearest rank: the 4th of 8

        // Glass to glass (frame read → frame out) holds the engine's own latency (pose image queued → frame out), measured
        // from a later instant on the same frame, plus the pose front end, which ran on every frame.
        for (int i = 0; i < perFrame.Length; i++)
            Assert.True(perFrame[i] >= engine[i], $"frame {i}: glass to glass {perFrame[i]} ms < engine latency {engine[i]} ms");

        var pose = r["pose_stage_ms"]!;
        double Mean(string part) => pose[part]!["mean"]!.GetValue<double>();
        long frames = pose["total"]!["count"]!.GetValue<long>();
        // Every frame read was accepted; the front end had made poses of all but those still queued (2 at most, and the
        // one in the front end) when the statistics were taken.
        long accepted = r["camera_frames_in"]!.GetValue<long>();
        Assert.Equal(r["input"]!["frames_read"]!.GetValue<long>(), accepted);
        Assert.InRange(frames, accepted - 3, accepted);
        Assert.True(frames >= 12, $"{frames} camera frames through the front end");
        Assert.Equal(frames, pose["detector"]!["count"]!.GetValue<long>());
        // The parts are timed inside the front end, the total around it: the parts add up to the total, less the call itself.
        double parts = Mean("detector") + Mean("estimator") + Mean("other"), total = Mean("total");
        Assert.True(Mean("detector") > 0 && Mean("estimator") > 0 && Mean("other") > 0, "every part took time");
        Assert.InRange(total - parts, -0.001, 0.5 + (0.02 * total));
        Assert.InRange(perFrame.Min(), Mean("total") * 0.5, double.MaxValue); // sanity: a frame's glass to glass includes its pose stage
    }

    [Fact]
    public void BenchCameraModeWithoutPoseModelsIsAClearError()
    {
        string video = Path.Combine(_folder, "absent-but-unread.mkv");
        File.WriteAllBytes(video, [0]);
        Assert.Equal(2, Cli.Invoke(output, out _, out string error, "bench", "--bundle", bundle.WithoutPoseModels, "--input", video, "--steps", "1"));
        Assert.Contains("--input needs a bundle with pose models", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void BenchCameraModeDoesNotCombineWithTheSoak()
    {
        Assert.Equal(2, Cli.Invoke(output, out _, out string error, "bench", "--bundle", bundle.Folder, "--input", "x.mkv", "--soak", "1"));
        Assert.Contains("does not combine with --soak", error, StringComparison.Ordinal);
    }

    private static void Ffmpeg(string ffmpeg, string arguments)
    {
        using var p = Process.Start(new ProcessStartInfo(ffmpeg, "-hide_banner -loglevel error -y " + arguments) { RedirectStandardError = true, UseShellExecute = false })!;
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, string.Create(CultureInfo.InvariantCulture, $"ffmpeg {arguments}: exit {p.ExitCode}: {error}"));
    }
}

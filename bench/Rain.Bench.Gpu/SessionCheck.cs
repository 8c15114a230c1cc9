using System.Globalization;
using Rain.Engine.Api;
using Rain.Engine.Media;

namespace Rain.Bench.Gpu;

/// <summary>
/// <c>--tensorrt-session &lt;bundle&gt; [--steps N] [--max-diff D [--max-mean M]]</c>: the TensorRT backend as a user runs it — through
/// the public API (<see cref="RainEngine.Load(string, EngineOptions?)"/> with <see cref="EngineBackend.TensorRt"/>, a
/// session, pushed poses, frames read in order) — against the CPU backend's session on the same bundle, seed, reference
/// and poses: frame indices, frame differences, session statistics. With <c>--max-diff</c> it judges — exit 1 when a
/// channel differs by more than D of 255, the mean difference exceeds M, the frames are flat or the step graph was not
/// captured; without, it reports (a first GPU run measures how far FP16 engines drift from the fp32 CPU stream).
/// </summary>
internal static class SessionCheck
{
    public static int Run(string bundlePath, int steps, int? maxDiff, TextWriter o, double maxMean = 0.01)
    {
        const ulong Seed = 9;
        using var trt = RainEngine.Load(bundlePath, new EngineOptions { Backend = EngineBackend.TensorRt, Seed = Seed });
        using var cpu = RainEngine.Load(bundlePath, new EngineOptions { Seed = Seed });
        var random = new Random(13);
        var m = trt.Bundle.Manifest;
        var reference = FrameDifference.RandomImage(random, m.ReferenceWidth, m.ReferenceHeight);
        var poses = Enumerable.Range(0, steps * trt.FramesPerStep).Select(_ => FrameDifference.RandomImage(random, trt.Width, trt.Height)).ToArray();
        var (trtFrames, trtStats) = Stream(trt, reference, poses);
        var (cpuFrames, cpuStats) = Stream(cpu, reference, poses);

        int expected = steps * trt.FramesPerStep; // the sessions drain the window at the end of input: every pose gets its frame
        var diff = new FrameDifference();
        for (int i = 0; i < Math.Min(trtFrames.Count, cpuFrames.Count); i++)
            diff.Add(trtFrames[i], cpuFrames[i]);

        var ci = CultureInfo.InvariantCulture;
        var driver = ((Engine.Backends.TensorRt.TrtBackend)trt.Backend).Pipeline.Driver;
        o.WriteLine($"tensorrt session: {trt.BackendDescription}");
        o.WriteLine(string.Create(ci, $"tensorrt session: {steps} steps, frames {trtFrames.Count} (CPU {cpuFrames.Count}, expected {expected}), " +
            $"vs the CPU session: mean |Δ| {diff.Mean:G3} of 255, max {diff.Max}, {diff.Differing} of {diff.Bytes} bytes differ; {diff.DistinctValues} distinct byte values in the CPU frames; " +
            $"graph {(driver.IsCaptured ? "captured" : $"not captured ({driver.CaptureFailure ?? "off"})")}"));
        o.WriteLine(string.Create(ci, $"tensorrt session: step {trtStats.StepTime}; device stage mean {trtStats.Stages[Stage.Device].Mean:F3} ms; frame latency p50 {trtStats.FrameLatency.P50:F1} ms; " +
            $"{trtStats.FramesPerSecond:F1} fps; managed allocation in the last step {trtStats.AllocatedBytesLastStep} B"));
        o.WriteLine(string.Create(ci, $"tensorrt session: CPU session step {cpuStats.StepTime}"));
        bool ok = trtFrames.Count == expected && cpuFrames.Count == expected
            && (maxDiff is null || (diff.Max <= maxDiff && diff.Mean <= maxMean && diff.DistinctValues > 16 && driver.IsCaptured));
        o.WriteLine(ok ? "tensorrt session: PASS" : "tensorrt session: FAIL");
        return ok ? 0 : 1;
    }

    private static (List<byte[]> Frames, SessionStatistics Stats) Stream(RainEngine engine, RgbImage reference, RgbImage[] poses)
    {
        var frames = new List<byte[]>();
        using var session = engine.CreateSession(reference);
        var reader = Task.Run(() =>
        {
            while (session.ReadFrame() is { } frame)
            {
                using (frame)
                {
                    if (frame.Index != frames.Count)
                        throw new InvalidOperationException($"frame {frame.Index} came out where frame {frames.Count} was due");
                    frames.Add(frame.Image.Pixels.ToArray());
                }
            }
        });
        foreach (var pose in poses)
            session.PushPose(pose);
        session.CompleteInput();
        reader.GetAwaiter().GetResult();
        return (frames, session.Statistics);
    }
}

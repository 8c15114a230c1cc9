using System.Diagnostics;
using System.Globalization;
using Rain.Engine.Api;
using Rain.Engine.Media;

namespace Rain.Cli;

/// <summary>Streams poses through a session on a pusher thread while this thread writes frames (PNG files and/or a video).</summary>
internal static class StreamRun
{
    public static SessionStatistics Run(RainEngine engine, RgbImage reference, IEnumerable<RgbImage> poses, string? pngFolder, VideoWriter? video, TextWriter progress, int expectedPoses)
    {
        using var session = engine.CreateSession(reference);
        Exception? pushError = null;
        var pusher = new Thread(() =>
        {
            try
            {
                foreach (var pose in poses)
                    session.PushPose(pose);
            }
            catch (Exception e) when (e is ArgumentException or IOException or ImageFormatException or InvalidOperationException)
            {
                pushError = e;
            }
            finally
            {
                session.CompleteInput();
            }
        }) { IsBackground = true, Name = "rain-pusher" };
        pusher.Start();
        if (pngFolder is not null)
            Directory.CreateDirectory(pngFolder);
        int expectedFrames = Math.Max(0, ((expectedPoses / engine.FramesPerStep) - engine.StartupSteps) * engine.FramesPerStep);
        while (session.ReadFrame() is { } frame)
        {
            using (frame)
            {
                long written = Stopwatch.GetTimestamp();
                if (pngFolder is not null)
                    ImageCodec.SavePng(frame.Image, Path.Combine(pngFolder, string.Create(CultureInfo.InvariantCulture, $"frame_{frame.Index:D5}.png")));
                video?.Write(frame.Image);
                engine.Options.Trace?.Complete("write frame", "host", written, Stopwatch.GetTimestamp());
                if (frame.Index % engine.FramesPerStep == engine.FramesPerStep - 1)
                    ExportCommand.Progress(progress, (int)frame.Index + 1, Math.Max(expectedFrames, (int)frame.Index + 1), string.Create(CultureInfo.InvariantCulture, $"frames, {frame.LatencyMilliseconds:F0} ms latency"));
            }
        }

        pusher.Join();
        progress.WriteLine();
        if (pushError is not null)
            throw pushError;
        return session.Statistics;
    }
}

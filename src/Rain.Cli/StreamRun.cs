using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using Rain.Engine;
using Rain.Engine.Api;
using Rain.Engine.Media;

namespace Rain.Cli;

/// <summary>
/// Streams poses through a session on a pusher thread while this thread writes frames (PNG files and/or a video). Every
/// pose gets its frame (the session drains the window at the end of input). Whatever happens, the frames made are written
/// and the latency report is saved before the failure, if any, is rethrown; a run that makes no frame is an error.
/// </summary>
internal static class StreamRun
{
    /// <param name="engine">The engine.</param>
    /// <param name="reference">The reference image.</param>
    /// <param name="poses">The poses, read lazily on the pusher thread (a file that fails to load ends the input there).</param>
    /// <param name="pngFolder">Where PNG frames go, or null.</param>
    /// <param name="video">Where video frames go, or null.</param>
    /// <param name="progress">Progress bar writer.</param>
    /// <param name="expectedPoses">Poses expected (for the progress bar; 0 when unknown).</param>
    /// <param name="saveReport">Writes the latency report; called once the stream ended, also after a failure.</param>
    public static SessionStatistics Run(RainEngine engine, RgbImage reference, IEnumerable<RgbImage> poses, string? pngFolder, VideoWriter? video, TextWriter progress, int expectedPoses, Action<SessionStatistics> saveReport)
    {
        using var session = engine.CreateSession(reference);
        Exception? pushError = null, readError = null;
        long pushed = 0;
        var pusher = new Thread(() =>
        {
            try
            {
                foreach (var pose in poses)
                {
                    session.PushPose(pose);
                    pushed++;
                }
            }
            catch (Exception e)
            {
                // Anything: an exception escaping this thread would end the process.
                pushError = e;
            }
            finally
            {
                // Drained even after a bad pose file, so the poses read before it still get their frames.
                session.CompleteInput();
            }
        }) { IsBackground = true, Name = "rain-pusher" };
        pusher.Start();
        if (pngFolder is not null)
            Directory.CreateDirectory(pngFolder);
        try
        {
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
                        ExportCommand.Progress(progress, (int)frame.Index + 1, Math.Max(expectedPoses, (int)frame.Index + 1), string.Create(CultureInfo.InvariantCulture, $"frames, {frame.LatencyMilliseconds:F0} ms latency"));
                }
            }
        }
        catch (Exception e)
        {
            readError = e;
            session.Dispose(); // unblocks a pusher waiting on a full queue
        }

        pusher.Join();
        progress.WriteLine();
        var stats = session.Statistics;
        saveReport(stats);

        // The session's own fault says most (step, chunk, stage); a pose that failed to load comes next.
        var failure = readError ?? pushError;
        if (failure is not null)
            ExceptionDispatchInfo.Throw(failure);
        if (stats.FramesOut == 0)
            throw new RainException(RainErrorCategory.InvalidInput, string.Create(CultureInfo.InvariantCulture, $"no frame was made: the input held {pushed} poses."));
        return stats;
    }
}

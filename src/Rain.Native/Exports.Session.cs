using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using Rain.Engine.Api;
using Rain.Engine.Media;
using Rain.Engine.Pose;

namespace Rain.Native;

internal static unsafe partial class Exports
{
    [UnmanagedCallersOnly(EntryPoint = "rain_session_create", CallConvs = [typeof(CallConvCdecl)])]
    public static int SessionCreate(nint engine, byte* referenceRgb, int width, int height, int stride, nint* output)
    {
        try
        {
            if (output is null)
                return (int)Failure.Report(RainStatus.Argument, "out is NULL.");
            *output = 0;
            var native = Handles.Engine(engine);
            var reference = Pixels.Copy(referenceRgb, width, height, stride, "reference_rgb");
            lock (native.Gate)
            {
                if (native.SessionHandle != 0 && Handles.Sessions.TryGet(native.SessionHandle, out _))
                    return (int)Failure.Report(RainStatus.Busy, $"this engine already runs a session (0x{native.SessionHandle:x}); free it with rain_session_free first (one stream per engine).");
                var session = native.Engine.CreateSession(reference);
                native.SessionHandle = Handles.Sessions.Add(new NativeSession(native, session));
                *output = native.SessionHandle;
            }

            return (int)RainStatus.Ok;
        }
        catch (Exception e)
        {
            return (int)Failure.Report(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rain_session_push_pose", CallConvs = [typeof(CallConvCdecl)])]
    public static int SessionPushPose(nint s, byte* rgb, int width, int height, int stride, int timeoutMs)
    {
        try
        {
            var session = Handles.Session(s).Session;
            if (width != session.Width || height != session.Height)
                return (int)Failure.Report(RainStatus.Argument, $"the pose is {width}x{height}; this bundle's poses are {session.Width}x{session.Height}.");
            var pose = Pixels.Copy(rgb, width, height, stride, "rgb");
            return (int)Wait(timeoutMs, "the pose queue stayed full", token => session.TryPushPose(pose) || Push(session, pose, token));
        }
        catch (Exception e)
        {
            return (int)Failure.Report(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rain_session_push_camera_frame", CallConvs = [typeof(CallConvCdecl)])]
    public static int SessionPushCameraFrame(nint s, byte* rgb, int width, int height, int stride, int timeoutMs)
    {
        try
        {
            long captured = Stopwatch.GetTimestamp(); // glass to glass starts when the host hands the frame over
            var session = Handles.Session(s).Session;
            if (rgb is null)
                return (int)Failure.Report(RainStatus.Argument, "rgb is NULL.");
            if (width < 1 || height < 1 || width > Pixels.MaxSide || height > Pixels.MaxSide || stride < width * 3)
                return (int)Failure.Report(RainStatus.Argument, $"rgb: a {width}x{height} frame with stride {stride} (each side 1 to {Pixels.MaxSide}, stride at least width*3).");
            var frame = new ReadOnlySpan<byte>(rgb, checked(((height - 1) * stride) + (width * 3)));
            if (timeoutMs == 0)
            {
                return session.TryPushCameraFrame(frame, width, height, stride, captured) ? (int)RainStatus.Ok
                    : (int)Failure.Report(RainStatus.Timeout, "the camera queue is full (timeout 0 ms: no waiting).");
            }

            using var cts = timeoutMs > 0 ? new CancellationTokenSource(timeoutMs) : null;
            try
            {
                session.PushCameraFrame(frame, width, height, stride, captured, cts?.Token ?? CancellationToken.None);
            }
            catch (OperationCanceledException)
            {
                return (int)Failure.Report(RainStatus.Timeout, $"the camera queue stayed full within {timeoutMs} ms.");
            }

            return (int)RainStatus.Ok;
        }
        catch (Exception e)
        {
            return (int)Failure.Report(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rain_session_set_retarget_json", CallConvs = [typeof(CallConvCdecl)])]
    public static int SessionSetRetargetJson(nint s, byte* json)
    {
        try
        {
            var session = Handles.Session(s).Session;
            string? text = Utf8(json);
            session.Retarget = text is null ? RetargetOptions.Live : RetargetOptions.FromJson(text, "retarget_json");
            return (int)RainStatus.Ok;
        }
        catch (FormatException e)
        {
            return (int)Failure.Report(RainStatus.Argument, e.Message); // the JSON came as an argument, not from a file
        }
        catch (Exception e)
        {
            return (int)Failure.Report(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rain_session_complete_input", CallConvs = [typeof(CallConvCdecl)])]
    public static int SessionCompleteInput(nint s)
    {
        try
        {
            Handles.Session(s).Session.CompleteInput();
            return (int)RainStatus.Ok;
        }
        catch (Exception e)
        {
            return (int)Failure.Report(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rain_session_read_frame", CallConvs = [typeof(CallConvCdecl)])]
    public static int SessionReadFrame(nint s, byte* rgbOut, int stride, int timeoutMs, long* frameIndex, double* latencyMs)
    {
        try
        {
            if (frameIndex is not null)
                *frameIndex = -1;
            if (latencyMs is not null)
                *latencyMs = 0;
            var session = Handles.Session(s).Session;
            if (rgbOut is null)
                return (int)Failure.Report(RainStatus.Argument, "rgb_out is NULL.");
            if (stride < session.Width * 3)
                return (int)Failure.Report(RainStatus.Argument, $"stride {stride} is smaller than a frame row ({session.Width} RGB pixels = {session.Width * 3} bytes).");
            AnimatedFrame? frame = null;
            var status = Wait(timeoutMs, "no frame was ready", token =>
            {
                // ReadFrame answers an ended stream (null) before it looks at the token, so timeout 0 still sees the end.
                frame = session.ReadFrame(token);
                return true;
            });
            if (status != RainStatus.Ok)
                return (int)status;
            if (frame is null)
                return (int)Failure.Report(RainStatus.Closed, "input is complete and every frame was read (or the session was closed).");
            using (frame)
            {
                Pixels.Write(frame.Image, rgbOut, stride, "rgb_out");
                if (frameIndex is not null)
                    *frameIndex = frame.Index;
                if (latencyMs is not null)
                    *latencyMs = frame.LatencyMilliseconds;
            }

            return (int)RainStatus.Ok;
        }
        catch (Exception e)
        {
            return (int)Failure.Report(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rain_session_stats_json", CallConvs = [typeof(CallConvCdecl)])]
    public static int SessionStatsJson(nint s, byte* buffer, nuint capacity, nuint* needed)
    {
        try
        {
            if (needed is not null)
                *needed = 0;
            var stats = Handles.Session(s).Session.Statistics;
            return (int)Json.Write(buffer, capacity, needed, w => WriteStatistics(w, stats));
        }
        catch (Exception e)
        {
            return (int)Failure.Report(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rain_session_free", CallConvs = [typeof(CallConvCdecl)])]
    public static void SessionFree(nint s)
    {
        try
        {
            if (Handles.Sessions.Remove(s) is not { } native)
                return;
            lock (native.Owner.Gate)
            {
                if (native.Owner.SessionHandle == s)
                    native.Owner.SessionHandle = 0;
            }

            native.Session.Dispose();
        }
        catch (Exception e)
        {
            Failure.Report(e);
        }
    }

    private static bool Push(AnimationSession session, RgbImage pose, CancellationToken token)
    {
        session.PushPose(pose, token);
        return true;
    }

    /// <summary>
    /// Runs <paramref name="attempt"/> under the C timeout convention: it returns false when it would have to wait and the
    /// token is already cancelled (timeout 0), and otherwise waits on the token (cancelled after the timeout; none when
    /// negative).
    /// </summary>
    private static RainStatus Wait(int timeoutMs, string what, Func<CancellationToken, bool> attempt)
    {
        try
        {
            if (timeoutMs == 0)
                return attempt(new CancellationToken(canceled: true)) ? RainStatus.Ok : Failure.Report(RainStatus.Timeout, $"{what} (timeout 0 ms: no waiting).");
            using var cts = timeoutMs > 0 ? new CancellationTokenSource(timeoutMs) : null;
            return attempt(cts?.Token ?? CancellationToken.None) ? RainStatus.Ok : Failure.Report(RainStatus.Timeout, $"{what} within {timeoutMs} ms.");
        }
        catch (OperationCanceledException)
        {
            return Failure.Report(RainStatus.Timeout, $"{what} within {timeoutMs} ms.");
        }
    }

    private static void WriteStatistics(Utf8JsonWriter w, SessionStatistics s)
    {
        w.WriteNumber("steps", s.Steps);
        w.WriteNumber("frames_out", s.FramesOut);
        w.WriteNumber("dropped", s.DroppedPoses);
        w.WriteNumber("fps", s.FramesPerSecond);
        WriteSummary(w, "step_ms", s.StepTime);
        WriteSummary(w, "latency_ms", s.FrameLatency);
        w.WriteStartObject("stages_ms");
        foreach (var (stage, summary) in s.Stages)
            WriteSummary(w, stage.ToString(), summary);
        w.WriteEndObject();
        w.WriteNumber("allocated_bytes_last_step", s.AllocatedBytesLastStep);
        w.WriteNumber("allocated_bytes_total", s.AllocatedBytesTotal);
        w.WriteNumber("allocating_steps", s.AllocatingSteps);
        if (s.Camera is { } c)
        {
            w.WriteStartObject("camera");
            w.WriteNumber("frames_in", c.FramesIn);
            w.WriteNumber("dropped", c.Dropped);
            WriteSummary(w, "detector_ms", c.Detector);
            WriteSummary(w, "estimator_ms", c.Estimator);
            WriteSummary(w, "other_ms", c.Other);
            WriteSummary(w, "total_ms", c.Total);
            w.WriteEndObject();
        }
    }

    private static void WriteSummary(Utf8JsonWriter w, string name, LatencySummary s)
    {
        w.WriteStartObject(name);
        w.WriteNumber("count", s.Count);
        w.WriteNumber("mean", s.Mean);
        w.WriteNumber("p50", s.P50);
        w.WriteNumber("p95", s.P95);
        w.WriteNumber("p99", s.P99);
        w.WriteNumber("max", s.Max);
        w.WriteEndObject();
    }
}

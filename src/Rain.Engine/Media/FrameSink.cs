using System.Diagnostics;
using System.Globalization;

namespace Rain.Engine.Media;

/// <summary>Where a <see cref="FrameSink"/> writes.</summary>
public enum FrameSinkKind
{
    /// <summary>A folder of PNG files, <c>frame_00000.png</c> ….</summary>
    PngFolder,

    /// <summary>A video file (<c>.mp4</c>, <c>.mkv</c>, <c>.mov</c>) encoded by ffmpeg.</summary>
    VideoFile,

    /// <summary>A network stream through ffmpeg: <c>rtmp://</c> (FLV), <c>srt://</c> and <c>udp://</c> (MPEG-TS), H.264.</summary>
    Network,

    /// <summary>Raw rgb24 frames, one after another, on standard output (<c>-</c>).</summary>
    RawStdout,

    /// <summary>A V4L2 loopback device (<c>/dev/videoN</c>, the v4l2loopback module) through ffmpeg (<c>-f v4l2</c>).</summary>
    V4L2Loopback,
}

/// <summary>How a <see cref="FrameSink"/> writes.</summary>
public sealed record FrameSinkOptions
{
    private readonly double _rate = 16;

    /// <summary>The frame rate a video file declares (live outputs are stamped with the wall clock instead).</summary>
    public double FrameRate
    {
        get => _rate;
        init => _rate = value is > 0 and <= 1000 ? value : throw new ArgumentOutOfRangeException(nameof(FrameRate), value, "FrameRate must be in (0, 1000] frames per second.");
    }

    /// <summary>Where <c>-</c> writes; null: the process's standard output.</summary>
    public Stream? StandardOutput { get; init; }

    /// <summary>The ffmpeg executable; null looks for <c>ffmpeg</c> on PATH.</summary>
    public string? Ffmpeg { get; init; }
}

/// <summary>A sink that cannot be opened or stopped taking frames (ffmpeg failed, the reader of stdout went away).</summary>
public sealed class FrameSinkException : RainException
{
    /// <summary>Creates the exception with a complete, user-facing message.</summary>
    public FrameSinkException(string message)
        : base(RainErrorCategory.InvalidInput, message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public FrameSinkException(string message, Exception innerException)
        : base(RainErrorCategory.InvalidInput, message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public FrameSinkException()
        : base(RainErrorCategory.InvalidInput, "the frame sink failed.")
    {
    }
}

/// <summary>
/// Frames out to a PNG folder, a video file, a network stream, standard output (raw rgb24) or a V4L2 loopback device. All
/// encoding, muxing and device access is ffmpeg's (a child process fed rawvideo rgb24 on a pipe). Not thread-safe: one
/// writer. <see cref="Dispose()"/> finishes the output (closes ffmpeg's input and waits for it).
/// </summary>
public abstract class FrameSink : IDisposable
{
    private protected FrameSink(string target, FrameSinkKind kind, int width, int height)
    {
        Target = target;
        Kind = kind;
        Width = width;
        Height = height;
    }

    /// <summary>The target as given.</summary>
    public string Target { get; }

    /// <summary>What the target is.</summary>
    public FrameSinkKind Kind { get; }

    /// <summary>Frame width.</summary>
    public int Width { get; }

    /// <summary>Frame height.</summary>
    public int Height { get; }

    /// <summary>Frames written.</summary>
    public long FramesWritten { get; private set; }

    /// <summary>The kind of a target: <c>-</c>, a URL, <c>/dev/videoN</c>, a video file name, else a PNG folder.</summary>
    /// <exception cref="FrameSinkException">A URL of a scheme no sink writes.</exception>
    public static FrameSinkKind KindOf(string target)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        if (target == "-")
            return FrameSinkKind.RawStdout;
        int scheme = target.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0)
        {
            return target[..scheme].ToLowerInvariant() is "rtmp" or "rtmps" or "srt" or "udp"
                ? FrameSinkKind.Network
                : throw new FrameSinkException($"{target}: cannot stream to '{target[..scheme]}://'; outputs are rtmp:// (FLV), srt:// and udp:// (MPEG-TS).");
        }

        if (target.StartsWith("/dev/video", StringComparison.Ordinal))
            return FrameSinkKind.V4L2Loopback;
        return Path.GetExtension(target).ToLowerInvariant() is ".mp4" or ".mkv" or ".mov" ? FrameSinkKind.VideoFile : FrameSinkKind.PngFolder;
    }

    /// <summary>Opens <paramref name="target"/> for frames of <paramref name="width"/>×<paramref name="height"/> (see <see cref="KindOf"/>).</summary>
    /// <exception cref="FrameSinkException">ffmpeg is missing (all but PNG and stdout), the device does not exist, or ffmpeg could not start.</exception>
    public static FrameSink Open(string target, int width, int height, FrameSinkOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        options ??= new FrameSinkOptions();
        var kind = KindOf(target);
        switch (kind)
        {
            case FrameSinkKind.PngFolder:
                Directory.CreateDirectory(target);
                return new PngFolderSink(target, width, height);
            case FrameSinkKind.RawStdout:
                return new StreamSink(target, options.StandardOutput ?? Console.OpenStandardOutput(), width, height);
            default:
                break;
        }

        if (kind == FrameSinkKind.V4L2Loopback && !File.Exists(target))
            throw new FrameSinkException($"{target}: no such V4L2 device; load the loopback module first (sudo modprobe v4l2loopback devices=1) and give the device it made.");
        string ffmpeg = options.Ffmpeg ?? FfmpegVideo.Find()
            ?? throw new FrameSinkException($"{target}: writing {(kind == FrameSinkKind.VideoFile ? "a video" : kind == FrameSinkKind.Network ? "a network stream" : "a V4L2 device")} needs ffmpeg on PATH, which was not found.");
        var args = new List<string> { "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", $"{width}x{height}" };
        if (kind == FrameSinkKind.VideoFile)
            args.AddRange(["-framerate", options.FrameRate.ToString(CultureInfo.InvariantCulture)]);
        else
            args.AddRange(["-use_wallclock_as_timestamps", "1"]); // live: each frame stamped when it arrives
        args.AddRange(["-i", "-"]);
        if (kind == FrameSinkKind.V4L2Loopback)
        {
            args.AddRange(["-fps_mode", "passthrough", "-pix_fmt", "yuv420p", "-f", "v4l2", target]);
        }
        else
        {
            bool x264 = FfmpegVideo.HasEncoder(ffmpeg, "libx264");
            if (kind == FrameSinkKind.Network && !x264)
                throw new FrameSinkException($"{target}: streaming needs an ffmpeg with libx264 (H.264), and {ffmpeg} has none.");
            args.AddRange(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]); // yuv420p needs even sides
            args.AddRange(kind == FrameSinkKind.Network
                ? ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "32", "-fps_mode", "passthrough"]
                : x264 ? ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18"] : ["-c:v", "mpeg4", "-q:v", "3"]);
            args.AddRange(["-pix_fmt", "yuv420p"]);
            if (kind == FrameSinkKind.Network)
                args.AddRange(["-f", target.StartsWith("rtmp", StringComparison.OrdinalIgnoreCase) ? "flv" : "mpegts"]);
            args.Add(target);
        }

        return new FfmpegSink(target, kind, width, height, ffmpeg, args);
    }

    /// <summary>Writes one frame of the sink's size (interleaved RGB, rows width·3 bytes apart).</summary>
    /// <exception cref="ArgumentException">The frame has another size.</exception>
    /// <exception cref="FrameSinkException">The output failed (its message says why); the frames before were written.</exception>
    public void Write(ReadOnlySpan<byte> rgb)
    {
        if (rgb.Length != Width * Height * 3)
            throw new ArgumentException($"{Target}: frames must be {Width}x{Height} ({Width * Height * 3} bytes); got {rgb.Length} bytes.", nameof(rgb));
        WriteFrame(rgb, FramesWritten);
        FramesWritten++;
    }

    /// <summary>Writes one frame of the sink's size.</summary>
    public void Write(RgbImage frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Width != Width || frame.Height != Height)
            throw new ArgumentException($"{Target}: frames must be {Width}x{Height}; got {frame.Width}x{frame.Height}.", nameof(frame));
        Write(frame.Pixels);
    }

    /// <summary>A short description for logs ("udp://… (MPEG-TS, H.264 through ffmpeg)").</summary>
    public string Description => Kind switch
    {
        FrameSinkKind.PngFolder => $"{Target} (PNG frames)",
        FrameSinkKind.VideoFile => $"{Target} (video through ffmpeg)",
        FrameSinkKind.Network => $"{Target} ({(Target.StartsWith("rtmp", StringComparison.OrdinalIgnoreCase) ? "FLV" : "MPEG-TS")}, H.264 through ffmpeg)",
        FrameSinkKind.RawStdout => string.Create(CultureInfo.InvariantCulture, $"stdout (raw rgb24, {Width}x{Height})"),
        _ => $"{Target} (V4L2 through ffmpeg)",
    };

    /// <summary>Finishes the output.</summary>
    /// <exception cref="FrameSinkException">ffmpeg failed finishing it.</exception>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    private protected abstract void WriteFrame(ReadOnlySpan<byte> rgb, long index);

    /// <summary>Finishes the output.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    private sealed class PngFolderSink(string target, int width, int height) : FrameSink(target, FrameSinkKind.PngFolder, width, height)
    {
        private readonly RgbImage _image = new(width, height);

        private protected override void WriteFrame(ReadOnlySpan<byte> rgb, long index)
        {
            rgb.CopyTo(_image.Pixels);
            ImageCodec.SavePng(_image, Path.Combine(Target, string.Create(CultureInfo.InvariantCulture, $"frame_{index:D5}.png")));
        }
    }

    private sealed class StreamSink(string target, Stream stream, int width, int height) : FrameSink(target, FrameSinkKind.RawStdout, width, height)
    {
        private protected override void WriteFrame(ReadOnlySpan<byte> rgb, long index)
        {
            try
            {
                stream.Write(rgb);
                stream.Flush();
            }
            catch (IOException e)
            {
                throw new FrameSinkException($"stdout: the reader stopped taking frames after frame {index - 1}: {e.Message}", e);
            }
        }

        protected override void Dispose(bool disposing)
        {
            try
            {
                stream.Flush();
            }
            catch (IOException)
            {
            }
            finally
            {
                base.Dispose(disposing);
            }
        }
    }

    private sealed class FfmpegSink : FrameSink
    {
        private readonly Process _process;
        private readonly Task<string> _errors;
        private bool _done;

        public FfmpegSink(string target, FrameSinkKind kind, int width, int height, string ffmpeg, List<string> args)
            : base(target, kind, width, height)
        {
            var info = new ProcessStartInfo(ffmpeg) { RedirectStandardInput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in args)
                info.ArgumentList.Add(a);
            try
            {
                _process = Process.Start(info) ?? throw new FrameSinkException($"{target}: {ffmpeg} could not be started.");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new FrameSinkException($"{target}: {ffmpeg} could not be started: {e.Message}", e);
            }

            _errors = _process.StandardError.ReadToEndAsync();
        }

        private protected override void WriteFrame(ReadOnlySpan<byte> rgb, long index)
        {
            try
            {
                var stdin = _process.StandardInput.BaseStream;
                stdin.Write(rgb);
                stdin.Flush();
            }
            catch (IOException e)
            {
                throw new FrameSinkException(string.Create(CultureInfo.InvariantCulture, $"{Target}: ffmpeg stopped taking frames at frame {index}: {Reason()}"), e);
            }
        }

        private string Reason()
        {
            _process.WaitForExit(5000);
            string text = _errors.IsCompleted ? _errors.Result : "";
            string last = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
            return last.Length > 0 ? last : _process.HasExited ? string.Create(CultureInfo.InvariantCulture, $"exit code {_process.ExitCode}") : "it stopped reading";
        }

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (_done)
                return;
            _done = true;
            try
            {
                _process.StandardInput.Close();
            }
            catch (IOException)
            {
            }

            if (!_process.WaitForExit(30_000))
                _process.Kill();
            _process.WaitForExit();
            int code = _process.ExitCode;
            string reason = Reason();
            _process.Dispose();
            if (code != 0)
                throw new FrameSinkException($"{Target}: ffmpeg could not finish the output: {reason}");
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text.RegularExpressions;

namespace Rain.Engine.Media;

/// <summary>What a <see cref="VideoSource"/> reads.</summary>
public enum VideoSourceKind
{
    /// <summary>A video file (or a pipe or fifo carrying a video), decoded by ffmpeg.</summary>
    VideoFile,

    /// <summary>A V4L2 camera (<c>/dev/videoN</c>), read by ffmpeg (<c>-f v4l2</c>).</summary>
    Camera,

    /// <summary>A network stream (<c>rtsp://</c>, <c>srt://</c>, <c>udp://</c>, <c>rtp://</c>, <c>rtmp://</c>, <c>tcp://</c>, <c>http(s)://</c>), read by ffmpeg.</summary>
    Network,

    /// <summary>A folder of images (PNG, JPEG, BMP, WebP), taken in ordinal name order as one sequence.</summary>
    ImageFolder,
}

/// <summary>How a <see cref="VideoSource"/> reads. Immutable; values are checked when set.</summary>
public sealed record VideoSourceOptions
{
    private readonly TimeSpan _stall = TimeSpan.FromSeconds(5);
    private readonly double _folderRate = 25;

    /// <summary>
    /// Files and folders: deliver frames at the video's own frame rate (ffmpeg's <c>-re</c>; a folder at
    /// <see cref="FolderFrameRate"/>) and, like a camera, keep only the newest frame when the reader is slower. Off: frames
    /// are delivered as fast as the reader takes them, none dropped. Cameras and network streams are always live.
    /// </summary>
    public bool Realtime { get; init; }

    /// <summary>Longest <see cref="VideoSource.Read"/> waits for a frame before the source counts as stalled (and fails).</summary>
    public TimeSpan StallTimeout
    {
        get => _stall;
        init => _stall = value > TimeSpan.Zero && value <= TimeSpan.FromHours(1)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(StallTimeout), value, "StallTimeout must be positive and at most an hour.");
    }

    /// <summary>The frame rate of a folder of images (for <see cref="Realtime"/> and for encoders that need one).</summary>
    public double FolderFrameRate
    {
        get => _folderRate;
        init => _folderRate = value is > 0 and <= 1000 ? value : throw new ArgumentOutOfRangeException(nameof(FolderFrameRate), value, "FolderFrameRate must be in (0, 1000] frames per second.");
    }

    /// <summary>The ffmpeg executable; null looks for <c>ffmpeg</c> on PATH.</summary>
    public string? Ffmpeg { get; init; }

    /// <summary>
    /// A folder's images may differ in size (each frame comes at its own size, as <c>rain poses</c> takes them). Off (the
    /// default) a size change fails the source as it does for a stream; ffmpeg's streams always fail on a size change.
    /// </summary>
    public bool FolderSizesMayVary { get; init; }
}

/// <summary>A source that cannot be opened, failed, stalled or changed its frame size mid-stream.</summary>
public sealed class VideoSourceException : RainException
{
    /// <summary>Creates the exception with a complete, user-facing message.</summary>
    public VideoSourceException(string message)
        : base(RainErrorCategory.InvalidInput, message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public VideoSourceException(string message, Exception innerException)
        : base(RainErrorCategory.InvalidInput, message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public VideoSourceException()
        : base(RainErrorCategory.InvalidInput, "the video source failed.")
    {
    }
}

/// <summary>One frame of a <see cref="VideoSource"/>: lent until the next <see cref="VideoSource.Read"/> or dispose.</summary>
public sealed class SourceFrame
{
    internal SourceFrame()
    {
    }

    /// <summary>Interleaved RGB pixels, rows <see cref="Width"/>·3 bytes apart (the buffer may be longer than <see cref="Length"/>).</summary>
    public byte[] Pixels { get; private set; } = [];

    /// <summary>Bytes of the frame in <see cref="Pixels"/>: <see cref="Width"/>·<see cref="Height"/>·3.</summary>
    public int Length => Width * Height * 3;

    /// <summary>Frame width.</summary>
    public int Width { get; internal set; }

    /// <summary>Frame height.</summary>
    public int Height { get; internal set; }

    /// <summary>
    /// When the frame was read (a <see cref="Stopwatch.GetTimestamp"/> value): for a live source the moment its last byte
    /// arrived from ffmpeg; for a file read as fast as possible, the moment <see cref="VideoSource.Read"/> handed it over.
    /// </summary>
    public long Timestamp { get; internal set; }

    /// <summary>The frame's number in the source (0-based, dropped frames included).</summary>
    public long Index { get; internal set; }

    /// <summary>The image file it came from (folders), or null.</summary>
    public string? Name { get; internal set; }

    /// <summary>The pixels as a span of exactly <see cref="Length"/> bytes.</summary>
    public ReadOnlySpan<byte> Span => Pixels.AsSpan(0, Length);

    internal void Ensure(int width, int height)
    {
        if (Pixels.Length < width * height * 3)
            Pixels = new byte[width * height * 3];
        (Width, Height) = (width, height);
    }
}

/// <summary>
/// Frames from a video file, a V4L2 camera, a network stream or a folder of images, as RGB at the source's own size. Every
/// codec, container, protocol and device is ffmpeg's (a child process decoding to rawvideo rgb24 on a pipe); a folder's
/// images are decoded by <see cref="ImageCodec"/>. A reader thread reads the source at its own rate: a live source
/// (camera, network, or a file with <see cref="VideoSourceOptions.Realtime"/>) keeps only the newest frame when the reader
/// is slower — latest frame wins, the others counted in <see cref="Dropped"/>; a file waits for the reader. Errors
/// (cannot open, fails, stalls, changes size) come out of <see cref="Read"/> as <see cref="VideoSourceException"/> after
/// the frames read before them. Frame buffers are reused: steady state allocates nothing per frame.
/// </summary>
public sealed partial class VideoSource : IDisposable
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".webp"];
    private static readonly string[] NetworkSchemes = ["rtsp", "rtsps", "srt", "udp", "rtp", "rtmp", "rtmps", "tcp", "http", "https"];

    private readonly object _gate = new();
    private readonly VideoSourceOptions _options;
    private readonly Queue<SourceFrame> _queue = new();
    private readonly Stack<SourceFrame> _free = new();
    private readonly Thread _thread;
    private readonly List<string>? _files;
    private readonly string? _ffmpeg;
    private Process? _process;
    private SourceFrame? _lent;
    private Exception? _error;
    private bool _ended, _disposed;
    private long _read, _dropped, _delivered;
    private double _frameRate;
    private int _width, _height;

    // ffmpeg's stderr: showinfo's frame lines (number, size) and the last message that was not one of them.
    private readonly Queue<(long N, int W, int H)> _announced = new();
    private bool _stderrEnded;
    private string? _lastMessage;

    private VideoSource(string input, VideoSourceKind kind, VideoSourceOptions options, string? ffmpeg, List<string>? files)
    {
        Input = input;
        Kind = kind;
        _options = options;
        _ffmpeg = ffmpeg;
        _files = files;
        IsLive = kind is VideoSourceKind.Camera or VideoSourceKind.Network || options.Realtime;
        if (kind == VideoSourceKind.ImageFolder)
            _frameRate = options.FolderFrameRate;
        _thread = new Thread(files is null ? FfmpegLoop : FolderLoop) { IsBackground = true, Name = "rain-source" };
    }

    /// <summary>The input as given.</summary>
    public string Input { get; }

    /// <summary>What the input is.</summary>
    public VideoSourceKind Kind { get; }

    /// <summary>True when frames come at the source's own rate and only the newest is kept (camera, network, realtime file).</summary>
    public bool IsLive { get; }

    /// <summary>Frame width (0 until the first frame arrived).</summary>
    public int Width
    {
        get
        {
            lock (_gate)
                return _width;
        }
    }

    /// <summary>Frame height (0 until the first frame arrived).</summary>
    public int Height
    {
        get
        {
            lock (_gate)
                return _height;
        }
    }

    /// <summary>The source's frame rate as ffmpeg reports it (a folder's <see cref="VideoSourceOptions.FolderFrameRate"/>); 0 when unknown.</summary>
    public double FrameRate
    {
        get
        {
            lock (_gate)
                return _frameRate;
        }
    }

    /// <summary>The number of frames when known in advance (a folder's images), else null.</summary>
    public int? FrameCount => _files?.Count;

    /// <summary>Frames read from the source (delivered or dropped).</summary>
    public long FramesRead
    {
        get
        {
            lock (_gate)
                return _read;
        }
    }

    /// <summary>Frames dropped because a newer one arrived before the reader took them (live sources only), and the frames read but not yet handed out when the source was disposed.</summary>
    public long Dropped
    {
        get
        {
            lock (_gate)
                return _dropped;
        }
    }

    /// <summary>Frames handed out by <see cref="Read"/>.</summary>
    public long Delivered
    {
        get
        {
            lock (_gate)
                return _delivered;
        }
    }

    /// <summary>
    /// Opens <paramref name="input"/>: a URL with a network scheme, <c>/dev/videoN</c>, a folder of images or a video file,
    /// and starts reading it. Only what can be known at once is checked here (the path, the scheme, ffmpeg on PATH, a
    /// folder's images); a stream that ffmpeg cannot open is reported by the first <see cref="Read"/>.
    /// </summary>
    /// <exception cref="VideoSourceException">The input does not exist, is of no known kind, or ffmpeg is missing.</exception>
    public static VideoSource Open(string input, VideoSourceOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(input);
        options ??= new VideoSourceOptions();
        var (kind, files) = Classify(input);
        string? ffmpeg = null;
        if (kind != VideoSourceKind.ImageFolder)
        {
            ffmpeg = options.Ffmpeg ?? FfmpegVideo.Find() ?? throw new VideoSourceException(
                $"{input}: reading {Describe(kind)} needs ffmpeg on PATH, which was not found (Debian: apt-get install ffmpeg); a folder of images needs no ffmpeg.");
        }

        var source = new VideoSource(input, kind, options, ffmpeg, files);
        if (kind != VideoSourceKind.ImageFolder)
            source.StartFfmpeg();
        source._thread.Start();
        return source;
    }

    /// <summary>
    /// The next frame, waiting for it; null at the end of the input. The frame is lent until the next call (or dispose).
    /// </summary>
    /// <exception cref="VideoSourceException">The source could not be opened, failed, stalled (no frame within
    /// <see cref="VideoSourceOptions.StallTimeout"/>) or changed its frame size; the frames before were all handed out.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    /// <exception cref="ObjectDisposedException">The source was disposed.</exception>
    public SourceFrame? Read(CancellationToken cancellationToken = default)
    {
        using var registration = cancellationToken.CanBeCanceled ? cancellationToken.Register(Wake) : default;
        long start = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_lent is not null)
            {
                _free.Push(_lent);
                _lent = null;
                Monitor.PulseAll(_gate);
            }

            while (_queue.Count == 0 && _error is null && !_ended)
            {
                cancellationToken.ThrowIfCancellationRequested();
                ObjectDisposedException.ThrowIf(_disposed, this);
                var left = _options.StallTimeout - Stopwatch.GetElapsedTime(start);
                if (left <= TimeSpan.Zero)
                {
                    _error = new VideoSourceException(string.Create(CultureInfo.InvariantCulture,
                        $"{Input}: the source stalled: no frame for {_options.StallTimeout.TotalSeconds:0.###} s {(_read == 0 ? "after it was opened" : $"after frame {_read - 1}")}" +
                        $"{(_lastMessage is null ? "" : $" (ffmpeg: {_lastMessage})")}."));
                    StopProducer();
                    break;
                }

                Monitor.Wait(_gate, left);
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (_queue.Count > 0)
            {
                var frame = _queue.Dequeue();
                Monitor.PulseAll(_gate);
                if (!IsLive)
                    frame.Timestamp = Stopwatch.GetTimestamp();
                _lent = frame;
                _delivered++;
                return frame;
            }

            if (_error is not null)
                ExceptionDispatchInfo.Throw(_error);
            return null;
        }
    }

    /// <summary>Stops the reader (ends ffmpeg) and releases the buffers. Idempotent.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            _dropped += _queue.Count; // read but never handed out: counted as dropped, so FramesRead = Delivered + Dropped
            while (_queue.Count > 0)
                _free.Push(_queue.Dequeue());
            StopProducer();
            Monitor.PulseAll(_gate);
        }

        if (Thread.CurrentThread != _thread && _thread.IsAlive)
            _thread.Join(TimeSpan.FromSeconds(5));
        _process?.Dispose();
    }

    private void Wake()
    {
        lock (_gate)
            Monitor.PulseAll(_gate);
    }

    // Under the gate (or before the thread runs): ends ffmpeg, whose pipes then close.
    private void StopProducer()
    {
        _ended = true;
        try
        {
            if (_process is { HasExited: false })
                _process.Kill();
        }
        catch (InvalidOperationException)
        {
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
    }

    /// <summary>
    /// What <paramref name="input"/> is, checked as <see cref="Open"/> checks it but without starting anything: a host can
    /// name a missing camera or an unknown scheme before it loads a model, and open the source once it is ready for frames.
    /// </summary>
    /// <exception cref="VideoSourceException">The input does not exist or is of no known kind.</exception>
    public static VideoSourceKind KindOf(string input)
    {
        ArgumentException.ThrowIfNullOrEmpty(input);
        return Classify(input).Kind;
    }

    private static string Describe(VideoSourceKind kind) => kind switch
    {
        VideoSourceKind.Camera => "a camera",
        VideoSourceKind.Network => "a network stream",
        VideoSourceKind.ImageFolder => "a folder of images",
        _ => "a video",
    };

    private static (VideoSourceKind Kind, List<string>? Files) Classify(string input)
    {
        int scheme = input.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0)
        {
            string name = input[..scheme].ToLowerInvariant();
            return NetworkSchemes.Contains(name)
                ? (VideoSourceKind.Network, null)
                : throw new VideoSourceException($"{input}: unknown stream scheme '{name}://'; expected one of {string.Join(", ", NetworkSchemes.Select(s => s + "://"))}.");
        }

        if (input.StartsWith("/dev/video", StringComparison.Ordinal))
        {
            return File.Exists(input)
                ? (VideoSourceKind.Camera, null)
                : throw new VideoSourceException($"{input}: no such camera (V4L2 device); the cameras here are: {Cameras()}.");
        }

        if (Directory.Exists(input))
        {
            var files = Directory.EnumerateFiles(input).Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToList();
            return files.Count > 0
                ? (VideoSourceKind.ImageFolder, files)
                : throw new VideoSourceException($"{input}: no images ({string.Join(", ", ImageExtensions)}) in the folder.");
        }

        return File.Exists(input)
            ? (VideoSourceKind.VideoFile, null)
            : throw new VideoSourceException($"{input}: no such file or folder (expected a video file, a folder of images, /dev/videoN or a stream URL).");
    }

    private static string Cameras()
    {
        try
        {
            var found = Directory.Exists("/dev") ? Directory.EnumerateFiles("/dev", "video*").Order(StringComparer.Ordinal).ToList() : [];
            return found.Count == 0 ? "none" : string.Join(", ", found);
        }
        catch (IOException)
        {
            return "unknown";
        }
        catch (UnauthorizedAccessException)
        {
            return "unknown";
        }
    }

    private void StartFfmpeg()
    {
        var args = new List<string> { "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info" };
        if (Kind == VideoSourceKind.Camera)
            args.AddRange(["-f", "v4l2"]);
        if (Kind == VideoSourceKind.Network)
            args.AddRange(["-fflags", "nobuffer", "-flags", "low_delay"]);
        if (Kind == VideoSourceKind.VideoFile && _options.Realtime)
            args.Add("-re");
        // showinfo reports every decoded frame's size before it reaches the pipe: a size change is caught at its frame
        // (ffmpeg would otherwise scale it to the first frame's size without a word). -flush_packets 1: each frame goes down
        // the pipe whole at once (otherwise the tail of a frame over 32 KB waits in ffmpeg's buffer for the next frame).
        args.AddRange(["-i", Input, "-map", "0:v:0", "-vf", "showinfo=checksum=0", "-fps_mode", "passthrough", "-flush_packets", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
        var info = new ProcessStartInfo(_ffmpeg!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
            info.ArgumentList.Add(a);
        try
        {
            _process = Process.Start(info) ?? throw new VideoSourceException($"{Input}: {_ffmpeg} could not be started.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new VideoSourceException($"{Input}: {_ffmpeg} could not be started: {e.Message}", e);
        }

        var stderr = new Thread(StderrLoop) { IsBackground = true, Name = "rain-source-log" };
        stderr.Start();
    }

    [GeneratedRegex(@"\] n:\s*(\d+) .* s:(\d+)x(\d+) ")]
    private static partial Regex ShowInfoFrame();

    [GeneratedRegex(@"config in .*frame_rate: (\d+)/(\d+)")]
    private static partial Regex ShowInfoRate();

    private void StderrLoop()
    {
        var reader = _process!.StandardError;
        try
        {
            while (reader.ReadLine() is { } line)
            {
                var m = ShowInfoFrame().Match(line);
                lock (_gate)
                {
                    if (m.Success)
                    {
                        _announced.Enqueue((long.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture),
                            int.Parse(m.Groups[2].ValueSpan, CultureInfo.InvariantCulture), int.Parse(m.Groups[3].ValueSpan, CultureInfo.InvariantCulture)));
                        Monitor.PulseAll(_gate);
                    }
                    else if (ShowInfoRate().Match(line) is { Success: true } r)
                    {
                        double num = double.Parse(r.Groups[1].ValueSpan, CultureInfo.InvariantCulture), den = double.Parse(r.Groups[2].ValueSpan, CultureInfo.InvariantCulture);
                        if (num > 0 && den > 0)
                            _frameRate = num / den;
                    }
                    else if (IsMessage(line))
                    {
                        _lastMessage = line.Trim();
                    }
                }
            }
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _stderrEnded = true;
                Monitor.PulseAll(_gate);
            }
        }
    }

    // ffmpeg's own messages, not its stream listing or showinfo's per-frame details.
    private static bool IsMessage(string line) =>
        line.Length > 0 && !char.IsWhiteSpace(line[0]) && !line.StartsWith("[Parsed_showinfo", StringComparison.Ordinal)
        && !line.StartsWith("Input #", StringComparison.Ordinal) && !line.StartsWith("Output #", StringComparison.Ordinal)
        && !line.StartsWith("Stream mapping", StringComparison.Ordinal) && !line.StartsWith("Press [q]", StringComparison.Ordinal)
        && !line.StartsWith("frame=", StringComparison.Ordinal) && !line.StartsWith("video:", StringComparison.Ordinal);

    private void FfmpegLoop()
    {
        var stdout = _process!.StandardOutput.BaseStream;
        long n = 0;
        try
        {
            while (true)
            {
                // The size of frame n, from showinfo's line (written before the frame's bytes).
                int width, height;
                lock (_gate)
                {
                    while (_announced.Count == 0 && !_stderrEnded && !_ended)
                        Monitor.Wait(_gate);
                    if (_ended || _announced.Count == 0)
                        break;
                    (_, width, height) = _announced.Dequeue();
                    if (n == 0)
                    {
                        (_width, _height) = (width, height);
                    }
                    else if ((width, height) != (_width, _height))
                    {
                        throw new VideoSourceException(string.Create(CultureInfo.InvariantCulture,
                            $"{Input}: the frame size changed mid-stream: frame {n} is {width}x{height}, the stream began at {_width}x{_height}."));
                    }
                }

                var frame = Take(_width, _height);
                if (frame is null)
                    break;
                if (!ReadExactly(stdout, frame.Pixels.AsSpan(0, frame.Length)))
                {
                    Give(frame);
                    break;
                }

                frame.Name = null;
                Publish(frame, n++);
            }

            _process.WaitForExit();
            lock (_gate)
            {
                if (!_ended && _process.ExitCode != 0 && _error is null)
                {
                    _error = new VideoSourceException(n == 0
                        ? $"{Input}: ffmpeg could not read {Describe(Kind)}: {_lastMessage ?? $"exit code {_process.ExitCode}"}."
                        : string.Create(CultureInfo.InvariantCulture, $"{Input}: ffmpeg failed after {n} frames: {_lastMessage ?? $"exit code {_process.ExitCode}"}."));
                }
            }
        }
        catch (Exception e) when (e is VideoSourceException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            lock (_gate)
                _error ??= e is VideoSourceException ? e : new VideoSourceException($"{Input}: reading ffmpeg's output failed: {e.Message}", e);
        }
        finally
        {
            End();
        }
    }

    private void FolderLoop()
    {
        long start = Stopwatch.GetTimestamp();
        long n = 0;
        try
        {
            foreach (string file in _files!)
            {
                if (_options.Realtime)
                {
                    var due = TimeSpan.FromSeconds(n / _options.FolderFrameRate) - Stopwatch.GetElapsedTime(start);
                    if (due > TimeSpan.Zero)
                        Thread.Sleep(due);
                }

                var image = ImageCodec.Load(file);
                SourceFrame? frame;
                lock (_gate)
                {
                    if (_ended)
                        break;
                    if (n == 0 || _options.FolderSizesMayVary)
                    {
                        (_width, _height) = (image.Width, image.Height);
                    }
                    else if ((image.Width, image.Height) != (_width, _height))
                    {
                        throw new VideoSourceException(string.Create(CultureInfo.InvariantCulture,
                            $"{file}: the frame size changed mid-stream: this image is {image.Width}x{image.Height}, the sequence began at {_width}x{_height}."));
                    }
                }

                frame = Take(image.Width, image.Height);
                if (frame is null)
                    break;
                image.Pixels.CopyTo(frame.Pixels, 0);
                frame.Name = file;
                Publish(frame, n++);
            }
        }
        catch (Exception e) when (e is RainException or IOException or UnauthorizedAccessException)
        {
            lock (_gate)
                _error ??= e;
        }
        finally
        {
            End();
        }
    }

    private void End()
    {
        lock (_gate)
        {
            _ended = true;
            Monitor.PulseAll(_gate);
        }
    }

    // A free buffer of the size, waiting for one while a file's queue is full; null once stopped.
    private SourceFrame? Take(int width, int height)
    {
        lock (_gate)
        {
            while (!IsLive && _queue.Count >= 2 && !_ended)
                Monitor.Wait(_gate);
            if (_ended)
                return null;
            var frame = _free.Count > 0 ? _free.Pop() : new SourceFrame();
            frame.Ensure(width, height);
            return frame;
        }
    }

    private void Give(SourceFrame frame)
    {
        lock (_gate)
            _free.Push(frame);
    }

    private void Publish(SourceFrame frame, long index)
    {
        long now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            frame.Index = index;
            frame.Timestamp = now;
            _read++;
            if (IsLive && _queue.Count > 0)
            {
                _free.Push(_queue.Dequeue()); // latest frame wins
                _dropped++;
            }

            _queue.Enqueue(frame);
            Monitor.PulseAll(_gate);
        }
    }

    private static bool ReadExactly(Stream stream, Span<byte> buffer)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            int n = stream.Read(buffer[read..]);
            if (n == 0)
                return false;
            read += n;
        }

        return true;
    }
}

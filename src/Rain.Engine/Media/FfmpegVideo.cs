using System.Diagnostics;
using System.Globalization;

namespace Rain.Engine.Media;

/// <summary>
/// Video through an <c>ffmpeg</c> process found on PATH: encoding frames piped as rawvideo rgb24 on stdin
/// (libx264, or mpeg4 when the build lacks libx264; yuv420p), and decoding a video into frames of a given size
/// (rawvideo rgb24 on stdout). Absence of ffmpeg is a normal condition: <see cref="Find"/> returns null.
/// </summary>
public static class FfmpegVideo
{
    /// <summary>The ffmpeg executable on PATH, or null.</summary>
    public static string? Find()
    {
        string? path = Environment.GetEnvironmentVariable("PATH");
        if (path is null)
            return null;
        foreach (string dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (string name in OperatingSystem.IsWindows() ? ["ffmpeg.exe"] : new[] { "ffmpeg" })
            {
                string candidate = Path.Combine(dir, name);
                if (File.Exists(candidate))
                    return candidate;
            }
        }

        return null;
    }

    /// <summary>Starts an encoder writing <paramref name="path"/>; write frames to the returned writer, then dispose it.</summary>
    public static VideoWriter OpenWriter(string ffmpeg, string path, int width, int height, double fps)
    {
        bool x264 = Run(ffmpeg, "-hide_banner -encoders").Contains("libx264", StringComparison.Ordinal);
        string codec = x264 ? "libx264 -preset veryfast -crf 18" : "mpeg4 -q:v 3";
        var info = new ProcessStartInfo(ffmpeg, string.Create(CultureInfo.InvariantCulture,
            $"-hide_banner -loglevel error -y -f rawvideo -pix_fmt rgb24 -s {width}x{height} -r {fps} -i - -c:v {codec} -pix_fmt yuv420p \"{path}\""))
        {
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        var process = Process.Start(info) ?? throw new IOException($"{ffmpeg}: could not start.");
        return new VideoWriter(process, path, width, height);
    }

    /// <summary>Decodes <paramref name="path"/> into frames of width×height (scaled by ffmpeg), in order.</summary>
    public static IEnumerable<RgbImage> ReadFrames(string ffmpeg, string path, int width, int height)
    {
        var info = new ProcessStartInfo(ffmpeg, string.Create(CultureInfo.InvariantCulture,
            $"-hide_banner -loglevel error -i \"{path}\" -f rawvideo -pix_fmt rgb24 -vf scale={width}:{height} -"))
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info) ?? throw new IOException($"{ffmpeg}: could not start.");
        var stream = process.StandardOutput.BaseStream;
        while (true)
        {
            var pixels = new byte[width * height * 3];
            int read = 0;
            while (read < pixels.Length)
            {
                int n = stream.Read(pixels, read, pixels.Length - read);
                if (n == 0)
                    break;
                read += n;
            }

            if (read < pixels.Length)
                break;
            yield return new RgbImage(width, height, pixels);
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new IOException($"{path}: ffmpeg could not decode the video (exit code {process.ExitCode}).");
    }

    /// <summary>
    /// The size a video's frames decode to (its first video stream, after ffmpeg's automatic rotation), read with the
    /// <c>ffprobe</c> beside <paramref name="ffmpeg"/>, so frames can be read at their own size.
    /// </summary>
    /// <exception cref="IOException">ffprobe is missing, or the file has no readable video stream.</exception>
    public static (int Width, int Height) ProbeSize(string ffmpeg, string path)
    {
        ArgumentNullException.ThrowIfNull(ffmpeg);
        string probe = Path.Combine(Path.GetDirectoryName(ffmpeg) ?? "", OperatingSystem.IsWindows() ? "ffprobe.exe" : "ffprobe");
        if (!File.Exists(probe))
            throw new IOException($"{path}: reading a video at its own size needs ffprobe beside {ffmpeg}; it was not found.");
        using var p = Process.Start(new ProcessStartInfo(probe, $"-v error -select_streams v:0 -show_entries stream=width,height:stream_side_data=rotation -of default=noprint_wrappers=1 \"{path}\"")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new IOException($"{probe}: could not start.");
        var error = p.StandardError.ReadToEndAsync();
        string text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        int width = 0, height = 0, rotation = 0;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (key, value) = (line.Split('=')[0], line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            _ = int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v);
            (width, height, rotation) = key switch
            {
                "width" => (v, height, rotation),
                "height" => (width, v, rotation),
                "rotation" => (width, height, v),
                _ => (width, height, rotation),
            };
        }

        if (p.ExitCode != 0 || width < 1 || height < 1)
            throw new IOException($"{path}: no readable video stream (ffprobe: {error.Result.Trim()}).");
        return Math.Abs(rotation) % 180 == 90 ? (height, width) : (width, height);
    }

    /// <summary>True when <paramref name="ffmpeg"/> has the encoder <paramref name="name"/> (e.g. libx264).</summary>
    public static bool HasEncoder(string ffmpeg, string name) =>
        Run(ffmpeg, "-hide_banner -encoders").Split('\n').Any(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, var n, ..] && n == name);

    private static string Run(string ffmpeg, string arguments)
    {
        using var p = Process.Start(new ProcessStartInfo(ffmpeg, arguments) { RedirectStandardOutput = true, UseShellExecute = false })!;
        string text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return text;
    }
}

/// <summary>An ffmpeg encoder fed rgb24 frames (see <see cref="FfmpegVideo.OpenWriter"/>). Not thread-safe.</summary>
public sealed class VideoWriter : IDisposable
{
    private readonly Process _process;
    private readonly int _width, _height;

    internal VideoWriter(Process process, string path, int width, int height)
    {
        _process = process;
        Path = path;
        _width = width;
        _height = height;
    }

    /// <summary>The video file.</summary>
    public string Path { get; }

    /// <summary>Appends one frame of the writer's size.</summary>
    public void Write(RgbImage frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Width != _width || frame.Height != _height)
            throw new ArgumentException($"{Path}: frames must be {_width}x{_height}; got {frame.Width}x{frame.Height}.", nameof(frame));
        _process.StandardInput.BaseStream.Write(frame.Pixels);
    }

    /// <summary>Closes the pipe and waits for ffmpeg to finish the file.</summary>
    /// <exception cref="IOException">ffmpeg failed.</exception>
    public void Dispose()
    {
        _process.StandardInput.Close();
        _process.WaitForExit();
        int code = _process.ExitCode;
        _process.Dispose();
        if (code != 0)
            throw new IOException($"{Path}: ffmpeg exited with code {code}.");
    }
}

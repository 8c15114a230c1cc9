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

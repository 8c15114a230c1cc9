using System.Diagnostics;
using Rain.Engine.Media;
using Rain.Testing;

namespace Rain.Engine.Tests.Media;

/// <summary>
/// VideoSource and FrameSink through their public API: the frames a source delivers against the PNG files they were made
/// from, latest-frame-wins accounting, a folder's order and size rule, and what sinks write.
/// </summary>
public sealed class VideoSourceTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("rain-source-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [SkippableFact]
    public void ALosslessVideoGivesBackThePixelsOfTheImagesItWasMadeFrom()
    {
        string ffmpeg = Requires.Program("ffmpeg", "VideoSource decodes videos with ffmpeg");
        int[] order = [0, 1, 5, 7]; // the golden camera frames of 320x240
        string list = Path.Combine(_folder, "list"), video = Path.Combine(_folder, "camera.mkv");
        Directory.CreateDirectory(list);
        for (int i = 0; i < order.Length; i++)
            File.Copy(DwposeGolden.PathOf($"frames/frame_{order[i]:D2}.png"), Path.Combine(list, $"{i}.png"));
        using (var p = Process.Start(new ProcessStartInfo(ffmpeg, $"-hide_banner -loglevel error -y -framerate 16 -i \"{list}/%d.png\" -c:v ffv1 -pix_fmt bgr0 \"{video}\"")))
        {
            p!.WaitForExit();
            Assert.Equal(0, p.ExitCode);
        }

        using var source = VideoSource.Open(video);
        Assert.Equal(VideoSourceKind.VideoFile, source.Kind);
        Assert.False(source.IsLive);
        for (int i = 0; i < order.Length; i++)
        {
            var frame = source.Read();
            Assert.NotNull(frame);
            Assert.Equal((320, 240, (long)i), (frame.Width, frame.Height, frame.Index));
            Assert.True(DwposeGolden.Frame(order[i]).Pixels.AsSpan().SequenceEqual(frame.Span), $"frame {i}");
        }

        Assert.Null(source.Read());
        Assert.Equal(16, source.FrameRate);
        Assert.Equal((4L, 4L, 0L), (source.FramesRead, source.Delivered, source.Dropped));
    }

    [Fact]
    public void AFolderIsReadInNameOrderAndRefusesASizeChangeAfterItsFrames()
    {
        // frame_00 and frame_01 are 320x240, frame_02 is 512x512.
        string folder = Path.Combine(_folder, "frames");
        Directory.CreateDirectory(folder);
        File.Copy(DwposeGolden.PathOf("frames/frame_02.png"), Path.Combine(folder, "c.png"));
        File.Copy(DwposeGolden.PathOf("frames/frame_01.png"), Path.Combine(folder, "b.png"));
        File.Copy(DwposeGolden.PathOf("frames/frame_00.png"), Path.Combine(folder, "a.png"));
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "skipped");
        using (var source = VideoSource.Open(folder))
        {
            Assert.Equal((VideoSourceKind.ImageFolder, (int?)3), (source.Kind, source.FrameCount));
            Assert.Equal(DwposeGolden.Frame(0).Pixels, source.Read()!.Span.ToArray());
            Assert.Equal(Path.Combine(folder, "b.png"), source.Read()!.Name);
            var e = Assert.Throws<VideoSourceException>(() => source.Read());
            Assert.Equal($"{Path.Combine(folder, "c.png")}: the frame size changed mid-stream: this image is 512x512, the sequence began at 320x240.", e.Message);
            Assert.Equal(RainErrorCategory.InvalidInput, e.Category);
        }

        using (var mixed = VideoSource.Open(folder, new VideoSourceOptions { FolderSizesMayVary = true }))
        {
            int n = 0;
            while (mixed.Read() is { } f)
                Assert.Equal(n++ == 2 ? (512, 512) : (320, 240), (f.Width, f.Height));
            Assert.Equal(3, n);
        }
    }

    [Fact]
    public void ALiveSourceKeepsTheNewestFrameAndCountsEveryDrop()
    {
        // 30 images at 1000 fps, read by a consumer that takes one every 20 ms: most are dropped, none lost uncounted.
        string folder = Path.Combine(_folder, "many");
        Directory.CreateDirectory(folder);
        for (int i = 0; i < 30; i++)
        {
            var image = new RgbImage(8, 4);
            image.Pixels.AsSpan().Fill((byte)i);
            ImageCodec.SavePng(image, Path.Combine(folder, $"{i:D2}.png"));
        }

        using var source = VideoSource.Open(folder, new VideoSourceOptions { Realtime = true, FolderFrameRate = 1000 });
        Assert.True(source.IsLive);
        var seen = new List<long>();
        while (source.Read() is { } f)
        {
            Assert.Equal((byte)f.Index, f.Span[0]); // the pixels are the frame's own
            seen.Add(f.Index);
            Thread.Sleep(20);
        }

        Assert.Equal(30, source.FramesRead);
        Assert.Equal(seen.Count, source.Delivered);
        Assert.Equal(30, source.Delivered + source.Dropped);
        Assert.True(seen.SequenceEqual(seen.Order()), "in order");
        Assert.Equal(29, seen[^1]); // the newest frame is never the one dropped
    }

    [Theory]
    [InlineData("/dev/video97", "/dev/video97: no such camera (V4L2 device); the cameras here are: ")]
    [InlineData("gopher://host/x", "gopher://host/x: unknown stream scheme 'gopher://'; expected one of rtsp://")]
    [InlineData("/nope/clip.mp4", "/nope/clip.mp4: no such file or folder (expected a video file, a folder of images, /dev/videoN or a stream URL).")]
    public void AnInputThatCannotBeOpenedIsNamed(string input, string message)
    {
        var e = Assert.Throws<VideoSourceException>(() => VideoSource.Open(input));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RawAndPngSinksWriteTheFramesTheyAreGiven()
    {
        var a = new RgbImage(6, 2);
        var b = new RgbImage(6, 2);
        for (int i = 0; i < a.Pixels.Length; i++)
            (a.Pixels[i], b.Pixels[i]) = ((byte)i, (byte)(255 - i));
        using var memory = new MemoryStream();
        using (var raw = FrameSink.Open("-", 6, 2, new FrameSinkOptions { StandardOutput = memory }))
        {
            Assert.Equal(FrameSinkKind.RawStdout, raw.Kind);
            raw.Write(a);
            raw.Write(b.Pixels);
            Assert.Throws<ArgumentException>(() => raw.Write(new RgbImage(2, 6)));
            Assert.Equal(2, raw.FramesWritten);
        }

        Assert.Equal([.. a.Pixels, .. b.Pixels], memory.ToArray());

        string folder = Path.Combine(_folder, "png");
        using (var png = FrameSink.Open(folder, 6, 2))
        {
            png.Write(a);
            png.Write(b);
        }

        Assert.Equal(a.Pixels, ImageCodec.Load(Path.Combine(folder, "frame_00000.png")).Pixels);
        Assert.Equal(b.Pixels, ImageCodec.Load(Path.Combine(folder, "frame_00001.png")).Pixels);
    }

    [Theory]
    [InlineData("-", FrameSinkKind.RawStdout)]
    [InlineData("udp://127.0.0.1:5000", FrameSinkKind.Network)]
    [InlineData("srt://127.0.0.1:5000", FrameSinkKind.Network)]
    [InlineData("rtmp://localhost/live/key", FrameSinkKind.Network)]
    [InlineData("/dev/video10", FrameSinkKind.V4L2Loopback)]
    [InlineData("out/clip.MP4", FrameSinkKind.VideoFile)]
    [InlineData("out/frames", FrameSinkKind.PngFolder)]
    public void TargetsMapToTheirSink(string target, FrameSinkKind kind) => Assert.Equal(kind, FrameSink.KindOf(target));

    [Fact]
    public void ALoopbackDeviceThatDoesNotExistIsNamedWithTheFix()
    {
        var e = Assert.Throws<FrameSinkException>(() => FrameSink.Open("/dev/video98", 4, 4));
        Assert.Equal("/dev/video98: no such V4L2 device; load the loopback module first (sudo modprobe v4l2loopback devices=1) and give the device it made.", e.Message);
    }
}

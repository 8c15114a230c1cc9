using Rain.Engine.Api;
using Rain.Engine.Media;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: dotnet run -- BUNDLE OUT_DIR [POSES]");
    return 2;
}

int poses = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 32;
using var engine = RainEngine.Load(args[0], new EngineOptions { Seed = 7 });

// Any size of reference works; a 256x256 gradient stands in for the character (ImageCodec.Load reads a PNG or JPEG).
var reference = new RgbImage(256, 256);
for (int i = 0; i < 256 * 256; i++)
    (reference.Pixels[3 * i], reference.Pixels[(3 * i) + 1], reference.Pixels[(3 * i) + 2]) = ((byte)(i % 256), (byte)(i / 256), 128);
using var session = engine.CreateSession(reference);

// Frames are read on another thread while poses are pushed: a dot moving across a black canvas.
var reader = Task.Run(() =>
{
    int count = 0;
    while (session.ReadFrame() is { } frame)
    {
        using (frame)
            ImageCodec.SavePng(frame.Image, Path.Combine(args[1], $"frame_{frame.Index:D5}.png"));
        count++;
    }

    return count;
});
for (int i = 0; i < poses; i++)
{
    var pose = new RgbImage(engine.Width, engine.Height);
    int x = i * (engine.Width - 8) / Math.Max(poses - 1, 1), y = engine.Height / 2;
    for (int dy = -3; dy <= 3; dy++)
        for (int dx = 0; dx < 7; dx++)
            pose.Pixels[((((y + dy) * engine.Width) + x + dx) * 3) + 1] = 255;
    session.PushPose(pose);
}

session.CompleteInput();
Console.WriteLine($"{await reader} frames of {engine.Width}x{engine.Height}; {session.Statistics.FramesPerSecond:F1} fps");
return 0;

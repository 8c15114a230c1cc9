using Rain.Engine.Api;
using Rain.Engine.Media;

namespace Rain.Native.Tests;

/// <summary>Deterministic reference and pose images, and the managed API's frames for them (the reference for every ABI test).</summary>
internal static class Inputs
{
    /// <summary>A reference of another size than the bundle (the engine resizes it) with structure in every channel.</summary>
    public static RgbImage Reference(int width = 97, int height = 83)
    {
        var image = new RgbImage(width, height);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = ((y * width) + x) * 3;
                image.Pixels[i] = (byte)(x * 255 / width);
                image.Pixels[i + 1] = (byte)(y * 255 / height);
                image.Pixels[i + 2] = (byte)((x * y) % 251);
            }
        }

        return image;
    }

    /// <summary><paramref name="count"/> poses of the bundle's size: a square moving across a dark, textured canvas.</summary>
    public static RgbImage[] Poses(int count, int width, int height)
    {
        var poses = new RgbImage[count];
        for (int k = 0; k < count; k++)
        {
            var pose = new RgbImage(width, height);
            for (int i = 0; i < pose.Pixels.Length; i++)
                pose.Pixels[i] = (byte)((i * 31 + k * 7) % 40);
            int cx = 8 + (k * 5 % (width - 16)), cy = height / 2;
            for (int y = cy - 6; y < cy + 6; y++)
            {
                for (int x = cx - 6; x < cx + 6; x++)
                {
                    int i = ((y * width) + x) * 3;
                    (pose.Pixels[i], pose.Pixels[i + 1], pose.Pixels[i + 2]) = (255, (byte)(k * 9), 40);
                }
            }

            poses[k] = pose;
        }

        return poses;
    }

    /// <summary>The frames the managed API makes for these inputs, concatenated in order.</summary>
    public static byte[] ManagedFrames(string bundle, ulong seed, RgbImage reference, RgbImage[] poses, out int frames)
    {
        using var engine = RainEngine.Load(bundle, new EngineOptions { Seed = seed });
        using var session = engine.CreateSession(reference);
        foreach (var pose in poses)
            session.PushPose(pose);
        session.CompleteInput();
        using var output = new MemoryStream();
        frames = 0;
        while (session.ReadFrame() is { } frame)
        {
            using (frame)
            {
                Assert.Equal(frames, frame.Index);
                output.Write(frame.Image.Pixels);
                frames++;
            }
        }

        return output.ToArray();
    }

    public static void WriteRaw(string path, params RgbImage[] images)
    {
        using var file = File.Create(path);
        foreach (var image in images)
            file.Write(image.Pixels);
    }
}

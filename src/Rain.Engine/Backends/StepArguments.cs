using Rain.Engine.Media;

namespace Rain.Engine.Backends;

/// <summary>The argument checks every <see cref="IStreamer"/> makes, with one wording for all backends.</summary>
internal static class StepArguments
{
    /// <summary>Throws when <paramref name="pose"/> is not <paramref name="width"/>×<paramref name="height"/>.</summary>
    public static void CheckPose(RgbImage pose, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(pose);
        if (pose.Width != width || pose.Height != height)
            throw new ArgumentException($"A pose image must be {width}x{height} (the bundle's size); got {pose.Width}x{pose.Height}.", nameof(pose));
    }

    /// <summary>Throws unless a step gets p poses of the bundle's size and p frame buffers; checks all before any state is touched.</summary>
    public static void CheckStep(ReadOnlySpan<RgbImage> poses, ReadOnlySpan<byte[]> frames, int p, int width, int height)
    {
        if (poses.Length != p || frames.Length != p)
            throw new ArgumentException($"A step takes p = {p} poses and {p} frame buffers; got {poses.Length} and {frames.Length}.");
        foreach (var pose in poses)
            CheckPose(pose, width, height);
    }
}

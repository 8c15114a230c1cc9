namespace Rain.Engine.Tensors;

/// <summary>
/// RAIN's <c>[B=1, C, F, h, w]</c> ↔ the engine's frame-major <c>[F, C, h, w]</c> (DESIGN §4: convert at the edges).
/// </summary>
internal static class Layouts
{
    /// <summary>[1, C, F, plane] → [F, C, plane] into <paramref name="destination"/>.</summary>
    public static void ChannelsFirstToFrames(ReadOnlySpan<float> source, Span<float> destination, int channels, int frames, int plane)
    {
        Check(source.Length, destination.Length, channels, frames, plane);
        for (int c = 0; c < channels; c++)
        {
            for (int f = 0; f < frames; f++)
                source.Slice(((c * frames) + f) * plane, plane).CopyTo(destination.Slice(((f * channels) + c) * plane, plane));
        }
    }

    /// <summary>[F, C, plane] → [1, C, F, plane] into <paramref name="destination"/>.</summary>
    public static void FramesToChannelsFirst(ReadOnlySpan<float> source, Span<float> destination, int channels, int frames, int plane)
    {
        Check(source.Length, destination.Length, channels, frames, plane);
        for (int c = 0; c < channels; c++)
        {
            for (int f = 0; f < frames; f++)
                source.Slice(((f * channels) + c) * plane, plane).CopyTo(destination.Slice(((c * frames) + f) * plane, plane));
        }
    }

    private static void Check(int source, int destination, int channels, int frames, int plane)
    {
        long n = (long)channels * frames * plane;
        if (source != n || destination != n)
            throw new ArgumentException($"A [C={channels}, F={frames}, {plane}] tensor has {n} elements; got source {source} and destination {destination}.");
    }
}

namespace Rain.Testing;

/// <summary>Layout conversions between RAIN's <c>[B, C, F, H, W]</c> and the engine's frame-major <c>[F, C, H, W]</c>.</summary>
public static class Layouts
{
    /// <summary>[1, C, F, H, W] → [F, C, H, W].</summary>
    public static float[] BcfhwToFchw(float[] src, int channels, int frames, int plane)
    {
        var dst = new float[src.Length];
        for (int c = 0; c < channels; c++)
            for (int f = 0; f < frames; f++)
                Array.Copy(src, ((c * frames) + f) * plane, dst, ((f * channels) + c) * plane, plane);
        return dst;
    }

    /// <summary>[F, C, H, W] → [1, C, F, H, W].</summary>
    public static float[] FchwToBcfhw(float[] src, int channels, int frames, int plane)
    {
        var dst = new float[src.Length];
        for (int c = 0; c < channels; c++)
            for (int f = 0; f < frames; f++)
                Array.Copy(src, ((f * channels) + c) * plane, dst, ((c * frames) + f) * plane, plane);
        return dst;
    }
}

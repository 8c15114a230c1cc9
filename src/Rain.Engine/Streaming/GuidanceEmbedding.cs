namespace Rain.Engine.Streaming;

/// <summary>
/// The LCM guidance-scale embedding RAIN feeds the UNet as <c>timestep_cond</c> (spec §2.5.2): with s = 1000·w and
/// ν_k = exp(−k·ln(10000)/(D/2 − 1)) for k = 0 … D/2−1, g = [sin(s·ν_0 … s·ν_{D/2−1}), cos(s·ν_0 … )] (and a zero
/// pad when D is odd), computed in float32 steps as diffusers' <c>get_guidance_scale_embedding</c> does.
/// </summary>
public static class GuidanceEmbedding
{
    /// <summary>RAIN's guidance scale.</summary>
    public const float RainScale = 2.5f;

    /// <summary>g for guidance scale <paramref name="w"/> and embedding size <paramref name="dimension"/> (≥ 4).</summary>
    public static float[] Compute(float w, int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 4);
        if (!float.IsFinite(w))
            throw new ArgumentOutOfRangeException(nameof(w), w, "The guidance scale must be finite.");
        int half = dimension / 2;
        float s = w * 1000f;
        float step = MathF.Log(10000f) / (half - 1);
        var g = new float[dimension];
        for (int k = 0; k < half; k++)
        {
            // torch forms exp(k·−step) and s·ν in float32; sin and cos of that float32 argument.
            float arg = s * MathF.Exp(k * -step);
            g[k] = (float)Math.Sin(arg);
            g[half + k] = (float)Math.Cos(arg);
        }

        return g;
    }
}

using Rain.Engine.Streaming;

namespace Rain.Kernels.Tests;

/// <summary>The CPU attention core against a float64 textbook implementation that permutes to [N·H, F, d] first.</summary>
public sealed class CrossNoiseAttentionTests
{
    [Theory]
    [InlineData(16, 8 * 16, 32, 8)]   // golden UNet sizes at L64 of the small config
    [InlineData(16, 37, 320, 8)]      // RAIN widths, odd token count
    [InlineData(1, 5, 8, 2)]
    [InlineData(7, 3, 24, 3)]
    [InlineData(32, 2, 160, 1)]
    public void MatchesPermutedFloat64Attention(int frames, int tokens, int channels, int heads)
    {
        int total = frames * tokens * channels;
        var noise = new CounterNoise(11);
        float[] q = new float[total], k = new float[total], v = new float[total];
        noise.Fill(frames, 0, 0, q);
        noise.Fill(frames, 1, 0, k);
        noise.Fill(frames, 2, 0, v);
        var output = new float[total];
        Array.Fill(output, float.NaN); // poisoned: every element must be written
        CrossNoiseAttention.Reference(q, k, v, output, frames, tokens, channels, heads);

        int d = channels / heads;
        double scale = 1 / Math.Sqrt(d);
        for (int n = 0; n < tokens; n++)
        {
            for (int h = 0; h < heads; h++)
            {
                // Explicit permute "(f) (n) (h d) -> (n h) f d", then plain softmax(QKᵀ/√d)V.
                var Q = new double[frames, d];
                var K = new double[frames, d];
                var V = new double[frames, d];
                for (int f = 0; f < frames; f++)
                    for (int i = 0; i < d; i++)
                    {
                        int idx = (((f * tokens) + n) * channels) + (h * d) + i;
                        (Q[f, i], K[f, i], V[f, i]) = (q[idx], k[idx], v[idx]);
                    }

                for (int f = 0; f < frames; f++)
                {
                    var s = new double[frames];
                    for (int g = 0; g < frames; g++)
                        for (int i = 0; i < d; i++)
                            s[g] += Q[f, i] * K[g, i] * scale;
                    double max = s.Max();
                    double z = s.Sum(x => Math.Exp(x - max));
                    for (int i = 0; i < d; i++)
                    {
                        double expected = 0;
                        for (int g = 0; g < frames; g++)
                            expected += Math.Exp(s[g] - max) / z * V[g, i];
                        float actual = output[(((f * tokens) + n) * channels) + (h * d) + i];
                        Assert.True(Math.Abs(actual - expected) <= 2e-5 + (1e-4 * Math.Abs(expected)), $"f={f} n={n} h={h} i={i}: {actual} vs {expected}");
                    }
                }
            }
        }
    }

    [Fact]
    public void RejectsBadShapes()
    {
        var a = new float[16 * 4 * 8];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => CrossNoiseAttention.Reference(new float[33 * 8], new float[33 * 8], new float[33 * 8], new float[33 * 8], 33, 1, 8, 1));
        Assert.Contains("F must be between 1 and 32; got 33", e.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<ArgumentException>(() => CrossNoiseAttention.Reference(a, a, a, new float[a.Length], 16, 4, 8, 3));
        Assert.Contains("channels (8) must be a positive multiple of heads (3)", e2.Message, StringComparison.Ordinal);
        var e3 = Assert.Throws<ArgumentException>(() => CrossNoiseAttention.Reference(a, a, a.AsSpan(0, a.Length - 1), new float[a.Length], 16, 4, 8, 2));
        Assert.Contains("v 511", e3.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => CrossNoiseAttention.Reference(a, a, a, a, 16, 4, 8, 2));
    }
}

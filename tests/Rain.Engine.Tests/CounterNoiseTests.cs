using Rain.Kernels;
using Rain.Engine.Streaming;

namespace Rain.Engine.Tests;

public sealed class CounterNoiseTests
{
    [Theory]
    // Random123 known-answer vectors for philox4x32 with 10 rounds (kat_vectors).
    [InlineData(0u, 0u, 0u, 0u, 0u, 0u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void PhiloxMatchesKnownAnswers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint r0, uint r1, uint r2, uint r3)
    {
        var output = Philox4x32.Generate(c0, c1, c2, c3, k0, k1);
        Assert.Equal((r0, r1, r2, r3), (output.X0, output.X1, output.X2, output.X3));
    }

    [Fact]
    public void SameSeedSameValuesDifferentSeedDifferentValues()
    {
        var a = new float[1000];
        var b = new float[1000];
        var c = new float[1000];
        new CounterNoise(42).Fill(3, 1, 0, a);
        new CounterNoise(42).Fill(3, 1, 0, b);
        new CounterNoise(43).Fill(3, 1, 0, c);
        Assert.Equal(a, b);
        Assert.True(a.Zip(c).Count(t => t.First == t.Second) < 5);
    }

    [Fact]
    public void ValuesDoNotDependOnBatching()
    {
        var noise = new CounterNoise(0xDEADBEEFCAFEUL);
        var whole = new float[4099];
        noise.Fill(-2, 3, 5, whole);
        var pieces = new float[whole.Length];
        int offset = 0;
        foreach (int size in new[] { 1, 2, 3, 4, 5, 7, 64, 1000, 3013 })
        {
            noise.Fill(-2, 3, 5 + offset, pieces.AsSpan(offset, size));
            offset += size;
        }

        Assert.Equal(whole.Length, offset);
        Assert.Equal(whole, pieces);
        for (int i = 0; i < whole.Length; i += 17)
            Assert.Equal(whole[i], noise.At(-2, 3, 5 + i));
    }

    [Fact]
    public void MomentsOfAMillionSamplesAreStandardNormal()
    {
        const int n = 1_000_000;
        var x = new float[n];
        new CounterNoise(2024).Fill(0, 0, 0, x);
        double mean = x.Average(v => (double)v);
        double var = x.Sum(v => (v - mean) * (v - mean)) / (n - 1);
        double m3 = x.Sum(v => Math.Pow(v - mean, 3)) / n;
        double m4 = x.Sum(v => Math.Pow(v - mean, 4)) / n;
        // Standard errors at n = 1e6: mean 0.001, variance ≈ 0.0014, skewness ≈ 0.0024, kurtosis ≈ 0.0049; bounds are 5σ.
        Assert.InRange(mean, -0.005, 0.005);
        Assert.InRange(var, 1 - 0.007, 1 + 0.007);
        Assert.InRange(m3, -0.012, 0.012);
        Assert.InRange(m4, 3 - 0.025 - 0.01, 3 + 0.025);
        // Tail mass beyond 2σ: 4.55% for N(0,1); standard error 0.02%.
        double tail = x.Count(v => Math.Abs(v) > 2) / (double)n;
        Assert.InRange(tail, 0.0455 - 0.0011, 0.0455 + 0.0011);
        Assert.All(x, v => Assert.True(float.IsFinite(v) && Math.Abs(v) < 5.8f));
    }

    [Fact]
    public void DistinctChunkLevelStreamsAreUncorrelated()
    {
        const int n = 200_000;
        var noise = new CounterNoise(7);
        var keys = new (long Chunk, int Level)[] { (0, 0), (0, 1), (1, 0), (-1, 0), (1L << 32, 0), (2, 3) };
        var streams = keys.Select(k =>
        {
            var s = new float[n];
            noise.Fill(k.Chunk, k.Level, 0, s);
            return s;
        }).ToArray();
        // |r| of independent streams has standard error 1/√n ≈ 0.0022; 5σ bound.
        for (int i = 0; i < streams.Length; i++)
            for (int j = i + 1; j < streams.Length; j++)
                Assert.InRange(Correlation(streams[i], streams[j]), -0.0112, 0.0112);

        // Neighbouring elements of one stream (the two halves of a Box–Muller pair included) are uncorrelated too.
        var s0 = streams[0];
        Assert.InRange(Correlation(s0[..^1], s0[1..]), -0.0112, 0.0112);
    }

    [Fact]
    public void LogAndSinCosAreAccurate()
    {
        for (int k = 1; k <= (1 << 24); k += 4099)
        {
            float u = k / 16777216f;
            Assert.Equal(Math.Log(u), NoiseMath.Log(u), 2e-6 * Math.Max(1, Math.Abs(Math.Log(u))));
            NoiseMath.SinCos2Pi(u == 1 ? 0 : u, out float s, out float c);
            double angle = 2 * Math.PI * (u == 1 ? 0 : u);
            Assert.Equal(Math.Sin(angle), s, 1e-6);
            Assert.Equal(Math.Cos(angle), c, 1e-6);
        }
    }

    private static double Correlation(float[] a, float[] b)
    {
        double ma = a.Average(v => (double)v), mb = b.Average(v => (double)v);
        double sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sab += (a[i] - ma) * (b[i] - mb);
            saa += (a[i] - ma) * (a[i] - ma);
            sbb += (b[i] - mb) * (b[i] - mb);
        }

        return sab / Math.Sqrt(saa * sbb);
    }
}

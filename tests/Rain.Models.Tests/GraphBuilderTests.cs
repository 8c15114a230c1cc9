using Rain.Kernels;
using Rain.Models.Onnx;
using Rain.Models.Weights;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Models.Tests;

/// <summary>Builder operators checked against float64 formulas, and the external-data layout.</summary>
public sealed class GraphBuilderTests(ITestOutputHelper output)
{
    private sealed class MemoryWeights(Dictionary<string, (long[] Shape, float[] Data)> tensors) : IWeightSource
    {
        public string Origin => "memory";

        public IReadOnlyCollection<string> Keys => tensors.Keys;

        public bool TryGetShape(string key, out long[] shape)
        {
            shape = tensors.TryGetValue(key, out var t) ? t.Shape : [];
            return tensors.ContainsKey(key);
        }

        public float[] Read(string key) => tensors[key].Data;
    }

    private static float[] Random(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((r.NextDouble() * 2) - 1)).ToArray();
    }

    [Fact]
    public void LargeWeightsGoToAlignedExternalDataAndSmallOnesStayInline()
    {
        var w = Random(64 * 48, 1);
        var b = Random(48, 2);
        var g = new GraphBuilder("linear", new WeightBinder(new MemoryWeights(new() { ["fc.weight"] = ([48, 64], w), ["fc.bias"] = ([48], b) })));
        var x = g.Input("x", OnnxDataType.F32, 3, 64);
        g.Output(g.Add("fc.bias_add", g.MatMul("fc", x, g.LinearWeight("fc.weight", 48, 64)), g.Weight("fc.bias", [48])), "y");
        using var ort = new OrtHarness();
        string path = ort.Write(GraphPart.Whole(g), externalThreshold: 1024);
        var report = OnnxReport.Read(path);
        output.WriteLine(report.ToString());
        Assert.Equal((2, 1), (report.InitializerCount, report.ExternalInitializerCount));
        Assert.Equal(64 * 48 * 4, new FileInfo(path + ".data").Length);

        var xs = Random(3 * 64, 3);
        var expected = new float[3 * 48];
        for (int i = 0; i < 3; i++)
            for (int o = 0; o < 48; o++)
                expected[(i * 48) + o] = (float)(b[o] + Enumerable.Range(0, 64).Sum(k => (double)xs[(i * 64) + k] * w[(o * 64) + k]));
        var y = OrtHarness.Run(path, [OrtHarness.Float("x", xs, 3, 64)])["y"];
        Tolerance.AssertClose("linear", expected, y, 1e-5, 1e-5, output);
    }

    [Fact]
    public void GroupNormMatchesAFloat64Reference()
    {
        const int N = 2, C = 8, H = 3, W = 5, G = 4;
        var gamma = Random(C, 4);
        var beta = Random(C, 5);
        var g = new GraphBuilder("gn", new WeightBinder(new MemoryWeights(new() { ["norm.weight"] = ([C], gamma), ["norm.bias"] = ([C], beta) })));
        var x = g.Input("x", OnnxDataType.F32, N, C, H, W);
        g.Output(g.GroupNorm("norm", x, G, 1e-5f, g.Weight("norm.weight", [C], [C, 1, 1]), g.Weight("norm.bias", [C], [C, 1, 1])), "y");
        using var ort = new OrtHarness();
        var xs = Random(N * C * H * W, 6).Select(v => (v * 3) + 1).ToArray();
        var y = OrtHarness.Run(ort.Write(GraphPart.Whole(g)), [OrtHarness.Float("x", xs, N, C, H, W)])["y"];

        var expected = new float[xs.Length];
        int groupSize = C / G * H * W;
        for (int n = 0; n < N; n++)
        {
            for (int grp = 0; grp < G; grp++)
            {
                var seg = xs.AsSpan(((n * G) + grp) * groupSize, groupSize).ToArray();
                double mean = seg.Average(v => (double)v), variance = seg.Average(v => ((double)v - mean) * ((double)v - mean));
                for (int i = 0; i < groupSize; i++)
                {
                    int c = (grp * (C / G)) + (i / (H * W));
                    expected[(((n * G) + grp) * groupSize) + i] = (float)((((seg[i] - mean) / Math.Sqrt(variance + 1e-5)) * gamma[c]) + beta[c]);
                }
            }
        }

        Tolerance.AssertClose("group_norm", expected, y, 1e-5, 1e-4, output);
    }

    [Fact]
    public void UpsampleRepeatsEachPixelTwiceInBothDirections()
    {
        var g = new GraphBuilder("up", new WeightBinder(new MemoryWeights([])));
        g.Output(g.Upsample2x("up", g.Input("x", OnnxDataType.F32, 1, 1, 2, 3)), "y");
        using var ort = new OrtHarness();
        var y = OrtHarness.Run(ort.Write(GraphPart.Whole(g)), [OrtHarness.Float("x", [1, 2, 3, 4, 5, 6], 1, 1, 2, 3)])["y"];
        Assert.Equal([1f, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6], y);
    }

    [Fact]
    public void InlineTemporalAttentionCoreAgreesWithTheCrossNoiseAttentionKernel()
    {
        const int F = 16, N = 6, C = 24, Heads = 3;
        var g = new GraphBuilder("core", new WeightBinder(new MemoryWeights([])));
        var q = g.Input("q", OnnxDataType.F32, F, N, C);
        var k = g.Input("k", OnnxDataType.F32, F, N, C);
        var v = g.Input("v", OnnxDataType.F32, F, N, C);
        g.Output(g.TemporalAttentionCore("attention", q, k, v, Heads), "out");
        var (qs, ks, vs) = (Random(F * N * C, 7), Random(F * N * C, 8), Random(F * N * C, 9));
        using var ort = new OrtHarness();
        var y = OrtHarness.Run(ort.Write(GraphPart.Whole(g)), [OrtHarness.Float("q", qs, F, N, C), OrtHarness.Float("k", ks, F, N, C), OrtHarness.Float("v", vs, F, N, C)])["out"];
        var expected = new float[F * N * C];
        CrossNoiseAttention.Reference(qs, ks, vs, expected, F, N, C, Heads);
        Tolerance.AssertClose("temporal core", expected, y, 1e-6, 1e-5, output);
    }
}

using BenchmarkDotNet.Attributes;
using Rain.Engine.Streaming;
using Rain.Kernels;

namespace Rain.Bench;

/// <summary>
/// The CPU attention core (<see cref="CrossNoiseAttention.Reference"/>, now on <see cref="FixedOrder"/>'s CPU-independent
/// dot and multiply-add) against the same loop on <c>TensorPrimitives.Dot</c>/<c>MultiplyAdd</c> (widest vectors the CPU
/// has, reduction order and fusing following it), at RAIN's F = 16, 8 heads and the head sizes of its four resolutions.
/// </summary>
[MemoryDiagnoser]
public class AttentionOrderBenchmarks
{
    private float[] _q = [], _k = [], _v = [], _o = [];

    [Params(320, 640, 1280)]
    public int Channels { get; set; }

    private const int Frames = 16, Tokens = 256, Heads = 8;

    [GlobalSetup]
    public void Setup()
    {
        int n = Frames * Tokens * Channels;
        var noise = new CounterNoise(3);
        (_q, _k, _v, _o) = (new float[n], new float[n], new float[n], new float[n]);
        noise.Fill(0, 0, 0, _q);
        noise.Fill(0, 1, 0, _k);
        noise.Fill(0, 2, 0, _v);
    }

    [Benchmark(Baseline = true)]
    public void TensorPrimitivesOrder()
    {
        int d = Channels / Heads;
        float scale = 1f / MathF.Sqrt(d);
        Span<float> w = stackalloc float[Frames];
        long fs = (long)Tokens * Channels;
        for (int n = 0; n < Tokens; n++)
        {
            for (int h = 0; h < Heads; h++)
            {
                int b = (n * Channels) + (h * d);
                for (int f = 0; f < Frames; f++)
                {
                    var qf = _q.AsSpan((int)(f * fs) + b, d);
                    float max = float.NegativeInfinity, sum = 0;
                    for (int g = 0; g < Frames; g++)
                        max = MathF.Max(max, w[g] = System.Numerics.Tensors.TensorPrimitives.Dot(qf, _k.AsSpan((int)(g * fs) + b, d)) * scale);
                    for (int g = 0; g < Frames; g++)
                        sum += w[g] = MathF.Exp(w[g] - max);
                    var of = _o.AsSpan((int)(f * fs) + b, d);
                    of.Clear();
                    for (int g = 0; g < Frames; g++)
                        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(_v.AsSpan((int)(g * fs) + b, d), w[g] / sum, of, of);
                }
            }
        }
    }

    [Benchmark]
    public void FixedOrderReference() => CrossNoiseAttention.ReferenceTokens(_q, _k, _v, _o, Frames, Tokens, Channels, Heads, 0, Tokens); // one thread, as the baseline
}

using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Rain.Models.Weights;

/// <summary>
/// Seeded random weights for any RAIN configuration, without a checkpoint: every key the network builder binds exists
/// with exactly the shape the configuration implies (the <see cref="WeightBinder"/> declares it), plus the shapes RAIN
/// hard-codes in code rather than configs (given up front: the pose guider's widths, TAESDV's width). Values are
/// deterministic per (seed, key): tensors of rank ≥ 2 are N(0, 1/fan_in) (fan_in = product of all but the first
/// dimension, so activations keep their scale through each layer), 1-D <c>*.weight</c> tensors (norm scales) are 1,
/// other 1-D tensors (biases, embeddings) are 0. Optional keys (<see cref="WeightBinder.Has"/>) are absent unless given
/// up front, so optional buffers such as the motion modules' positional tables are computed by the builders.
/// </summary>
public sealed class RandomWeights : IWeightSource
{
    private readonly Dictionary<string, long[]> _shapes;

    /// <summary>Creates the source.</summary>
    /// <param name="origin">Name for messages (for example "random pose_guider, seed 7").</param>
    /// <param name="seed">Seed of every value.</param>
    /// <param name="knownShapes">Shapes the architecture takes from the weights rather than from a config.</param>
    public RandomWeights(string origin, ulong seed, IEnumerable<KeyValuePair<string, long[]>>? knownShapes = null)
    {
        Origin = origin;
        Seed = seed;
        _shapes = new Dictionary<string, long[]>(knownShapes ?? [], StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public string Origin { get; }

    /// <summary>The seed.</summary>
    public ulong Seed { get; }

    /// <inheritdoc />
    public IReadOnlyCollection<string> Keys => _shapes.Keys;

    /// <summary>RAIN's pose guider (ControlNet conditioning embedding, widths 16, 32, 96, 256 hard-coded in RAIN) ending in <paramref name="outChannels"/>.</summary>
    public static IEnumerable<KeyValuePair<string, long[]>> PoseGuiderShapes(long outChannels)
    {
        long[] widths = [16, 32, 96, 256];
        yield return new("conv_in.weight", [widths[0], 3, 3, 3]);
        for (int i = 0; i < widths.Length - 1; i++)
        {
            yield return new($"blocks.{2 * i}.weight", [widths[i], widths[i], 3, 3]);
            yield return new($"blocks.{(2 * i) + 1}.weight", [widths[i + 1], widths[i], 3, 3]);
        }

        yield return new("conv_out.weight", [outChannels, widths[^1], 3, 3]);
    }

    /// <summary>TAESDV's first decoder convolution (latent 4 → width 64), from which its builder reads the widths.</summary>
    public static IEnumerable<KeyValuePair<string, long[]>> TaesdvShapes() => [new("decoder.1.weight", [64, 4, 3, 3])];

    /// <inheritdoc />
    public bool TryGetShape(string key, out long[] shape) => _shapes.TryGetValue(key, out shape!);

    /// <summary>Declares that <paramref name="key"/> exists with <paramref name="shape"/> (called by the binder when it binds a key).</summary>
    public void Declare(string key, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (_shapes.TryGetValue(key, out var known) && !known.AsSpan().SequenceEqual(shape))
            throw new ModelExportException($"{Origin}: key '{key}' was declared as {WeightBinder.Format(known)} and is now bound as {WeightBinder.Format(shape)}.");
        _shapes[key] = [.. shape];
    }

    /// <inheritdoc />
    public float[] Read(string key)
    {
        if (!_shapes.TryGetValue(key, out var shape))
            throw new ModelExportException($"{Origin}: '{key}' was never bound, so it has no shape.");
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var data = new float[checked((int)count)];
        if (shape.Length == 1)
        {
            if (key.EndsWith(".weight", StringComparison.Ordinal))
                data.AsSpan().Fill(1f);
            return data;
        }

        long fanIn = count / shape[0];
        Fill(data, (float)(1.0 / Math.Sqrt(fanIn)), Seed ^ BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(key))));
        return data;
    }

    // SplitMix64 → Box–Muller: fast, deterministic, platform-independent.
    private static void Fill(Span<float> data, float std, ulong state)
    {
        for (int i = 0; i < data.Length; i += 2)
        {
            double u1 = ((Next(ref state) >> 11) + 1) * (1.0 / 9007199254740993.0);
            double u2 = (Next(ref state) >> 11) * (1.0 / 9007199254740992.0);
            double r = Math.Sqrt(-2 * Math.Log(u1)) * std;
            data[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < data.Length)
                data[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
        }
    }

    private static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

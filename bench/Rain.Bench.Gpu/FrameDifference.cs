using Rain.Engine.Media;

namespace Rain.Bench.Gpu;

/// <summary>
/// Byte-wise differences between frames under test and reference frames (the CPU engine's), summed over any number of
/// frames or steps: max and mean |Δ|, how many bytes differ, and how varied the reference is (a flat picture proves nothing).
/// </summary>
internal sealed class FrameDifference
{
    private readonly bool[] _seen = new bool[256];

    public long Bytes { get; private set; }

    public long Sum { get; private set; }

    public long Differing { get; private set; }

    public long Saturated { get; private set; }

    public int Max { get; private set; }

    public double Mean => (double)Sum / Math.Max(1, Bytes);

    /// <summary>Byte values the reference frames take.</summary>
    public int DistinctValues => _seen.Count(v => v);

    public void Add(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> reference)
    {
        for (int j = 0; j < reference.Length; j++)
        {
            byte v = reference[j];
            int d = Math.Abs(actual[j] - v);
            Sum += d;
            Differing += d == 0 ? 0 : 1;
            Max = Math.Max(Max, d);
            _seen[v] = true;
            Saturated += v is 0 or 255 ? 1 : 0;
        }

        Bytes += reference.Length;
    }

    public void Add(FrameDifference other)
    {
        Bytes += other.Bytes;
        Sum += other.Sum;
        Differing += other.Differing;
        Saturated += other.Saturated;
        Max = Math.Max(Max, other.Max);
        for (int v = 0; v < 256; v++)
            _seen[v] |= other._seen[v];
    }

    /// <summary>An image of uniformly random bytes (references and poses of the checks).</summary>
    public static RgbImage RandomImage(Random random, int width, int height)
    {
        var pixels = new byte[width * height * 3];
        random.NextBytes(pixels);
        return new RgbImage(width, height, pixels);
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Rain.Engine.Media;

/// <summary>
/// <see cref="PilResize"/> for one fixed pair of sizes: the fixed-point weights of both axes and the intermediate
/// buffer are made once, so <see cref="Resize"/> allocates nothing (RAIN's pose front end resizes every camera frame).
/// Bit-identical to Pillow 9.4's 8-bit resampler: horizontal pass first (only over the rows the vertical pass reads),
/// its 8-bit result feeds the vertical pass; a pass whose size does not change is skipped. Not thread-safe.
/// </summary>
internal sealed class PilResizePlan
{
    private readonly int[] _xStart, _xCount, _xWeights, _yStart, _yCount, _yWeights;
    private readonly int[] _gatherOffsets, _gatherWeights; // per tap t and output byte j = 3x + c (zero weight past a pixel's taps)
    private readonly BytePermute? _permute;
    private readonly int _xTaps, _yTaps, _rowFirst, _rowCount;
    private readonly byte[] _temp;

    public PilResizePlan(int inWidth, int inHeight, int outWidth, int outHeight, ResampleFilter filter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outHeight, 1);
        (InWidth, InHeight, OutWidth, OutHeight, Filter) = (inWidth, inHeight, outWidth, outHeight, filter);
        (_xStart, _xCount, _xWeights, _xTaps) = Flatten(inWidth, outWidth, filter, Horizontal);
        (_yStart, _yCount, _yWeights, _yTaps) = Flatten(inHeight, outHeight, filter, Vertical);
        _rowFirst = 0;
        _rowCount = inHeight;
        if (Vertical)
        {
            // Pillow's horizontal pass only covers the rows the vertical pass reads.
            _rowFirst = _yStart[0];
            _rowCount = _yStart[outHeight - 1] + _yCount[outHeight - 1] - _rowFirst;
        }

        _temp = Horizontal && Vertical ? new byte[_rowCount * outWidth * 3] : [];
        (_gatherOffsets, _gatherWeights) = Horizontal && ByteGather.IsSupported ? GatherTables() : ([], []);
        _permute = _gatherOffsets.Length > 0 && BytePermute.IsSupported ? new BytePermute(_gatherOffsets, _gatherWeights, _xTaps, 3 * outWidth) : null;
    }

    public int InWidth { get; }

    public int InHeight { get; }

    public int OutWidth { get; }

    public int OutHeight { get; }

    public ResampleFilter Filter { get; }

    private bool Horizontal => OutWidth != InWidth;

    private bool Vertical => OutHeight != InHeight;

    /// <summary>
    /// Resizes <paramref name="source"/> (InWidth×InHeight RGB, rows <paramref name="sourceStride"/> bytes apart) into
    /// <paramref name="destination"/> (OutWidth×OutHeight, rows <paramref name="destinationStride"/> bytes apart).
    /// </summary>
    public void Resize(ReadOnlySpan<byte> source, int sourceStride, Span<byte> destination, int destinationStride)
    {
        CheckSpan(source.Length, InWidth, InHeight, sourceStride, nameof(source));
        CheckSpan(destination.Length, OutWidth, OutHeight, destinationStride, nameof(destination));
        if (Horizontal && Vertical)
        {
            HorizontalPass(source[(_rowFirst * sourceStride)..], sourceStride, _rowCount, _temp, OutWidth * 3);
            VerticalPass(_temp, OutWidth * 3, -_rowFirst, destination, destinationStride);
        }
        else if (Horizontal)
        {
            HorizontalPass(source, sourceStride, InHeight, destination, destinationStride);
        }
        else if (Vertical)
        {
            VerticalPass(source, sourceStride, 0, destination, destinationStride);
        }
        else
        {
            for (int y = 0; y < InHeight; y++)
                source.Slice(y * sourceStride, InWidth * 3).CopyTo(destination[(y * destinationStride)..]);
        }
    }

    internal static void CheckSpan(int length, int width, int height, int stride, string name)
    {
        if (stride < width * 3)
            throw new ArgumentException($"a row of {width} RGB pixels needs {width * 3} bytes; the stride is {stride}.", name);
        if (length < ((long)(height - 1) * stride) + (width * 3))
            throw new ArgumentException($"{width}x{height} RGB with stride {stride} needs {((long)(height - 1) * stride) + (width * 3)} bytes; got {length}.", name);
    }

    private static (int[] Start, int[] Count, int[] Weights, int Taps) Flatten(int inSize, int outSize, ResampleFilter filter, bool needed)
    {
        if (!needed)
            return ([], [], [], 0);
        var (start, weights) = PilResize.Coefficients(inSize, outSize, filter);
        int taps = weights.Max(w => w.Length);
        var count = new int[outSize];
        var flat = new int[outSize * taps];
        for (int i = 0; i < outSize; i++)
        {
            count[i] = weights[i].Length;
            weights[i].CopyTo(flat, i * taps);
        }

        return (start, count, flat, taps);
    }

    private (int[] Offsets, int[] Weights) GatherTables()
    {
        int bytes = 3 * OutWidth;
        var offsets = new int[_xTaps * bytes];
        var weights = new int[_xTaps * bytes];
        for (int t = 0; t < _xTaps; t++)
        {
            for (int x = 0; x < OutWidth; x++)
            {
                bool real = t < _xCount[x];
                for (int c = 0; c < 3; c++)
                {
                    int j = (t * bytes) + (3 * x) + c;
                    offsets[j] = (3 * (_xStart[x] + (real ? t : 0))) + c;
                    weights[j] = real ? _xWeights[(x * _xTaps) + t] : 0;
                }
            }
        }

        return (offsets, weights);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void HorizontalPass(ReadOnlySpan<byte> src, int srcStride, int rows, Span<byte> dst, int dstStride)
    {
        const int Half = 1 << (PilResize.PrecisionBits - 1);
        int taps = _xTaps, bytes = 3 * OutWidth;
        bool tables = _gatherOffsets.Length > 0;
        var half = Vector256.Create(Half);
        var max = Vector256.Create(255);
        fixed (int* offsets = _gatherOffsets, weights = _gatherWeights)
        {
            for (int y = 0; y < rows; y++)
            {
                var row = src[(y * srcStride)..];
                fixed (byte* s = row, d = dst.Slice(y * dstStride, bytes))
                {
                    int j = 0;
                    if (_permute is not null)
                        j = _permute.Bytes(s, row.Length, d, Half, PilResize.PrecisionBits);

                    // The gather reads 4 bytes per tap: not on the caller's last row (bytes past it may be past the buffer).
                    if (tables && _rowFirst + y < InHeight - 1)
                    {
                        for (; j <= bytes - 8; j += 8)
                        {
                            var acc = half;
                            for (int t = 0; t < taps; t++)
                                acc += ByteGather.Load(s, Vector256.Load(offsets + (t * bytes) + j)) * Vector256.Load(weights + (t * bytes) + j);
                            ByteGather.Store8(Vector256.Min(Vector256.Max(acc >> PilResize.PrecisionBits, Vector256<int>.Zero), max), d + j);
                        }
                    }

                    for (; j < bytes; j++)
                    {
                        int x = j / 3, c = j - (3 * x), acc = Half;
                        byte* p = s + (3 * _xStart[x]) + c;
                        for (int t = 0, n = _xCount[x]; t < n; t++)
                            acc += p[3 * t] * _xWeights[(x * taps) + t];
                        d[j] = Clip8(acc);
                    }
                }
            }
        }
    }

    /// <summary>The vertical pass: every output byte of a row shares that row's weights, so it runs 16 ints per vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void VerticalPass(ReadOnlySpan<byte> src, int srcStride, int rowOffset, Span<byte> dst, int dstStride)
    {
        const int Half = 1 << (PilResize.PrecisionBits - 1);
        int bytes = OutWidth * 3, taps = _yTaps;
        ref byte s0 = ref MemoryMarshal.GetReference(src);
        for (int y = 0; y < OutHeight; y++)
        {
            int first = _yStart[y] + rowOffset, n = _yCount[y];
            ReadOnlySpan<int> k = _yWeights.AsSpan(y * taps, n);
            ref byte d = ref Unsafe.Add(ref MemoryMarshal.GetReference(dst), y * dstStride);
            int i = 0;
            if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated)
            {
                var half = Vector512.Create(Half);
                var max = Vector512.Create(255);
                for (; i <= bytes - 16; i += 16)
                {
                    var acc = half;
                    for (int t = 0; t < n; t++)
                        acc += Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref Unsafe.Add(ref s0, ((first + t) * srcStride) + i))) * Vector512.Create(k[t]);
                    Avx512F.ConvertToVector128Byte(Vector512.Min(Vector512.Max(acc >> PilResize.PrecisionBits, Vector512<int>.Zero), max)).StoreUnsafe(ref Unsafe.Add(ref d, i));
                }
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                var half = Vector256.Create(Half);
                var max = Vector256.Create(255);
                for (; i <= bytes - 16; i += 16)
                {
                    Vector256<int> lo = half, hi = half;
                    for (int t = 0; t < n; t++)
                    {
                        var v = Vector128.LoadUnsafe(ref Unsafe.Add(ref s0, ((first + t) * srcStride) + i));
                        var (w0, w1) = Vector256.Widen(Vector256.Create(Vector128.WidenLower(v), Vector128.WidenUpper(v)));
                        var w = Vector256.Create(k[t]);
                        lo += w0.AsInt32() * w;
                        hi += w1.AsInt32() * w;
                    }

                    lo = Vector256.Min(Vector256.Max(lo >> PilResize.PrecisionBits, Vector256<int>.Zero), max);
                    hi = Vector256.Min(Vector256.Max(hi >> PilResize.PrecisionBits, Vector256<int>.Zero), max);
                    // Values are 0..255 now, so the truncating narrows are exact; the low 16 bytes are outputs i..i+15 in order.
                    Vector256.Narrow(Vector256.Narrow(lo, hi).AsUInt16(), Vector256<ushort>.Zero).GetLower().StoreUnsafe(ref Unsafe.Add(ref d, i));
                }
            }

            for (; i < bytes; i++)
            {
                int acc = Half;
                for (int t = 0; t < n; t++)
                    acc += Unsafe.Add(ref s0, ((first + t) * srcStride) + i) * k[t];
                Unsafe.Add(ref d, i) = Clip8(acc);
            }
        }
    }

    private static byte Clip8(int acc)
    {
        int v = acc >> PilResize.PrecisionBits;
        return v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)v;
    }
}

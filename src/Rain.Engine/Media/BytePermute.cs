using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Rain.Engine.Media;

/// <summary>
/// A horizontal resampling pass over interleaved RGB with AVX-512 VBMI byte permutes: output byte j = 3x + c is
/// Σ_t src[offset_t(j)] · weight_t(j). Per block of 16 output bytes and tap, one 64-byte load and one <c>vpermb</c>
/// bring the block's source bytes into place, instead of two 8-lane gathers. 16 output bytes are 5⅓ pixels, so a block
/// fits up to a 3.5× reduction with two taps; blocks whose taps span more than 64 source bytes (stronger reductions)
/// stop the run, and the caller's gather or scalar path does the rest of the row. Integer sums in the same
/// order as the scalar code: bit-identical. Set <c>RAIN_NO_VBMI=1</c> to compare with the AVX2 path.
/// </summary>
internal sealed class BytePermute
{
    private readonly int[] _base;
    private readonly bool[] _ok;
    private readonly Vector512<byte>[] _control; // [block · taps + t]
    private readonly int[] _weights;
    private readonly int _taps, _bytes;

    /// <summary>
    /// Builds the permutes from per-tap offsets and weights laid out [t · bytes + j] (bytes = 3 · output width). The
    /// weights array is read at every run; when the offsets change, call <see cref="Update"/>.
    /// </summary>
    public BytePermute(int[] offsets, int[] weights, int taps, int bytes)
    {
        (_weights, _taps, _bytes) = (weights, taps, bytes);
        int blocks = bytes / 16;
        (_base, _ok, _control) = (new int[blocks], new bool[blocks], new Vector512<byte>[blocks * taps]);
        Update(offsets);
    }

    /// <summary>Recomputes the permutes for new offsets (same layout; allocates nothing).</summary>
    public void Update(int[] offsets)
    {
        int taps = _taps, bytes = _bytes;
        Span<byte> control = stackalloc byte[64];
        for (int b = 0; b < _base.Length; b++)
        {
            int j0 = 16 * b, lo = int.MaxValue, hi = int.MinValue;
            for (int t = 0; t < taps; t++)
            {
                for (int k = 0; k < 16; k++)
                    (lo, hi) = (Math.Min(lo, offsets[(t * bytes) + j0 + k]), Math.Max(hi, offsets[(t * bytes) + j0 + k]));
            }

            _base[b] = lo;
            _ok[b] = hi - lo < 64;
            for (int t = 0; t < taps && _ok[b]; t++)
            {
                control.Clear();
                for (int k = 0; k < 16; k++)
                    control[k] = (byte)(offsets[(t * bytes) + j0 + k] - lo);
                _control[(b * taps) + t] = Vector512.Create<byte>(control);
            }
        }
    }

    /// <summary>Whether the CPU has AVX-512 VBMI (and it is not turned off with <c>RAIN_NO_VBMI=1</c>).</summary>
    public static bool IsSupported { get; } = Avx512Vbmi.IsSupported && Vector512.IsHardwareAccelerated && Environment.GetEnvironmentVariable("RAIN_NO_VBMI") != "1";

    /// <summary>Sums into <paramref name="output"/> (ints, 16 per store) from block 0 on; returns the bytes done (where it had to stop).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe int Sums(byte* row, int rowLength, int* output)
    {
        int b = 0;
        fixed (int* w = _weights)
        {
            for (; b < _base.Length && _ok[b] && _base[b] + 64 <= rowLength; b++)
                Block(row, w, b, Vector512<int>.Zero).Store(output + (16 * b));
        }

        return 16 * b;
    }

    /// <summary>
    /// Pillow's finish: (<paramref name="initial"/> + Σ) ≫ <paramref name="shift"/> clamped to 0…255, stored as bytes;
    /// returns the bytes done.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe int Bytes(byte* row, int rowLength, byte* output, int initial, int shift)
    {
        int b = 0;
        var max = Vector512.Create(255);
        var start = Vector512.Create(initial);
        fixed (int* w = _weights)
        {
            for (; b < _base.Length && _ok[b] && _base[b] + 64 <= rowLength; b++)
                Avx512F.ConvertToVector128Byte(Vector512.Min(Vector512.Max(Block(row, w, b, start) >> shift, Vector512<int>.Zero), max)).Store(output + (16 * b));
        }

        return 16 * b;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe Vector512<int> Block(byte* row, int* weights, int b, Vector512<int> sum)
    {
        var v = Vector512.Load(row + _base[b]);
        for (int t = 0; t < _taps; t++)
        {
            var s = Avx512Vbmi.PermuteVar64x8(v, _control[(b * _taps) + t]);
            sum += Avx512F.ConvertToVector512Int32(s.GetLower().GetLower()) * Vector512.Load(weights + (t * _bytes) + (16 * b));
        }

        return sum;
    }
}

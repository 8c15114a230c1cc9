using System.Buffers;
using System.Numerics.Tensors;

namespace Rain.Engine.Tensors;

/// <summary>Finds NaN and ±∞ in float data quickly: the engine's per-step check, the exporter's weight check and <c>rain inspect</c> share it.</summary>
internal static class FiniteCheck
{
    /// <summary>Index of the first NaN or ±∞ in <paramref name="values"/>, or −1 when every value is finite.</summary>
    /// <remarks>
    /// A sum is NaN or ±∞ whenever an addend is, so one SIMD sum (memory-bound) clears the common case; only a non-finite
    /// sum — a bad value, or finite values overflowing — pays for the element scan that finds the culprit (and tells an
    /// overflow, which is no fault, from a bad value).
    /// </remarks>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        if (float.IsFinite(TensorPrimitives.Sum(values)))
            return -1;
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
                return i;
        }

        return -1;
    }

    /// <summary>
    /// Counts the NaN and ±∞ among stored tensor bytes of a floating-point <paramref name="dtype"/> (integer types have
    /// none) and gives the first one's index, converting in blocks so that no tensor-sized buffer is needed.
    /// </summary>
    public static (long Count, long FirstIndex, float FirstValue) CountNonFinite(TensorDType dtype, ReadOnlySpan<byte> stored)
    {
        if (dtype is not (TensorDType.F32 or TensorDType.F16 or TensorDType.BF16 or TensorDType.F64))
            return (0, -1, 0);
        const int Block = 1 << 14;
        int size = dtype.SizeOf();
        float[] buffer = ArrayPool<float>.Shared.Rent(Block);
        try
        {
            long count = 0, first = -1;
            float firstValue = 0;
            for (long start = 0; start < stored.Length / size; start += Block)
            {
                int n = (int)Math.Min(Block, (stored.Length / size) - start);
                var block = buffer.AsSpan(0, n);
                Float32Conversion.Convert(dtype, stored.Slice((int)(start * size), n * size), block);
                if (IndexOfNonFinite(block) < 0)
                    continue;
                for (int i = 0; i < block.Length; i++)
                {
                    if (float.IsFinite(block[i]))
                        continue;
                    if (first < 0)
                        (first, firstValue) = (start + i, block[i]);
                    count++;
                }
            }

            return (count, first, firstValue);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }
}

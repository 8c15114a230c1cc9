using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Rain.Engine.Tensors;

/// <summary>Vectorised conversion of stored little-endian tensor bytes to float32.</summary>
internal static class Float32Conversion
{
    /// <summary>Converts <paramref name="source"/> (elements of <paramref name="dtype"/>) into <paramref name="destination"/>.</summary>
    public static void Convert(TensorDType dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        // Checkpoints are little-endian; reinterpreting the bytes is only right on a little-endian machine.
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Checkpoint reading needs a little-endian machine.");
        int n = source.Length / dtype.SizeOf();
        var dst = destination[..n];
        switch (dtype)
        {
            case TensorDType.F32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(dst);
                break;
            case TensorDType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), dst);
                break;
            case TensorDType.BF16:
                ConvertBFloat16(MemoryMarshal.Cast<byte, ushort>(source), dst);
                break;
            case TensorDType.F64:
                TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, double>(source), dst);
                break;
            case TensorDType.I64:
                TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, long>(source), dst);
                break;
            case TensorDType.I32:
                TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, int>(source), dst);
                break;
            case TensorDType.I16:
                TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, short>(source), dst);
                break;
            case TensorDType.I8:
                TensorPrimitives.ConvertTruncating(MemoryMarshal.Cast<byte, sbyte>(source), dst);
                break;
            case TensorDType.U8:
            case TensorDType.Bool:
                TensorPrimitives.ConvertTruncating(source, dst);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype.");
        }
    }

    // bfloat16 is the high half of a float32: widen to 32 bits and shift (TensorPrimitives has no BF16 path).
    private static void ConvertBFloat16(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        var bits = MemoryMarshal.Cast<float, uint>(destination);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var wide = MemoryMarshal.Cast<uint, Vector<uint>>(bits);
            for (; i <= source.Length - Vector<ushort>.Count; i += Vector<ushort>.Count)
            {
                Vector.Widen(new Vector<ushort>(source[i..]), out var low, out var high);
                int v = i / Vector<uint>.Count;
                wide[v] = Vector.ShiftLeft(low, 16);
                wide[v + 1] = Vector.ShiftLeft(high, 16);
            }
        }

        for (; i < source.Length; i++)
            bits[i] = (uint)source[i] << 16;
    }
}

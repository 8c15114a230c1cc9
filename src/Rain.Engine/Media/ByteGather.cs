using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Rain.Engine.Media;

/// <summary>
/// Eight bytes from eight offsets at once (AVX2 gather), for the resamplers' horizontal passes over interleaved RGB,
/// whose taps sit at irregular offsets. Each lane reads four bytes at its offset and keeps the first, so offset + 3
/// must still be readable: callers run the last row of a caller's buffer on their scalar path.
/// </summary>
internal static class ByteGather
{
    /// <summary>Whether the gather runs in hardware (x86-64 with AVX2); callers fall back to scalar code otherwise.</summary>
    public static bool IsSupported => Avx2.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<int> Load(byte* row, Vector256<int> offsets) =>
        Avx2.GatherVector256((int*)row, offsets, 1) & Vector256.Create(0xFF);

    /// <summary>The low bytes of <paramref name="values"/> (each already 0…255), stored as 8 consecutive bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store8(Vector256<int> values, byte* destination)
    {
        var bytes = Vector256.Narrow(Vector256.Narrow(values, values).AsUInt16(), Vector256<ushort>.Zero);
        *(ulong*)destination = bytes.AsUInt64().GetElement(0);
    }
}

namespace Rain.Gpu.Checks;

/// <summary>A GPU check found a result that differs from its CPU reference (shared by the xunit tests and bench/Rain.GpuCheck).</summary>
public sealed class CheckFailedException : Exception
{
    public CheckFailedException(string message)
        : base(message)
    {
    }

    public CheckFailedException()
    {
    }

    public CheckFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Comparisons that report the worst element.</summary>
internal static class Compare
{
    /// <summary>|a − e| ≤ atol + rtol·|e| everywhere (NaN fails); returns the largest |a − e|.</summary>
    public static double Close(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, double rtol)
    {
        if (expected.Length != actual.Length)
            throw new CheckFailedException($"{what}: {actual.Length} values, expected {expected.Length}.");
        double maxAbs = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i], err = Math.Abs(a - e);
            if (double.IsNaN(err) || err > atol + (rtol * Math.Abs(e)))
                throw new CheckFailedException($"{what}[{i}]: got {a}, expected {e}; |a − e| = {err:E3} exceeds {atol:E1} + {rtol:E1}·|e|.");
            maxAbs = Math.Max(maxAbs, err);
        }

        return maxAbs;
    }

    /// <summary>Bit-identical.</summary>
    public static void Identical<T>(string what, ReadOnlySpan<T> expected, ReadOnlySpan<T> actual)
        where T : unmanaged, IEquatable<T>
    {
        if (expected.Length != actual.Length)
            throw new CheckFailedException($"{what}: {actual.Length} values, expected {expected.Length}.");
        for (int i = 0; i < expected.Length; i++)
        {
            if (!expected[i].Equals(actual[i]))
                throw new CheckFailedException($"{what}[{i}]: got {actual[i]}, expected {expected[i]} (bit-identical required).");
        }
    }

    public static void Bits(string what, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual) =>
        Identical(what, System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(expected), System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(actual));
}

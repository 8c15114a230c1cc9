using Xunit.Abstractions;

namespace Rain.Testing;

/// <summary>Elementwise comparison |a − b| ≤ atol + rtol·|ref| that reports the largest error.</summary>
public static class Tolerance
{
    /// <summary>Asserts closeness of every element, writes the largest absolute and relative-to-bound error, returns the largest absolute error.</summary>
    public static double AssertClose(string name, ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, double rtol, ITestOutputHelper? output = null)
    {
        if (expected.Length != actual.Length)
            throw new Xunit.Sdk.XunitException($"{name}: length {actual.Length}, expected {expected.Length}.");
        double maxAbs = 0, worstRatio = 0;
        int worst = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            double err = Math.Abs(a - e);
            if (double.IsNaN(err))
                throw new Xunit.Sdk.XunitException($"{name}[{i}]: got {a}, expected {e} (NaN).");
            double bound = atol + (rtol * Math.Abs(e));
            double ratio = err / bound;
            if (err > maxAbs)
                maxAbs = err;
            if (ratio > worstRatio)
            {
                worstRatio = ratio;
                worst = i;
            }
        }

        output?.WriteLine($"{name}: max |a-b| = {maxAbs:E3} (worst at {worst}, {worstRatio:P1} of its bound atol={atol:E1} rtol={rtol:E1})");
        if (worstRatio > 1)
            throw new Xunit.Sdk.XunitException($"{name}[{worst}]: got {actual[worst]}, expected {expected[worst]}; |a-b| = {Math.Abs(actual[worst] - expected[worst]):E3} exceeds {atol:E1} + {rtol:E1}·|ref|.");
        return maxAbs;
    }

    /// <summary>Asserts |a − b| ≤ <paramref name="atol"/> for every element (float64), writes and returns the largest error.</summary>
    public static double AssertClose(string name, ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double atol, ITestOutputHelper? output = null)
    {
        if (expected.Length != actual.Length)
            throw new Xunit.Sdk.XunitException($"{name}: length {actual.Length}, expected {expected.Length}.");
        double maxAbs = 0;
        int worst = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            if (double.IsNaN(err) && !(double.IsNaN(actual[i]) && double.IsNaN(expected[i])))
                throw new Xunit.Sdk.XunitException($"{name}[{i}]: got {actual[i]}, expected {expected[i]} (NaN).");
            if (err > maxAbs)
                (maxAbs, worst) = (err, i);
        }

        output?.WriteLine($"{name}: max |a-b| = {maxAbs:E3} (bound {atol:E1})");
        if (maxAbs > atol)
            throw new Xunit.Sdk.XunitException($"{name}[{worst}]: got {actual[worst]:R}, expected {expected[worst]:R}; |a-b| = {maxAbs:E3} exceeds {atol:E1}.");
        return maxAbs;
    }
}

using Rain.Engine.Api;
using Rain.Engine.Tensors;

namespace Rain.Engine.Backends;

/// <summary>The per-step NaN/∞ check (<see cref="EngineOptions.CheckNumerics"/>): one vectorised pass over a tensor.</summary>
internal static class NumericCheck
{
    /// <summary>Throws <see cref="NonFiniteValuesException"/> when <paramref name="values"/> holds a NaN or ±∞ (one SIMD pass; see <see cref="FiniteCheck"/>).</summary>
    public static void ThrowIfNonFinite(ReadOnlySpan<float> values, Stage stage, string tensor)
    {
        int i = FiniteCheck.IndexOfNonFinite(values);
        if (i >= 0)
            throw new NonFiniteValuesException(stage, tensor, i, values[i]);
    }
}

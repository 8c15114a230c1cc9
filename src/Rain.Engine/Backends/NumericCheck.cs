using System.Numerics.Tensors;
using Rain.Engine.Api;

namespace Rain.Engine.Backends;

/// <summary>The per-step NaN/∞ check (<see cref="EngineOptions.CheckNumerics"/>): one vectorised pass over a tensor.</summary>
internal static class NumericCheck
{
    /// <summary>Throws <see cref="NonFiniteValuesException"/> when <paramref name="values"/> holds a NaN or ±∞.</summary>
    /// <remarks>
    /// A sum is NaN or ±∞ whenever an addend is, so one SIMD sum (memory-bound, ~1 ns per 8 floats) clears the common case;
    /// only a non-finite sum — a bad value, or finite values overflowing, which the frames' and latents' ranges never
    /// reach — pays for the element scan that finds the culprit.
    /// </remarks>
    public static void ThrowIfNonFinite(ReadOnlySpan<float> values, Stage stage, string tensor)
    {
        if (float.IsFinite(TensorPrimitives.Sum(values)))
            return;
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
                throw new NonFiniteValuesException(stage, tensor, i, values[i]);
        }
    }
}

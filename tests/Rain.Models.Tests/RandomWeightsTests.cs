using Rain.Models.Networks;
using Rain.Models.Weights;

namespace Rain.Models.Tests;

/// <summary>Seeded random weights: shapes come from the binder, values are N(0, 1/fan_in), deterministic per (seed, key).</summary>
public sealed class RandomWeightsTests
{
    [Fact]
    public void BoundKeysGetTheirShapeAndScaledNormalValues()
    {
        var source = new RandomWeights("test", 5);
        var binder = new WeightBinder(source);
        binder.Bind("conv.weight", [64, 32, 3, 3]);
        binder.Bind("conv.bias", [64]);
        binder.Bind("norm.weight", [32]);
        Assert.True(source.TryGetShape("conv.weight", out var shape));
        Assert.Equal([64L, 32, 3, 3], shape);

        var w = source.Read("conv.weight");
        double mean = w.Average(v => (double)v), variance = w.Average(v => ((double)v - mean) * (v - mean));
        double expected = 1.0 / (32 * 3 * 3);

        // 18432 samples: the sample variance is within a few percent of 1/fan_in, the mean near 0.
        Assert.InRange(variance, expected * 0.95, expected * 1.05);
        Assert.InRange(mean, -4 * Math.Sqrt(expected / w.Length), 4 * Math.Sqrt(expected / w.Length));
        Assert.All(source.Read("conv.bias"), v => Assert.Equal(0f, v));
        Assert.All(source.Read("norm.weight"), v => Assert.Equal(1f, v));
        Assert.Equal(w, new RandomWeights("again", 5).Let(s => s.Declare("conv.weight", [64, 32, 3, 3])).Read("conv.weight"));
        Assert.NotEqual(w, new RandomWeights("other seed", 6).Let(s => s.Declare("conv.weight", [64, 32, 3, 3])).Read("conv.weight"));
    }

    [Fact]
    public void AKeyBoundWithTwoShapesIsAnErrorAndOptionalKeysAreAbsent()
    {
        var source = new RandomWeights("test", 1, RandomWeights.PoseGuiderShapes(32));
        var binder = new WeightBinder(source);
        Assert.False(binder.Has("pos_encoder.pe"));
        Assert.Equal([32L, 256, 3, 3], binder.ShapeOf("conv_out.weight"));
        var e = Assert.Throws<ModelExportException>(() => binder.Bind("conv_out.weight", [320, 256, 3, 3]));
        Assert.Contains("conv_out.weight", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePoseGuiderBuildsFromRandomWeightsWithRAINsWidths()
    {
        var g = PoseGuiderNetwork.Build(new RandomWeights("pose", 2, RandomWeights.PoseGuiderShapes(32)), 4, 64, 128);
        Assert.Equal([4L, 32, 8, 16], g.Shape("pose_cond_fea"));
    }
}

internal static class LetExtension
{
    public static T Let<T>(this T value, Action<T> action)
    {
        action(value);
        return value;
    }
}

using Rain.Engine.Streaming;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Engine.Tests;

/// <summary>Reproduces <c>01_scheduler.safetensors</c>, produced by RAIN's own LCM scheduler.</summary>
public sealed class SchedulerGoldenTests(ITestOutputHelper output)
{
    private const double Atol = 1e-6, Rtol = 1e-5;
    private static readonly StreamConfig Golden = new() { Height = 64, Width = 128, FramesPerLevel = 4, Levels = 4 };

    [Fact]
    public void TrainingScheduleMatchesGolden()
    {
        var g = GoldenData.Open("01_scheduler.safetensors");
        var schedule = new LcmSchedule(Golden);
        Tolerance.AssertClose("betas", g.Floats("betas"), schedule.Training.Betas, Atol, Rtol, output);
        Tolerance.AssertClose("alphas_cumprod", g.Floats("alphas_cumprod"), schedule.Training.AlphasCumprod, Atol, Rtol, output);
        Assert.Equal(g.Floats("final_alpha_cumprod")[0], TrainingSchedule.FinalAlphaCumprod);
        Assert.Equal(0f, schedule.Training.AlphasCumprod[999]);
        Assert.Equal(g.Longs("timesteps"), schedule.InferenceTimesteps.Select(t => (long)t));
    }

    [Fact]
    public void PerFrameCoefficientsMatchGolden()
    {
        var g = GoldenData.Open("01_scheduler.safetensors");
        var s = new LcmSchedule(Golden);
        Assert.Equal(g.Longs("frame_timesteps"), s.FrameTimesteps.Select(t => (long)t));
        // The golden file stores diffusers' t − T/L for the cleanest level (−1), as we do.
        Assert.Equal(g.Longs("prev_timesteps"), s.PrevTimesteps.Select(t => (long)t));
        Tolerance.AssertClose("alpha_prod_t", g.Floats("alpha_prod_t"), s.AlphaProd, Atol, Rtol, output);
        Tolerance.AssertClose("alpha_prod_t_prev", g.Floats("alpha_prod_t_prev"), s.AlphaProdPrev, Atol, Rtol, output);
        Tolerance.AssertClose("c_skip", g.Floats("c_skip"), s.CSkip, Atol, Rtol, output);
        Tolerance.AssertClose("c_out", g.Floats("c_out"), s.COut, Atol, Rtol, output);
    }

    [Fact]
    public void StepMatchesGolden()
    {
        var g = GoldenData.Open("01_scheduler.safetensors");
        var s = new LcmSchedule(Golden);
        int plane = 8 * 16, frames = 16, channels = 4, frameElements = channels * plane;
        float[] v = Layouts.BcfhwToFchw(g.Floats("model_output"), channels, frames, plane);
        float[] x = Layouts.BcfhwToFchw(g.Floats("sample"), channels, frames, plane);
        float[] eps = Layouts.BcfhwToFchw(g.Floats("noise"), channels, frames, plane);
        var prev = new float[v.Length];
        var denoised = new float[v.Length];
        LcmStep.Step(s, v, x, eps, prev, denoised, frameElements);
        Tolerance.AssertClose("denoised", g.Floats("denoised"), Layouts.FchwToBcfhw(denoised, channels, frames, plane), Atol, Rtol, output);
        Tolerance.AssertClose("prev_sample", g.Floats("prev_sample"), Layouts.FchwToBcfhw(prev, channels, frames, plane), Atol, Rtol, output);

        // The cleanest level is exact: x' = denoised bit for bit, whatever the noise holds there.
        Array.Fill(eps, float.NaN, 0, 4 * frameElements);
        LcmStep.Step(s, v, x, eps, prev, denoised, frameElements);
        Assert.True(prev.AsSpan(0, 4 * frameElements).SequenceEqual(denoised.AsSpan(0, 4 * frameElements)));
    }

    [Fact]
    public void DocumentedValuesAtRainTimesteps()
    {
        // Spec §2.7 table, computed there in float64 from the formulas.
        var s = new LcmSchedule(StreamConfig.Rain);
        Assert.Equal([249, 499, 749, 999], s.LevelTimesteps);
        Assert.Equal(0.654189, s.Training.AlphaCumprod(249), 6);
        Assert.Equal(0.242359, s.Training.AlphaCumprod(499), 6);
        Assert.Equal(0.0331715, s.Training.AlphaCumprod(749), 7);
        Assert.Equal(0.0, s.Training.AlphaCumprod(999));
        Assert.Equal(0.99915, s.Training.AlphaCumprod(0), 6);
    }

    [Theory]
    [InlineData(1, new[] { 999 })]
    [InlineData(2, new[] { 999, 499 })]
    [InlineData(3, new[] { 999, 666, 332 })]
    [InlineData(6, new[] { 999, 832, 666, 499, 332, 166 })]
    public void TrailingSpacingMatchesNumpyRounding(int levels, int[] expected)
    {
        // round(arange(1000, 0, -1000/L)) - 1 with round-half-to-even, worked by hand.
        Assert.Equal(expected, new TrainingSchedule(SchedulerConfig.Rain).InferenceTimesteps(levels));
    }
}

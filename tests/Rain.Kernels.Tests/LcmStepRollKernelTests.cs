using Rain.Engine.Streaming;

namespace Rain.Kernels.Tests;

/// <summary>
/// The lcm_step_roll kernel's arithmetic, transcribed operation for operation from kernels/lcm_step_roll.cu over the
/// packed coefficient table, against its reference LcmStep.StepRoll: the table's layout and the kernel's order of
/// operations are right if they agree to rounding (the GPU test then holds the real kernel to the same reference).
/// </summary>
public sealed class LcmStepRollKernelTests
{
    [Theory]
    [InlineData(4, 4, 64)]
    [InlineData(2, 3, 37)]
    [InlineData(1, 6, 5)]
    public void TheKernelFormulaOverThePackedTableEqualsStepRoll(int p, int levels, int e)
    {
        var schedule = new LcmSchedule(new StreamConfig { FramesPerLevel = p, Levels = levels, Height = 64, Width = 64 });
        int frames = p * levels;
        var noise = new CounterNoise(3);
        float[] Fill(int level, int n)
        {
            var values = new float[n];
            noise.Fill(0, level, 0, values);
            return values;
        }

        float[] model = Fill(0, frames * e), sample = Fill(1, frames * e), eps = Fill(2, frames * e), fresh = Fill(3, p * e);
        var expectedNext = new float[frames * e];
        var expectedDecode = new float[p * e];
        LcmStep.StepRoll(schedule, model, sample, eps, fresh, expectedNext, expectedDecode, e);

        var table = LcmStepRoll.PackCoefficients(schedule.SqrtAlphaProd, schedule.SqrtOneMinusAlphaProd, schedule.COut, schedule.CSkip, schedule.SqrtAlphaProdPrev, schedule.SqrtOneMinusAlphaProdPrev);
        Assert.Equal(frames * LcmStepRoll.CoefficientsPerFrame, table.Length);
        var next = new float[frames * e];
        var decode = new float[p * e];
        Array.Fill(next, float.NaN);
        Array.Fill(decode, float.NaN);
        long total = (long)frames * e, chunk = (long)p * e;
        for (long i = 0; i < total; i++)
        {
            int f = (int)(i / e);
            var k = table.AsSpan(6 * f, 6);
            float x = sample[i];
            float d = x * k[0];
            d = (model[i] * -k[1]) + d;
            d *= k[2];
            d = (x * k[3]) + d;
            if (f < p)
            {
                decode[i] = d;
            }
            else
            {
                float w = k[5];
                next[i - chunk] = w != 0f ? (eps[i] * w) + (d * k[4]) : d;
            }

            if (i < chunk)
                next[total - chunk + i] = fresh[i];
        }

        AssertClose(expectedDecode, decode);
        AssertClose(expectedNext, next);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            float bound = 1e-6f + (1e-5f * Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= bound, $"[{i}]: {actual[i]} vs {expected[i]}");
        }
    }
}

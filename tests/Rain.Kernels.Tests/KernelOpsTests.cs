using System.Globalization;
using System.Reflection;
using Rain.Engine.Streaming;

namespace Rain.Kernels.Tests;

/// <summary>Every kernel sits beside its CPU reference, in a class named after its <c>.cu</c>.</summary>
public sealed class KernelOpsTests
{
    [Fact]
    public void EveryOpHasItsClassWithReferenceAndLaunch()
    {
        var classes = typeof(KernelImages).Assembly.GetExportedTypes()
            .Where(t => t.GetField("Op", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true })
            .ToDictionary(t => (string)t.GetField("Op")!.GetRawConstantValue()!, StringComparer.Ordinal);
        Assert.Equal(KernelImages.Ops.Order(StringComparer.Ordinal), classes.Keys.Order(StringComparer.Ordinal));
        foreach (string op in KernelImages.Ops)
        {
            var type = classes[op];
            // kernels/cross_noise_attention.cu → CrossNoiseAttention; frame_convert.cu keeps the name FrameConversion.
            string expected = op == "frame_convert" ? "FrameConversion" : string.Concat(op.Split('_').Select(w => char.ToUpper(w[0], CultureInfo.InvariantCulture) + w[1..]));
            Assert.Equal(expected, type.Name);
            var methods = type.GetMethods(BindingFlags.Public | BindingFlags.Static);
            Assert.Contains(methods, m => m.Name.EndsWith("Launch", StringComparison.Ordinal) && (m.ReturnType == typeof(KernelLaunch) || m.ReturnType == typeof(KernelLaunch[])));
            // The CPU reference: Reference, or for frame_convert one method per entry point named after its conversion.
            string[] references = op == "frame_convert" ? ["Rgb8ToPlanar", "PlanarToRgb8"] : ["Reference"];
            foreach (string reference in references)
                Assert.Contains(methods, m => m.Name == reference && m.ReturnType == typeof(void));
            Assert.Contains($"Rain.Kernels.{type.Name}", KernelImages.Source(op), StringComparison.Ordinal); // the .cu names its twin
        }
    }

    [Theory]
    [InlineData(4, 4, 64)]
    [InlineData(2, 3, 37)]
    [InlineData(1, 6, 5)]
    public void StepRollOverThePackedTableIsTheStepOfEachFrameThenTheRoll(int p, int levels, int e)
    {
        // LcmStep.Step reads the schedule's arrays directly, so this holds the packed table's layout (and the roll)
        // against the unpacked coefficients; both use the same vector operations, so the results are bit-identical.
        var schedule = new LcmSchedule(new StreamConfig { FramesPerLevel = p, Levels = levels, Height = 64, Width = 64 });
        int frames = p * levels;
        float[] Fill(int level, int n)
        {
            var values = new float[n];
            Noise.Reference(3, 0, level, 0, values);
            return values;
        }

        float[] model = Fill(0, frames * e), sample = Fill(1, frames * e), eps = Fill(2, frames * e), fresh = Fill(3, p * e);
        var table = LcmStepRoll.PackCoefficients(schedule.SqrtAlphaProd, schedule.SqrtOneMinusAlphaProd, schedule.COut, schedule.CSkip, schedule.SqrtAlphaProdPrev, schedule.SqrtOneMinusAlphaProdPrev);
        Assert.Equal(frames * LcmStepRoll.CoefficientsPerFrame, table.Length);
        var next = new float[frames * e];
        var decode = new float[p * e];
        LcmStepRoll.Reference(table, model, sample, eps, fresh, next, decode, p, e);

        var prev = new float[frames * e];
        var denoised = new float[frames * e];
        LcmStep.Step(schedule, model, sample, eps, prev, denoised, e);
        Assert.Equal(denoised.AsSpan(0, p * e).ToArray(), decode);
        Assert.Equal(prev.AsSpan(p * e).ToArray(), next.AsSpan(0, (frames - p) * e).ToArray());
        Assert.Equal(fresh, next.AsSpan((frames - p) * e).ToArray());
    }
}

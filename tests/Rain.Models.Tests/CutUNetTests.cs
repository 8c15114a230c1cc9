using Rain.Engine.Backends.Cpu;
using Rain.Engine.Bundle;
using SafetensorsReader = Rain.Engine.Tensors.SafetensorsReader;
using Rain.Models.Networks;
using Rain.Models.Onnx;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Models.Tests;

/// <summary>
/// The exported bundle's cut UNet, run by the engine's own plan interpreter (<see cref="CpuPlan"/> with the C# attention
/// between the parts), against golden 04 and against the uncut UNet built from the same weights.
/// </summary>
public sealed class CutUNetTests(GoldenBundleFixture bundle, ITestOutputHelper output) : IClassFixture<GoldenBundleFixture>
{
    [Fact]
    public void CutUnetWithCsharpAttentionMatchesGolden04AndTheUncutUnet()
    {
        var golden = GoldenData.Open("04_denoising_unet.safetensors");
        var plan = bundle.Bundle.Manifest.UNetPlan;
        Assert.Equal(43, plan.Steps.Count(s => s.StepKind == PlanStepKind.RunPart));
        Assert.Equal(42, plan.Steps.Count(s => s.StepKind == PlanStepKind.CrossNoiseAttention));
        output.WriteLine(OnnxReport.Read(bundle.Bundle.PathOf("unet.part01")).ToString());

        using var pipe = new CpuPipeline(bundle.Bundle, threads: 1, parallelAttention: false);
        using var recorded = SafetensorsReader.Open(GoldenData.PathOf("04_denoising_unet.safetensors"));
        var cutOutput = Layouts.BcfhwToFchw(CpuReplay.Network(pipe, NetworkNames.UNet, recorded).Single(t => t.Name == "model_output").Data, 4, 16, 8 * 16);

        using var ort = new OrtHarness();
        var whole = UNetNetwork.BuildDenoising(UNetTests.Config, UNetTests.Motion, new GoldenWeights("weights/denoising_unet.safetensors"), 16, 8, 16, cut: false);
        var uncutOutput = OrtHarness.Run(ort.Write(GraphPart.Whole(whole)), UNetTests.DenoisingInputs(golden))["model_output"];

        var expected = Layouts.BcfhwToFchw(golden.Floats("model_output"), 4, 16, 8 * 16);
        Tolerance.AssertClose("cut vs golden", expected, cutOutput, 1e-4, 1e-3, output);
        Tolerance.AssertClose("cut vs uncut", uncutOutput, cutOutput, 1e-5, 1e-4, output);
    }

    [Fact]
    public void PlanAlternatesPartsAndAttentionCoresAndRoundTripsThroughJson()
    {
        var cut = UNetNetwork.BuildDenoising(UNetTests.Config, UNetTests.Motion, new GoldenWeights("weights/denoising_unet.safetensors"), 16, 8, 16, cut: true);
        var (parts, plan) = GraphPartitioner.Split(cut);
        for (int i = 0; i < plan.Steps.Count; i++)
            Assert.Equal(i % 2 == 0 ? PlanStep.RunPart : PlanStep.CrossNoiseAttention, plan.Steps[i].Kind);

        // Every buffer is written before it is read, and each attention reads q, k, v of the part just before it in [F, N, C].
        var written = new HashSet<string>(plan.Inputs);
        foreach (var step in plan.Steps)
        {
            Assert.All(step.Inputs, n => Assert.Contains(n, written));
            written.UnionWith(step.Outputs);
            if (step.StepKind == PlanStepKind.CrossNoiseAttention)
            {
                Assert.Equal(16, step.Frames);
                Assert.Equal(8, step.Heads);
                Assert.Contains(step.Tokens, new int?[] { 128, 32, 8, 2 });
            }
        }

        Assert.Contains("model_output", written);
        Assert.Equal("down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.attention_blocks.0.attention", plan.Steps[1].Name);
        Assert.Equal(["sample", "timestep", "pose_cond_fea", "timestep_cond", .. UNetTests.Taps.SelectMany(t => (string[])[t + ".k", t + ".v", t + ".cross"])], plan.Inputs);

        var back = StepPlan.FromJson(plan.ToJson());
        Assert.Equal(plan.ToJson(), back.ToJson());
        Assert.Equal(parts.Select(p => p.Name), back.Steps.Where(s => s.StepKind == PlanStepKind.RunPart).Select(s => s.Part));
        foreach (var part in parts)
            output.WriteLine($"{part.Name}: {part.Inputs.Count} in, {part.Outputs.Count} out; {string.Join(", ", part.OperatorTypes)}");
    }
}

using Rain.Engine.Backends.Cpu;
using Rain.Engine.Bundle;
using Rain.Models.Networks;
using Rain.Models.Onnx;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Models.Tests;

public sealed class CutUNetTests(ITestOutputHelper output)
{
    [Fact]
    public void Cut_unet_with_csharp_attention_matches_golden_04_and_the_uncut_unet()
    {
        var golden = GoldenData.Open("04_denoising_unet.safetensors");
        var weights = new GoldenWeights("weights/denoising_unet.safetensors");
        using var ort = new OrtHarness();

        var cut = UNetNetwork.BuildDenoising(UNetTests.Config, UNetTests.Motion, weights, 16, 8, 16, cut: true);
        var (parts, plan) = CutExport.Write(cut, ort.Folder);
        Assert.Equal(43, parts.Count);
        Assert.Equal(42, plan.Steps.Count(s => s.StepKind == PlanStepKind.CrossNoiseAttention));
        output.WriteLine(OnnxReport.Read(Path.Combine(ort.Folder, parts[1].Name + ".onnx")).ToString());

        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1 };
        using var runner = new CpuPlanRunner(ort.Folder, StepPlan.FromJson(File.ReadAllText(Path.Combine(ort.Folder, "unet.plan.json"))), options);
        var cutOutput = runner.Run(UNetTests.DenoisingInputs(golden))["model_output"].Buffer.ToArray();

        var whole = UNetNetwork.BuildDenoising(UNetTests.Config, UNetTests.Motion, weights, 16, 8, 16, cut: false);
        var uncutOutput = OrtHarness.Run(ort.Write(GraphPart.Whole(whole)), UNetTests.DenoisingInputs(golden))["model_output"];

        var expected = Layouts.BcfhwToFchw(golden.Floats("model_output"), 4, 16, 8 * 16);
        Tolerance.AssertClose("cut vs golden", expected, cutOutput, 1e-4, 1e-3, output);
        Tolerance.AssertClose("cut vs uncut", uncutOutput, cutOutput, 1e-5, 1e-4, output);
    }

    [Fact]
    public void Plan_alternates_parts_and_attention_cores_and_round_trips_through_json()
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
        Assert.Equal(["sample", "timestep", "encoder_hidden_states", "pose_cond_fea", "timestep_cond", .. UNetTests.Taps], plan.Inputs);

        var back = StepPlan.FromJson(plan.ToJson());
        Assert.Equal(plan.ToJson(), back.ToJson());
        Assert.Equal(parts.Select(p => p.Name), back.Steps.Where(s => s.StepKind == PlanStepKind.RunPart).Select(s => s.Part));
        foreach (var part in parts)
            output.WriteLine($"{part.Name}: {part.Inputs.Count} in, {part.Outputs.Count} out; {string.Join(", ", part.OperatorTypes)}");
    }
}

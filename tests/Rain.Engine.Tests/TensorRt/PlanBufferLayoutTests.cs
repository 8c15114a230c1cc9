using Rain.Engine.Backends;
using Rain.Engine.Bundle;
using Rain.Engine.Tests.Api;

namespace Rain.Engine.Tests.TensorRt;

/// <summary>
/// The device buffer layout of the golden bundle's UNet plan (43 parts, 42 attention cores), checked by replaying the
/// plan over the slots: every read must find the value its tensor last wrote there, so reuse never clobbers a live
/// tensor.
/// </summary>
public sealed class PlanBufferLayoutTests(GoldenBundle bundle) : IClassFixture<GoldenBundle>
{
    [Fact]
    public void ReusedBuffersNeverHoldTwoLiveTensorsAndEveryPartTensorFitsItsSlot()
    {
        var manifest = ModelBundle.Load(bundle.Folder, verifyHashes: false).Manifest;
        var plan = manifest.UNetPlan;
        var layout = new PlanBufferLayout(plan, manifest.Parts);

        // Each contract tensor sits in a slot of its exact type, shape and size.
        foreach (var step in plan.Steps.Where(s => s.StepKind == PlanStepKind.RunPart))
        {
            var part = manifest.Parts[step.Part!];
            foreach (var c in part.Inputs.Concat(part.Outputs))
            {
                var slot = layout[c.Name];
                Assert.Equal(c.DType, slot.DType);
                Assert.Equal(c.Shape, slot.Shape);
                Assert.Equal(c.ElementCount * PlanBufferLayout.ElementBytes(c.DType), slot.Bytes);
            }
        }

        // Replay: a slot holds the tensor written last; each read must find its own tensor, no step reads what it writes.
        var holder = new Dictionary<int, string>();
        foreach (string input in plan.Inputs)
            holder[layout[input].Index] = input;
        foreach (var step in plan.Steps)
        {
            foreach (string name in step.Inputs)
                Assert.Equal(name, holder[layout[name].Index]);
            var read = step.Inputs.Select(n => layout[n].Index).ToHashSet();
            Assert.DoesNotContain(step.Outputs, n => read.Contains(layout[n].Index));
            foreach (string name in step.Outputs)
                holder[layout[name].Index] = name;
        }

        foreach (string output in plan.Outputs)
            Assert.Equal(output, holder[layout[output].Index]);

        // The plan's own inputs and outputs are never shared; intermediates are (the layout is smaller than one buffer per tensor).
        var io = plan.Inputs.Concat(plan.Outputs).ToHashSet();
        Assert.All(io, name => Assert.Single(layout.Tensors, t => t.Value.Index == layout[name].Index));
        long naive = layout.Tensors.Values.Sum(s => s.Bytes);
        Assert.True(layout.TotalBytes < naive, $"{layout.TotalBytes} vs {naive}");
        Assert.Equal(layout.Slots.Count, layout.Tensors.Values.Select(s => s.Index).Distinct().Count());
    }

    [Fact]
    public void AnAttentionWhoseTensorsDoNotHoldFNCElementsIsNamed()
    {
        var manifest = ModelBundle.Load(bundle.Folder, verifyHashes: false).Manifest;
        var plan = manifest.UNetPlan;
        var attention = plan.Steps.First(s => s.StepKind == PlanStepKind.CrossNoiseAttention);
        var broken = new StepPlan
        {
            Network = plan.Network,
            Inputs = plan.Inputs,
            Outputs = plan.Outputs,
            Steps = [.. plan.Steps.Select(s => s != attention ? s : new PlanStep
            {
                Kind = s.Kind, Name = s.Name, Inputs = s.Inputs, Outputs = s.Outputs, Frames = s.Frames, Tokens = s.Tokens! + 1, Channels = s.Channels, Heads = s.Heads,
            })],
        };
        var e = Assert.Throws<BundleException>(() => new PlanBufferLayout(broken, manifest.Parts));
        Assert.Contains($"attention '{attention.Name}'", e.Message, StringComparison.Ordinal);
        Assert.Contains(attention.Inputs[0], e.Message, StringComparison.Ordinal);

        var unknown = new StepPlan { Network = plan.Network, Inputs = plan.Inputs, Outputs = plan.Outputs, Steps = [.. plan.Steps, new PlanStep { Kind = "mystery", Inputs = [], Outputs = [] }] };
        Assert.Contains("unknown kind 'mystery'", Assert.Throws<BundleException>(() => new PlanBufferLayout(unknown, manifest.Parts)).Message, StringComparison.Ordinal);
    }
}

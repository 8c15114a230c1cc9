using Rain.Engine.Backends;
using Rain.Engine.Backends.Cpu;
using Rain.Engine.Bundle;
using Rain.Engine.Tests.Api;

namespace Rain.Engine.Tests.Backends;

/// <summary>The CPU plan lays out its buffers with the same <see cref="PlanBufferLayout"/> as the TensorRT backend, refusals included.</summary>
public sealed class CpuPlanTests(GoldenBundle bundle) : IClassFixture<GoldenBundle>
{
    [Fact]
    public void AStepThatReadsATensorBeforeAnyStepWritesItIsRefusedByTheCpuPlanAsByTheLayout()
    {
        var loaded = ModelBundle.Load(bundle.Folder, verifyHashes: false);
        var plan = loaded.Manifest.UNetPlan;
        Assert.Equal(PlanStepKind.RunPart, plan.Steps[0].StepKind);
        Assert.Equal(PlanStepKind.CrossNoiseAttention, plan.Steps[1].StepKind);

        // The first attention moved before the part that writes its q, k and v.
        var swapped = new StepPlan { Network = plan.Network, Inputs = plan.Inputs, Outputs = plan.Outputs, Steps = [plan.Steps[1], plan.Steps[0], .. plan.Steps.Skip(2)] };
        string q = plan.Steps[1].Inputs[0];
        string expected = $"step 0 reads '{q}' before any step writes it";

        Assert.Contains(expected, Assert.Throws<BundleException>(() => new PlanBufferLayout(swapped, loaded.Manifest.Parts)).Message, StringComparison.Ordinal);
        using var sessions = new CpuSessionFactory(loaded, threads: 1, prepackWeights: false);
        Assert.Contains(expected, Assert.Throws<BundleException>(() => new CpuPlan(swapped, loaded.Manifest.Parts, sessions, attentionWorkers: 0)).Message, StringComparison.Ordinal);

        // The plan as exported is accepted, and every tensor of one slot shares one host buffer.
        var layout = new PlanBufferLayout(plan, loaded.Manifest.Parts);
        using var cpu = new CpuPlan(plan, loaded.Manifest.Parts, sessions, attentionWorkers: 0);
        foreach (var (name, slot) in layout.Tensors)
        {
            var first = layout.Tensors.First(t => t.Value.Index == slot.Index).Key;
            Assert.Same(cpu.Buffer(first), cpu.Buffer(name));
        }

        Assert.Equal(layout.TotalBytes, cpu.BufferBytes);
    }
}

using Rain.Engine.Bundle;
using Rain.Engine.Tensors;

namespace Rain.Engine.Backends;

/// <summary>One buffer of a <see cref="PlanBufferLayout"/>: its element type, shape and size.</summary>
/// <param name="Index">Position in <see cref="PlanBufferLayout.Slots"/>.</param>
/// <param name="DType">Element type ("float32", "int64", …).</param>
/// <param name="Shape">Shape of every tensor placed in it.</param>
/// <param name="Bytes">Size in bytes.</param>
internal sealed record PlanSlot(int Index, string DType, long[] Shape, long Bytes)
{
    /// <summary><see cref="DType"/> as a <see cref="TensorDType"/> (the layout accepts only known types).</summary>
    public TensorDType ElementType => TensorDTypes.TryParseOnnxName(DType, out var t) ? t : throw new BundleException($"unknown element type '{DType}'.");
}

/// <summary>
/// Where every tensor of a UNet <see cref="StepPlan"/> lives, decided once from the parts' contracts, for both
/// backends: the plan's inputs and outputs get buffers of their own; an intermediate tensor reuses a buffer of the same
/// type and shape whose last reader ran at an earlier step (so no step reads and writes one buffer). A step that reads a
/// tensor before any step writes it, or a tensor written and never read later, is refused. Pure bookkeeping: the CPU
/// plan allocates one host tensor per slot, the TensorRT backend one device buffer, and each binds a part's tensors to
/// the slot of their name.
/// </summary>
internal sealed class PlanBufferLayout
{
    private readonly Dictionary<string, PlanSlot> _byName = new(StringComparer.Ordinal);
    private readonly List<PlanSlot> _slots = [];

    /// <summary>Lays out <paramref name="plan"/> over the contracts of the parts it runs (<paramref name="parts"/>).</summary>
    /// <exception cref="BundleException">A tensor no part produces or consumes, a tensor written but never read, an attention
    /// whose q, k, v or output do not hold F·N·C elements, or a step of unknown kind.</exception>
    public PlanBufferLayout(StepPlan plan, IReadOnlyDictionary<string, PartManifest> parts)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(parts);
        var contracts = new Dictionary<string, TensorContract>(StringComparer.Ordinal);
        foreach (var step in plan.Steps)
        {
            switch (step.StepKind)
            {
                case PlanStepKind.RunPart:
                    if (step.Part is null || !parts.TryGetValue(step.Part, out var part))
                        throw new BundleException($"the UNet plan runs part '{step.Part}', which the bundle does not have.");
                    foreach (var c in part.Inputs.Concat(part.Outputs))
                        contracts.TryAdd(c.Name, c);
                    break;
                case PlanStepKind.CrossNoiseAttention:
                    break;
                default:
                    throw new BundleException($"the UNet plan has a step of unknown kind '{step.Kind}'.");
            }
        }

        foreach (var step in plan.Steps.Where(s => s.StepKind == PlanStepKind.CrossNoiseAttention))
        {
            long elements = (long)step.Frames!.Value * step.Tokens!.Value * step.Channels!.Value;
            contracts.TryAdd(step.Outputs[0], new TensorContract(step.Outputs[0], TensorDType.F32.ToOnnxName(), [step.Frames.Value, step.Tokens.Value, step.Channels.Value]));
            var dtype = contracts.TryGetValue(step.Inputs[0], out var q) ? q.ElementType : TensorDType.F32;
            foreach (string name in step.Inputs.Concat(step.Outputs))
            {
                if (!contracts.TryGetValue(name, out var c) || c.ElementCount != elements || c.ElementType is not (TensorDType.F32 or TensorDType.F16) || c.ElementType != dtype)
                    throw new BundleException($"the UNet plan's attention '{step.Name}' needs q, k, v and output of one float type (float32 or float16) and F·N·C = {elements} elements; '{name}' is {(c is null ? "none" : c.ToString())}.");
            }
        }

        Assign(plan, contracts);
    }

    /// <summary>The buffers to allocate.</summary>
    public IReadOnlyList<PlanSlot> Slots => _slots;

    /// <summary>Bytes of all slots together.</summary>
    public long TotalBytes => _slots.Sum(s => s.Bytes);

    /// <summary>The slot holding tensor <paramref name="name"/>.</summary>
    public PlanSlot this[string name] => _byName.TryGetValue(name, out var slot) ? slot
        : throw new BundleException($"the UNet plan has no tensor '{name}'.");

    /// <summary>Every tensor name with its slot.</summary>
    public IReadOnlyDictionary<string, PlanSlot> Tensors => _byName;

    /// <summary>Bytes per element of a contract's element type.</summary>
    public static int ElementBytes(string dtype) => TensorDTypes.TryParseOnnxName(dtype, out var t) ? t.SizeOf()
        : throw new BundleException($"unknown element type '{dtype}' in a part's contract.");

    private void Assign(StepPlan plan, Dictionary<string, TensorContract> contracts)
    {
        var lastUse = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < plan.Steps.Count; i++)
        {
            foreach (var name in plan.Steps[i].Inputs)
                lastUse[name] = i;
        }

        var pinned = plan.Inputs.Concat(plan.Outputs).ToHashSet(StringComparer.Ordinal);
        foreach (var name in plan.Inputs.Concat(plan.Outputs))
            _byName[name] = New(contracts.TryGetValue(name, out var c) ? c : throw new BundleException($"the UNet plan's tensor '{name}' is read or written by no part."));

        var free = new Dictionary<string, Stack<PlanSlot>>(StringComparer.Ordinal);
        var releaseAfter = new List<(int Step, string Name)>();
        for (int i = 0; i < plan.Steps.Count; i++)
        {
            foreach (var name in plan.Steps[i].Outputs.Where(n => !pinned.Contains(n)))
            {
                var c = contracts[name];
                _byName[name] = free.TryGetValue(Key(c), out var stack) && stack.Count > 0 ? stack.Pop() : New(c);
                if (!lastUse.TryGetValue(name, out int last) || last <= i)
                    throw new BundleException($"the UNet plan writes '{name}' at step {i} but no later step reads it.");
                releaseAfter.Add((last, name));
            }

            foreach (var name in plan.Steps[i].Inputs.Where(n => !_byName.ContainsKey(n)))
                throw new BundleException($"the UNet plan's step {i} reads '{name}' before any step writes it.");

            // Buffers whose last reader is step i become free for step i+1's outputs.
            foreach (var (_, name) in releaseAfter.Where(r => r.Step == i))
            {
                var c = contracts[name];
                if (!free.TryGetValue(Key(c), out var stack))
                    free[Key(c)] = stack = new Stack<PlanSlot>();
                stack.Push(_byName[name]);
            }
        }
    }

    private PlanSlot New(TensorContract c)
    {
        var slot = new PlanSlot(_slots.Count, c.DType, c.Shape, checked(c.ElementCount * ElementBytes(c.DType)));
        _slots.Add(slot);
        return slot;
    }

    private static string Key(TensorContract c) => c.DType + "[" + string.Join(",", c.Shape) + "]";
}

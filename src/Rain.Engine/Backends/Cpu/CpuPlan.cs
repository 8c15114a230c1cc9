using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Rain.Engine.Api;
using Rain.Engine.Bundle;
using Rain.Kernels;

namespace Rain.Engine.Backends.Cpu;

/// <summary>
/// Runs a bundle's UNet <see cref="StepPlan"/> on the CPU: one ONNX Runtime session per part, the C# cross-noise
/// attention between parts. Every buffer is allocated when the plan is loaded; intermediate buffers of equal shape
/// whose lifetimes do not overlap share memory, as <see cref="PlanBufferLayout"/> places them (the layout the TensorRT
/// backend uses too). A run allocates nothing. Not thread-safe.
/// </summary>
internal sealed class CpuPlan : IDisposable
{
    private readonly List<Action<RunOptions, StageTimings?>> _steps = [];
    private readonly List<(int Index, string Part)> _partSteps = [];
    private readonly OrtNetwork?[] _networks;
    private readonly Dictionary<string, CpuTensor> _buffers = new(StringComparer.Ordinal);
    private readonly List<CpuTensor> _owned = [];
    private readonly CpuSessionFactory _sessions;

    private readonly AttentionWorkers _attention;

    /// <summary>Allocates every buffer; the parts' sessions are created by <see cref="Load"/>.</summary>
    /// <param name="bundle">The bundle.</param>
    /// <param name="sessions">Creates every part's session (options, ledger).</param>
    /// <param name="attentionWorkers">Threads besides the step thread that share the attention kernels (0: none).</param>
    public CpuPlan(ModelBundle bundle, CpuSessionFactory sessions, int attentionWorkers)
        : this(bundle.Manifest.UNetPlan, bundle.Manifest.Parts, sessions, attentionWorkers)
    {
    }

    /// <summary>Allocates every buffer of <paramref name="plan"/> over the contracts of <paramref name="parts"/>.</summary>
    /// <exception cref="BundleException">The plan is refused by <see cref="PlanBufferLayout"/> (a read before any write, …).</exception>
    internal CpuPlan(StepPlan plan, IReadOnlyDictionary<string, PartManifest> parts, CpuSessionFactory sessions, int attentionWorkers)
    {
        _sessions = sessions;
        _attention = new AttentionWorkers(attentionWorkers);
        _networks = new OrtNetwork?[plan.Steps.Count];
        using (var built = new Owned(this))
        {
            var layout = new PlanBufferLayout(plan, parts);
            var slots = new CpuTensor[layout.Slots.Count];
            foreach (var (name, slot) in layout.Tensors)
            {
                // A slot's tensor carries the contract of the first tensor placed in it (every later one has its type and shape).
                slots[slot.Index] ??= New(new TensorContract(name, slot.DType, slot.Shape));
                _buffers[name] = slots[slot.Index];
            }

            int attentionCores = 0;
            for (int i = 0; i < plan.Steps.Count; i++)
            {
                var step = plan.Steps[i];
                switch (step.StepKind)
                {
                    case PlanStepKind.RunPart:
                    {
                        int index = i;
                        string name = step.Part!;
                        _partSteps.Add((index, name));
                        _steps.Add((ro, t) =>
                        {
                            long start = Stopwatch.GetTimestamp();
                            _networks[index]!.Run(ro);
                            t?.Add(Stage.UNetParts, start, name);
                        });
                        break;
                    }

                    case PlanStepKind.CrossNoiseAttention:
                    {
                        CpuTensor q = Buffer(step.Inputs[0]), k = Buffer(step.Inputs[1]), v = Buffer(step.Inputs[2]), o = Buffer(step.Outputs[0]);
                        int f = step.Frames!.Value, n = step.Tokens!.Value, c = step.Channels!.Value, heads = step.Heads!.Value;
                        CrossNoiseAttention.Validate(f, n, c, heads, q.F.Length, k.F.Length, v.F.Length, o.F.Length);
                        string name = $"attention {attentionCores++}";
                        _steps.Add((_, t) =>
                        {
                            long start = Stopwatch.GetTimestamp();
                            _attention.Run(q, k, v, o, f, n, c, heads);
                            t?.Add(Stage.Attention, start, name);
                        });
                        break;
                    }

                    default:
                        throw new BundleException($"the UNet plan has a step of unknown kind '{step.Kind}'.");
                }
            }

            built.Commit();
        }
    }

    /// <summary>Whether every part's session is loaded (<see cref="Run"/> needs it).</summary>
    public bool IsLoaded { get; private set; }

    /// <summary>Creates every part's session and binds it to the plan's buffers (a no-op when loaded).</summary>
    public void Load()
    {
        if (IsLoaded)
            return;
        try
        {
            foreach (var (index, part) in _partSteps)
            {
                var network = _sessions.Load(part, "unet");
                _networks[index] = network;
                network.Bind(c => _buffers[c.Name]);
            }
        }
        catch
        {
            Unload();
            throw;
        }

        IsLoaded = true;
    }

    /// <summary>Releases every part's session (the buffers, and what they hold, stay).</summary>
    public void Unload()
    {
        for (int i = 0; i < _networks.Length; i++)
        {
            _networks[i]?.Dispose();
            _networks[i] = null;
        }

        IsLoaded = false;
    }

    /// <summary>Bytes held by the plan's buffers.</summary>
    public long BufferBytes => _owned.Sum(b => b.Bytes64);

    /// <summary>A network input or output buffer (or any plan buffer) by name.</summary>
    public CpuTensor Buffer(string name) =>
        _buffers.TryGetValue(name, out var b) ? b : throw new BundleException($"the UNet plan has no buffer '{name}'.");

    /// <summary>Runs every step in order.</summary>
    public void Run(RunOptions runOptions, StageTimings? timings)
    {
        if (!IsLoaded)
            throw new InvalidOperationException("the UNet's parts are not loaded.");
        long start = Stopwatch.GetTimestamp();
        foreach (var step in _steps)
            step(runOptions, timings);
        timings?.Group("UNet", start);
    }

    public void Dispose()
    {
        _attention.Dispose();
        Unload();
        foreach (var b in _owned)
            b.Dispose();
        _owned.Clear();
    }

    private CpuTensor New(TensorContract contract)
    {
        var t = new CpuTensor(contract);
        _owned.Add(t);
        return t;
    }
}

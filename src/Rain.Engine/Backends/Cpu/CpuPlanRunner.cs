using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Rain.Engine.Bundle;
using Rain.Kernels;

namespace Rain.Engine.Backends.Cpu;

/// <summary>
/// Runs a <see cref="StepPlan"/> on the CPU: each part with an ONNX Runtime session (CPU provider, float32) and each
/// cross-noise attention with <c>CrossNoiseAttention.Reference</c>, over named buffers. Not thread-safe: one
/// <see cref="Run"/> at a time.
/// </summary>
internal sealed class CpuPlanRunner : IDisposable
{
    private readonly StepPlan _plan;
    private readonly Dictionary<string, InferenceSession> _sessions = new(StringComparer.Ordinal);

    /// <summary>Loads one session per part from <c>&lt;folder&gt;/&lt;part&gt;.onnx</c> (ONNX Runtime checks each model here).</summary>
    public CpuPlanRunner(string folder, StepPlan plan, SessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        _plan = plan;
        using (var built = new Owned(this))
        {
            foreach (var step in plan.Steps.Where(s => s.StepKind == PlanStepKind.RunPart))
            {
                string part = step.Part ?? throw new InvalidDataException($"{plan.Network}: a run_part step has no part name.");
                string path = Path.Combine(folder, part + ".onnx");
                _sessions[part] = options is null ? new InferenceSession(path) : new InferenceSession(path, options);
            }

            built.Commit();
        }
    }

    /// <summary>
    /// Runs the plan. <paramref name="inputs"/> must hold every network input; returns the network outputs as float
    /// tensors. Buffers are dropped after their last use.
    /// </summary>
    public Dictionary<string, DenseTensor<float>> Run(IReadOnlyList<NamedOnnxValue> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var buffers = inputs.ToDictionary(v => v.Name, v => v, StringComparer.Ordinal);
        foreach (var name in _plan.Inputs.Where(n => !buffers.ContainsKey(n)))
            throw new ArgumentException($"{_plan.Network}: input '{name}' is missing.", nameof(inputs));
        var lastUse = LastUses();
        for (int i = 0; i < _plan.Steps.Count; i++)
        {
            var step = _plan.Steps[i];
            switch (step.StepKind)
            {
                case PlanStepKind.RunPart:
                    RunPart(step, buffers);
                    break;
                case PlanStepKind.CrossNoiseAttention:
                    RunAttention(step, buffers);
                    break;
                default:
                    throw new InvalidDataException($"{_plan.Network}: unknown step kind '{step.Kind}'.");
            }
            foreach (var name in step.Inputs.Where(n => lastUse[n] == i && !_plan.Outputs.Contains(n)))
                buffers.Remove(name);
        }

        return _plan.Outputs.ToDictionary(n => n, n => (DenseTensor<float>)buffers[n].AsTensor<float>(), StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var session in _sessions.Values)
            session.Dispose();
        _sessions.Clear();
    }

    private void RunPart(PlanStep step, Dictionary<string, NamedOnnxValue> buffers)
    {
        var session = _sessions[step.Part!];
        var feeds = step.Inputs.Select(n => buffers.TryGetValue(n, out var v) ? v : throw new InvalidDataException($"{_plan.Network}: buffer '{n}' is read by {step.Part} before it is written.")).ToList();
        using var results = session.Run(feeds, step.Outputs);
        foreach (var r in results)
            buffers[r.Name] = NamedOnnxValue.CreateFromTensor(r.Name, r.AsTensor<float>().ToDenseTensor());
    }

    private static void RunAttention(PlanStep step, Dictionary<string, NamedOnnxValue> buffers)
    {
        int f = step.Frames!.Value, n = step.Tokens!.Value, c = step.Channels!.Value;
        var q = (DenseTensor<float>)buffers[step.Inputs[0]].AsTensor<float>();
        var k = (DenseTensor<float>)buffers[step.Inputs[1]].AsTensor<float>();
        var v = (DenseTensor<float>)buffers[step.Inputs[2]].AsTensor<float>();
        var output = new DenseTensor<float>([f, n, c]);
        CrossNoiseAttention.Reference(q.Buffer.Span, k.Buffer.Span, v.Buffer.Span, output.Buffer.Span, f, n, c, step.Heads!.Value);
        buffers[step.Outputs[0]] = NamedOnnxValue.CreateFromTensor(step.Outputs[0], output);
    }

    private Dictionary<string, int> LastUses()
    {
        var last = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _plan.Steps.Count; i++)
        {
            foreach (var name in _plan.Steps[i].Inputs)
                last[name] = i;
        }

        return last;
    }
}

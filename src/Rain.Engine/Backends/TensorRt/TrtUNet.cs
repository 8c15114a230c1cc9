using Rain.Engine.Backends.Cuda;
using Rain.Engine.Bundle;
using Rain.Engine.Tensors;
using Rain.Kernels;

namespace Rain.Engine.Backends.TensorRt;

/// <summary>
/// The UNet <see cref="StepPlan"/> on the GPU: one device buffer per <see cref="PlanBufferLayout"/> slot (allocated once,
/// so addresses are stable for graph capture), every part's engine bound to the buffers of its tensor names, and a
/// <c>cross_noise_attention</c> node between parts, on the cut tensors' storage (fp16 in FP16 plans: v2 on tensor cores
/// where it applies; float32 in FP32 plans). <see cref="Nodes"/> is the ordered list the step
/// driver enqueues as its denoiser.
/// </summary>
/// <remarks>Verified whole, in both forms, on the fake CUDA driver with engines that run ONNX Runtime (FakeCudaDriverTests, through <see cref="TrtPipeline"/>); TensorRT's own arithmetic needs a GPU. Not thread-safe.</remarks>
internal sealed class TrtUNet : IDisposable
{
    private readonly List<DeviceBuffer> _buffers = [];
    private readonly Dictionary<string, DeviceBuffer> _byName = new(StringComparer.Ordinal);

    /// <summary>Allocates the plan's buffers and binds the parts of <paramref name="engines"/> to them.</summary>
    /// <param name="plan">The UNet plan.</param>
    /// <param name="parts">The bundle's parts (contracts).</param>
    /// <param name="engines">The deserialized engines.</param>
    /// <param name="device">The device.</param>
    /// <param name="kernels">The kernels (attention).</param>
    /// <param name="external">Buffers owned elsewhere for some of the plan's inputs and outputs (the step driver's latent
    /// window and model output), used instead of allocating; each must be at least the tensor's size.</param>
    public TrtUNet(StepPlan plan, IReadOnlyDictionary<string, PartManifest> parts, TrtEngineSet engines, CudaDevice device, CudaKernels kernels,
        IReadOnlyDictionary<string, DeviceBuffer>? external = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(engines);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(kernels);
        Layout = new PlanBufferLayout(plan, parts);
        using (var built = new Owned(this))
        {
            var io = plan.Inputs.Concat(plan.Outputs).ToHashSet(StringComparer.Ordinal);
            var slots = new DeviceBuffer?[Layout.Slots.Count];
            foreach (var (name, buffer) in external ?? new Dictionary<string, DeviceBuffer>())
            {
                if (!io.Contains(name))
                    throw new ArgumentException($"'{name}' is not an input or output of the UNet plan; only those may live in external buffers.", nameof(external));
                var slot = Layout[name];
                if (buffer.Bytes < slot.Bytes)
                    throw new ArgumentException($"The external buffer for '{name}' has {buffer.Bytes} bytes; the tensor needs {slot.Bytes}.", nameof(external));
                slots[slot.Index] = buffer; // plan I/O slots are never shared, so this slot is the tensor's alone
            }

            for (int i = 0; i < slots.Length; i++)
            {
                if (slots[i] is null)
                {
                    slots[i] = device.Allocate(Layout.Slots[i].Bytes);
                    _buffers.Add(slots[i]!);
                }
            }

            foreach (var (name, slot) in Layout.Tensors)
                _byName[name] = slots[slot.Index]!;
            var addresses = _byName.ToDictionary(p => p.Key, p => p.Value.Address, StringComparer.Ordinal);
            var nodes = new List<IPartRunner>(plan.Steps.Count);
            foreach (var step in plan.Steps)
            {
                switch (step.StepKind)
                {
                    case PlanStepKind.RunPart:
                        var runner = engines[step.Part!];
                        runner.Bind(addresses);
                        nodes.Add(runner);
                        break;
                    case PlanStepKind.CrossNoiseAttention:
                        var storage = Layout[step.Inputs[0]].ElementType == TensorDType.F16 ? TensorStorage.Fp16 : TensorStorage.Fp32;
                        nodes.Add(new KernelNode(kernels, CrossNoiseAttention.Launch(
                            addresses[step.Inputs[0]], addresses[step.Inputs[1]], addresses[step.Inputs[2]], addresses[step.Outputs[0]],
                            step.Frames!.Value, step.Tokens!.Value, step.Channels!.Value, step.Heads!.Value, storage)));
                        break;
                    default:
                        throw new BundleException($"the UNet plan has a step of unknown kind '{step.Kind}'.");
                }
            }

            Nodes = nodes;
            built.Commit();
        }
    }

    /// <summary>Where each tensor lives.</summary>
    public PlanBufferLayout Layout { get; }

    /// <summary>The plan's nodes in order: part engines and attention kernels.</summary>
    public IReadOnlyList<IPartRunner> Nodes { get; } = [];

    /// <summary>Bytes of the device buffers the plan allocated (external ones not counted).</summary>
    public long BufferBytes => _buffers.Sum(b => b.Bytes);

    /// <summary>The device buffer of tensor <paramref name="name"/> (the plan's inputs and outputs are the UNet's).</summary>
    public DeviceBuffer Buffer(string name) => _byName.TryGetValue(name, out var b) ? b : throw new BundleException($"the UNet plan has no tensor '{name}'.");

    /// <summary>Frees the buffers (dispose the engines separately, after the graph that uses them).</summary>
    public void Dispose()
    {
        foreach (var b in _buffers)
            b.Dispose();
        _buffers.Clear();
    }
}

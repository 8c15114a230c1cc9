using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Rain.Engine.Bundle;

namespace Rain.Engine.Backends.Cpu;

/// <summary>
/// One ONNX part of a bundle in one ONNX Runtime session, checked against its manifest contract when loaded, run
/// through I/O bindings over preallocated <see cref="CpuTensor"/>s (no allocation per run). Not thread-safe.
/// </summary>
internal sealed class OrtNetwork : IDisposable
{
    private readonly InferenceSession _session;
    private readonly List<OrtIoBinding> _bindings = [];
    private readonly NetworkMemory? _memory;
    private bool _ran;

    public OrtNetwork(ModelBundle bundle, string part, SessionOptions options, NetworkMemory? memory = null)
    {
        Name = part;
        _memory = memory;
        Manifest = bundle.Part(part);
        string path = bundle.PathOf(part);
        try
        {
            _session = new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new BundleException($"{path}: ONNX Runtime cannot load part '{part}': {e.Message}", e);
        }

        using (var built = new Owned(_session))
        {
            Check(path, "input", Manifest.Inputs, _session.InputMetadata);
            Check(path, "output", Manifest.Outputs, _session.OutputMetadata);
            built.Commit();
        }
    }

    public string Name { get; }

    public PartManifest Manifest { get; }

    /// <summary>Binds every input and output to the tensor <paramref name="tensorFor"/> returns for its contract; returns the binding's index.</summary>
    public int Bind(Func<TensorContract, CpuTensor> tensorFor)
    {
        using var owned = new Owned();
        var binding = owned.Own(_session.CreateIoBinding());
        foreach (var c in Manifest.Inputs)
            binding.BindInput(c.Name, Checked(tensorFor(c), c));
        foreach (var c in Manifest.Outputs)
            binding.BindOutput(c.Name, Checked(tensorFor(c), c));
        _bindings.Add(owned.Commit(binding));
        return _bindings.Count - 1;
    }

    public void Run(RunOptions runOptions, int binding = 0)
    {
        if (_ran)
        {
            _session.RunWithBinding(runOptions, _bindings[binding]);
            return;
        }

        // The first run after a load: what ONNX Runtime allocates then (arena, memory patterns) goes into the ledger.
        long before = _memory is null ? 0 : ProcessMemory.Now().Resident;
        _session.RunWithBinding(runOptions, _bindings[binding]);
        _ran = true;
        if (_memory is not null)
            _memory.FirstRunResidentDelta = ProcessMemory.Now().Resident - before;
    }

    public void Dispose()
    {
        foreach (var b in _bindings)
            b.Dispose();
        _bindings.Clear();
        _session.Dispose();
        if (_memory is { Loaded: true })
        {
            _memory.Loaded = false;
            _memory.Releases++;
        }
    }

    private OrtValue Checked(CpuTensor tensor, TensorContract c)
    {
        if (tensor.Contract.DType != c.DType || !tensor.Contract.Shape.AsSpan().SequenceEqual(c.Shape))
            throw new BundleException($"part '{Name}': tensor '{c.Name}' is {c} in its contract but the buffer it shares is {tensor.Contract}.");
        return tensor.Value;
    }

    private static void Check(string path, string kind, TensorContract[] contracts, IReadOnlyDictionary<string, NodeMetadata> actual)
    {
        var expectedNames = contracts.Select(c => c.Name).Order(StringComparer.Ordinal).ToList();
        var actualNames = actual.Keys.Order(StringComparer.Ordinal).ToList();
        if (!expectedNames.SequenceEqual(actualNames, StringComparer.Ordinal))
            throw new BundleException($"{path}: {kind}s are [{string.Join(", ", actualNames)}], the manifest's contract says [{string.Join(", ", expectedNames)}].");
        foreach (var c in contracts)
        {
            var m = actual[c.Name];
            string dtype = m.ElementDataType switch
            {
                TensorElementType.Float => "float32",
                TensorElementType.UInt8 => "uint8",
                TensorElementType.Int64 => "int64",
                var other => other.ToString(),
            };
            if (dtype != c.DType || !m.Dimensions.Select(d => (long)d).SequenceEqual(c.Shape))
                throw new BundleException($"{path}: {kind} '{c.Name}' is {dtype} [{string.Join(", ", m.Dimensions)}], the manifest's contract says {c}.");
        }
    }
}

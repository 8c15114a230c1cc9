using Rain.Models.Onnx.Proto;
using Rain.Models.Weights;

namespace Rain.Models.Onnx;

/// <summary>
/// Builds one ONNX graph (opset 17) with static shapes and readable names. Every tensor's type and shape is tracked
/// so that weight shapes can be checked against the activations they meet. Weights are bound through a
/// <see cref="WeightBinder"/> and read only when the model is written. Temporal attention cores can be left out as
/// <see cref="CrossNoiseCut"/> steps (see <see cref="CutTemporalAttention"/>), which <see cref="GraphPartitioner"/>
/// turns into separate parts.
/// </summary>
public sealed partial class GraphBuilder
{
    private readonly Dictionary<string, TensorInfo> _tensors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, InitializerEntry> _initializers = new(StringComparer.Ordinal);
    private readonly List<object> _steps = [];
    private readonly List<string> _inputs = [];
    private readonly List<string> _outputs = [];
    private readonly HashSet<string> _nodeNames = new(StringComparer.Ordinal);
    private readonly Stack<string> _scopes = new();
    private int _constCounter;

    /// <summary>Creates an empty graph bound to a weight source.</summary>
    public GraphBuilder(string name, WeightBinder weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        Name = name;
        Weights = weights;
    }

    /// <summary>Graph name.</summary>
    public string Name { get; }

    /// <summary>The weight binder of this graph.</summary>
    public WeightBinder Weights { get; }

    /// <summary>When true, temporal attention cores become <see cref="CrossNoiseCut"/> steps instead of ONNX nodes.</summary>
    public bool CutTemporalAttention { get; init; }

    /// <summary>The ordered steps: <see cref="NodeProto"/> nodes and <see cref="CrossNoiseCut"/> markers.</summary>
    internal IReadOnlyList<object> Steps => _steps;

    /// <summary>Graph input names in declaration order.</summary>
    public IReadOnlyList<string> Inputs => _inputs;

    /// <summary>Graph output names in declaration order.</summary>
    public IReadOnlyList<string> Outputs => _outputs;

    /// <summary>All initializers by name.</summary>
    internal IReadOnlyDictionary<string, InitializerEntry> Initializers => _initializers;

    /// <summary>The cuts recorded so far.</summary>
    public IEnumerable<CrossNoiseCut> Cuts => _steps.OfType<CrossNoiseCut>();

    /// <summary>Type and shape of a tensor.</summary>
    public TensorInfo Info(string tensor) =>
        _tensors.TryGetValue(tensor, out var info) ? info : throw new InvalidOperationException($"Unknown tensor '{tensor}' in graph '{Name}'.");

    /// <summary>Static shape of a tensor.</summary>
    public long[] Shape(string tensor) => Info(tensor).Shape;

    /// <summary>Enters a naming scope (a module path such as <c>down_blocks.0.attentions.0</c>).</summary>
    public IDisposable Scope(string name)
    {
        _scopes.Push(_scopes.Count == 0 ? name : $"{_scopes.Peek()}.{name}");
        return new ScopeExit(_scopes);
    }

    /// <summary>The current scope path ("" at top level).</summary>
    public string CurrentScope => _scopes.Count == 0 ? "" : _scopes.Peek();

    /// <summary>Full key of a parameter under the current scope.</summary>
    public string Key(string suffix) => _scopes.Count == 0 ? suffix : $"{_scopes.Peek()}.{suffix}";

    /// <summary>Declares a graph input.</summary>
    public string Input(string name, OnnxDataType type, params long[] shape)
    {
        Register(new TensorInfo(name, type, shape));
        _inputs.Add(name);
        return name;
    }

    /// <summary>Declares a graph output; with <paramref name="name"/> the tensor is exposed under that name.</summary>
    public string Output(string tensor, string? name = null)
    {
        if (name is not null && name != tensor)
        {
            var info = Info(tensor);
            AddNode("Identity", name, [tensor], [name], []);
            Register(info with { Name = name });
            tensor = name;
        }

        _outputs.Add(tensor);
        return tensor;
    }

    /// <summary>
    /// Binds checkpoint key <paramref name="key"/> (which must have shape <paramref name="expected"/>) as an initializer,
    /// optionally stored with another shape or transformed (for example transposed) when written.
    /// </summary>
    public string Weight(string key, long[] expected, long[]? storedShape = null, Func<float[], float[]>? transform = null)
    {
        Weights.Bind(key, expected);
        var source = Weights.Source;
        var shape = storedShape ?? expected;
        AddInitializer(new InitializerEntry(key, OnnxDataType.F32, shape, () =>
        {
            var data = source.Read(key);
            return FloatBytes(transform is null ? data : transform(data));
        }));
        return key;
    }

    /// <summary>A linear layer's weight [out, in], stored transposed as [in, out] for MatMul.</summary>
    public string LinearWeight(string key, long outFeatures, long inFeatures) =>
        Weight(key, [outFeatures, inFeatures], [inFeatures, outFeatures], w => Transpose2D(w, (int)outFeatures, (int)inFeatures));

    /// <summary>A small float constant computed at build time.</summary>
    public string Constant(string label, float[] values, params long[] shape)
    {
        string name = $"const.{label}.{_constCounter++}";
        var copy = (float[])values.Clone();
        AddInitializer(new InitializerEntry(name, OnnxDataType.F32, shape, () => FloatBytes(copy)));
        return name;
    }

    /// <summary>A small int64 constant (shapes, axes, indices).</summary>
    public string ConstantInt64(string label, params long[] values)
    {
        string name = $"const.{label}.{_constCounter++}";
        var copy = (long[])values.Clone();
        AddInitializer(new InitializerEntry(name, OnnxDataType.I64, [copy.Length], () =>
        {
            var bytes = new byte[copy.Length * 8];
            for (int i = 0; i < copy.Length; i++)
                BitConverter.TryWriteBytes(bytes.AsSpan(i * 8), copy[i]);
            return bytes;
        }));
        return name;
    }

    /// <summary>Records a cross-noise cut: the output tensor is produced outside the ONNX graph.</summary>
    internal string AddCut(string label, string q, string k, string v, int heads)
    {
        var shape = Shape(q);
        string name = UniqueName(label);
        var cut = new CrossNoiseCut(name, q, k, v, name + ".out", (int)shape[0], (int)shape[1], (int)shape[2], heads);
        _steps.Add(cut);
        Register(new TensorInfo(cut.Output, OnnxDataType.F32, shape));
        return cut.Output;
    }

    /// <summary>Adds a node with one output; returns the output name (equal to the unique node name).</summary>
    internal string Node(string opType, string label, string[] inputs, long[] outShape, OnnxDataType outType = OnnxDataType.F32, params AttributeProto[] attributes)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        foreach (var input in inputs)
        {
            if (input.Length > 0 && !_tensors.ContainsKey(input))
                throw new InvalidOperationException($"{Name}: node '{label}' uses unknown tensor '{input}'.");
        }

        string name = UniqueName(label);
        AddNode(opType, name, inputs, [name], attributes);
        Register(new TensorInfo(name, outType, outShape));
        return name;
    }

    private void AddNode(string opType, string name, string[] inputs, string[] outputs, AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _steps.Add(node);
    }

    private string UniqueName(string label)
    {
        string baseName = _scopes.Count == 0 ? label : $"{_scopes.Peek()}.{label}";
        string name = baseName;
        for (int i = 1; !_nodeNames.Add(name) || _tensors.ContainsKey(name); i++)
            name = $"{baseName}_{i}";
        return name;
    }

    private void Register(TensorInfo info)
    {
        if (!_tensors.TryAdd(info.Name, info))
            throw new InvalidOperationException($"{Name}: tensor '{info.Name}' defined twice.");
    }

    private void AddInitializer(InitializerEntry entry)
    {
        _initializers.Add(entry.Name, entry);
        Register(new TensorInfo(entry.Name, entry.Type, entry.Shape));
    }

    internal static byte[] FloatBytes(float[] data)
    {
        var bytes = new byte[data.Length * 4];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    private static float[] Transpose2D(float[] w, int rows, int cols)
    {
        var t = new float[w.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                t[(c * rows) + r] = w[(r * cols) + c];
        return t;
    }

    private sealed class ScopeExit(Stack<string> scopes) : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (!_done)
                scopes.Pop();
            _done = true;
        }
    }
}

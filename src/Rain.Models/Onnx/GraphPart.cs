using Rain.Models.Onnx.Proto;

namespace Rain.Models.Onnx;

/// <summary>One self-contained ONNX graph: a whole network, or one part of a network cut at its attention cores.</summary>
public sealed class GraphPart
{
    internal GraphPart(string name, List<NodeProto> nodes, List<TensorInfo> inputs, List<TensorInfo> outputs, List<InitializerEntry> initializers)
    {
        Name = name;
        Nodes = nodes;
        Inputs = inputs;
        Outputs = outputs;
        Initializers = initializers;
    }

    /// <summary>Graph name (also the file stem when written).</summary>
    public string Name { get; }

    /// <summary>Inputs in order.</summary>
    public IReadOnlyList<TensorInfo> Inputs { get; }

    /// <summary>Outputs in order.</summary>
    public IReadOnlyList<TensorInfo> Outputs { get; }

    /// <summary>Distinct operator types, sorted.</summary>
    public IReadOnlyList<string> OperatorTypes => Nodes.Select(n => n.OpType).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    internal List<NodeProto> Nodes { get; }

    internal List<InitializerEntry> Initializers { get; }

    /// <summary>
    /// The whole graph of a builder as one part (cuts are not allowed here). Nodes that no output depends on (the
    /// ReferenceNet's work after its last tap) are dropped.
    /// </summary>
    public static GraphPart Whole(GraphBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (builder.Cuts.Any())
            throw new InvalidOperationException($"{builder.Name}: the graph has cross-noise cuts; use GraphPartitioner.");
        var needed = builder.Outputs.ToHashSet(StringComparer.Ordinal);
        var nodes = new List<NodeProto>();
        foreach (var node in builder.Steps.Cast<NodeProto>().Reverse())
        {
            if (node.Output.Any(needed.Contains))
            {
                nodes.Add(node);
                needed.UnionWith(node.Input);
            }
        }

        nodes.Reverse();
        return new GraphPart(
            builder.Name,
            nodes,
            builder.Inputs.Select(builder.Info).ToList(),
            builder.Outputs.Select(builder.Info).ToList(),
            UsedInitializers(builder, nodes));
    }

    internal static List<InitializerEntry> UsedInitializers(GraphBuilder builder, IEnumerable<NodeProto> nodes)
    {
        var used = new List<InitializerEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            foreach (var input in node.Input)
            {
                if (builder.Initializers.TryGetValue(input, out var init) && seen.Add(input))
                    used.Add(init);
            }
        }

        return used;
    }
}

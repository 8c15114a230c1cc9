using Rain.Engine.Bundle;
using Rain.Models.Onnx.Proto;

namespace Rain.Models.Onnx;

/// <summary>
/// Splits a graph built with <see cref="GraphBuilder.CutTemporalAttention"/> into parts at its cross-noise cuts and
/// derives the step plan. Part k holds the nodes between cut k−1 and cut k; its inputs are the tensors it reads that
/// earlier parts, cuts or the graph inputs produce, and its outputs the tensors it produces that later steps read.
/// </summary>
public static class GraphPartitioner
{
    /// <summary>Splits the graph; returns the parts and the plan that runs them in order with the cuts between.</summary>
    public static (IReadOnlyList<GraphPart> Parts, StepPlan Plan) Split(GraphBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var segments = new List<List<NodeProto>> { new() };
        var cuts = new List<CrossNoiseCut>();
        foreach (var step in builder.Steps)
        {
            if (step is CrossNoiseCut cut)
            {
                cuts.Add(cut);
                segments.Add([]);
            }
            else
            {
                segments[^1].Add((NodeProto)step);
            }
        }

        // Consumers per segment, including the cut that closes it (q, k, v) and the graph outputs (after the last).
        var readBy = segments.Select(s => s.SelectMany(n => n.Input).Where(i => i.Length > 0 && !builder.Initializers.ContainsKey(i)).ToHashSet(StringComparer.Ordinal)).ToList();
        var graphOutputs = builder.Outputs.ToHashSet(StringComparer.Ordinal);
        var parts = new List<GraphPart>();
        var plan = new List<PlanStep>();
        int width = segments.Count >= 100 ? 3 : 2;
        for (int p = 0; p < segments.Count; p++)
        {
            var produced = segments[p].SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
            var inputs = readBy[p].Where(t => !produced.Contains(t)).OrderBy(t => FirstUse(segments[p], t)).ToList();
            var laterReads = new HashSet<string>(graphOutputs, StringComparer.Ordinal);
            for (int later = p + 1; later < segments.Count; later++)
                laterReads.UnionWith(readBy[later]);
            for (int c = p; c < cuts.Count; c++)
                laterReads.UnionWith([cuts[c].Q, cuts[c].K, cuts[c].V]);
            var outputs = segments[p].SelectMany(n => n.Output).Where(laterReads.Contains).ToList();
            string name = $"{builder.Name}.part{p.ToString("D" + width, System.Globalization.CultureInfo.InvariantCulture)}";
            parts.Add(new GraphPart(name, segments[p], inputs.Select(builder.Info).ToList(), outputs.Select(builder.Info).ToList(), GraphPart.UsedInitializers(builder, segments[p])));
            plan.Add(new PlanStep { Kind = PlanStep.RunPart, Part = name, Inputs = inputs, Outputs = outputs });
            if (p < cuts.Count)
            {
                var cut = cuts[p];
                plan.Add(new PlanStep
                {
                    Kind = PlanStep.CrossNoiseAttention,
                    Name = cut.Name,
                    Inputs = [cut.Q, cut.K, cut.V],
                    Outputs = [cut.Output],
                    Frames = cut.Frames,
                    Tokens = cut.Tokens,
                    Channels = cut.Channels,
                    Heads = cut.Heads,
                });
            }
        }

        return (parts, new StepPlan { Network = builder.Name, Inputs = [.. builder.Inputs], Outputs = [.. builder.Outputs], Steps = plan });
    }

    private static int FirstUse(List<NodeProto> nodes, string tensor) => nodes.FindIndex(n => n.Input.Contains(tensor));
}

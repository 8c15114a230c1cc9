using Rain.Engine.Bundle;

namespace Rain.Models.Onnx;

/// <summary>Writes a graph built with cuts as its parts (<c>&lt;part&gt;.onnx</c> + external data) and its step plan (<c>&lt;name&gt;.plan.json</c>).</summary>
public static class CutExport
{
    /// <summary>Splits, writes every part into <paramref name="folder"/>, writes the plan, and returns the parts and the plan.</summary>
    public static (IReadOnlyList<GraphPart> Parts, StepPlan Plan) Write(GraphBuilder builder, string folder, long externalThreshold = OnnxModelWriter.DefaultExternalThreshold, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        Directory.CreateDirectory(folder);
        var (parts, plan) = GraphPartitioner.Split(builder);
        foreach (var part in parts)
        {
            OnnxModelWriter.Write(part, Path.Combine(folder, part.Name + ".onnx"), externalThreshold);
            progress?.Invoke(part.Name);
        }
        File.WriteAllText(Path.Combine(folder, builder.Name + ".plan.json"), plan.ToJson());
        return (parts, plan);
    }
}

using Google.Protobuf;
using Rain.Engine.Backends.TensorRt;
using Rain.Engine.Bundle;
using Rain.Models.Onnx.Proto;

namespace Rain.Models.Onnx;

/// <summary>
/// Writes the ONNX models of a <see cref="UNetForm"/> from a bundle's UNet parts, into the bundle folder beside them
/// (their weights stay in the parts' external data files, which the rewritten models name as they are):
/// <list type="bullet">
/// <item><see cref="UNetForm.Cut"/> with FP16 plans: every part with its cut tensors (the inputs and outputs another part
/// or the attention kernel shares) declared float16, a Cast to float32 after each such input and a Cast to float16 before
/// each such output (<c>unet.cut16.partNN.onnx</c>), so that an FP16 engine takes and gives fp16 at the cuts.</item>
/// <item><see cref="UNetForm.Whole"/>: the parts joined in plan order into one graph (<c>unet.whole.onnx</c>), each
/// attention core between them written with standard ops: q, k, v <c>[F, N, C]</c> reshaped to
/// <c>[N, heads, F, d]</c>, softmax(q·kᵀ/√d)·v, and back.</item>
/// </list>
/// The names and contracts are <see cref="UNetLayout"/>'s, which the engine derives from the bundle alone.
/// </summary>
public static class UNetForms
{
    /// <summary>Writes the models of <paramref name="form"/> (nothing for the cut form of FP32 plans, which are the bundle's parts).</summary>
    /// <returns>The files written.</returns>
    public static IReadOnlyList<string> Write(ModelBundle bundle, UNetForm form, bool fp16)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var layout = UNetLayout.For(bundle.Manifest, form, fp16);
        var plan = bundle.Manifest.UNetPlan;
        var written = new List<string>();
        if (form == UNetForm.Cut)
        {
            if (!fp16)
                return written;
            var cut = UNetLayout.CutTensors(plan);
            foreach (var (name, contract) in layout.Parts)
            {
                var model = Read(bundle, name);
                HalveCutTensors(model.Graph, cut);
                written.Add(Save(model, Path.Combine(bundle.Folder, contract.File)));
            }

            return written;
        }

        written.Add(Save(Join(bundle, plan), Path.Combine(bundle.Folder, UNetLayout.WholeFile)));
        return written;
    }

    private static ModelProto Read(ModelBundle bundle, string part)
    {
        string path = bundle.PathOf(part);
        try
        {
            return ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new BundleException($"{path}: not a readable ONNX model ({e.Message}).");
        }
    }

    private static string Save(ModelProto model, string path)
    {
        string temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
            model.WriteTo(file);
        File.Move(temp, path, overwrite: true);
        return path;
    }

    /// <summary>Declares the graph's float32 cut inputs and outputs float16, with Casts to and from float32 inside.</summary>
    private static void HalveCutTensors(GraphProto graph, IReadOnlySet<string> cut)
    {
        const int Float = 1, Float16 = 10;
        var casts = new List<NodeProto>();
        foreach (var input in graph.Input.Where(i => cut.Contains(i.Name) && i.Type.TensorType.ElemType == Float))
        {
            string inner = input.Name + "/float32";
            foreach (var node in graph.Node)
                Rename(node.Input, input.Name, inner);
            casts.Add(Cast(input.Name, inner, Float));
            input.Type.TensorType.ElemType = Float16;
        }

        for (int i = casts.Count - 1; i >= 0; i--)
            graph.Node.Insert(0, casts[i]);
        foreach (var output in graph.Output.Where(o => cut.Contains(o.Name) && o.Type.TensorType.ElemType == Float))
        {
            string inner = output.Name + "/float32";
            foreach (var node in graph.Node)
            {
                Rename(node.Input, output.Name, inner);
                Rename(node.Output, output.Name, inner);
            }

            graph.Node.Add(Cast(inner, output.Name, Float16));
            output.Type.TensorType.ElemType = Float16;
        }
    }

    private static void Rename(Google.Protobuf.Collections.RepeatedField<string> names, string from, string to)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (names[i] == from)
                names[i] = to;
        }
    }

    private static NodeProto Cast(string input, string output, int to)
    {
        var node = new NodeProto { OpType = "Cast", Name = $"cut16/{output}" };
        node.Input.Add(input);
        node.Output.Add(output);
        node.Attribute.Add(GraphBuilder.Attr("to", (long)to));
        return node;
    }

    /// <summary>The parts in plan order as one graph, the attention cores as standard ops; the weights stay where they are.</summary>
    private static ModelProto Join(ModelBundle bundle, StepPlan plan)
    {
        var graph = new GraphProto { Name = plan.Network };
        var initializers = new HashSet<string>(StringComparer.Ordinal);
        var inputs = new Dictionary<string, ValueInfoProto>(StringComparer.Ordinal);
        var outputs = new Dictionary<string, ValueInfoProto>(StringComparer.Ordinal);
        ModelProto? first = null;
        foreach (var step in plan.Steps)
        {
            if (step.StepKind != PlanStepKind.RunPart)
            {
                AddAttention(graph, step);
                continue;
            }

            var model = Read(bundle, step.Part!);
            first ??= model;
            // The parts come from one graph, so their node and tensor names are already distinct; an initializer two
            // parts share (a shape constant) is the same tensor and is kept once.
            graph.Node.AddRange(model.Graph.Node);
            graph.Initializer.AddRange(model.Graph.Initializer.Where(i => initializers.Add(i.Name)));
            foreach (var i in model.Graph.Input)
                inputs.TryAdd(i.Name, i);
            foreach (var o in model.Graph.Output)
                outputs.TryAdd(o.Name, o);
        }

        if (first is null)
            throw new BundleException("the UNet plan runs no part.");
        graph.Input.AddRange(plan.Inputs.Select(n => inputs.TryGetValue(n, out var v) ? v : throw new BundleException($"the UNet plan's input '{n}' is read by no part.")));
        graph.Output.AddRange(plan.Outputs.Select(n => outputs.TryGetValue(n, out var v) ? v : throw new BundleException($"the UNet plan's output '{n}' is written by no part.")));
        var whole = new ModelProto { IrVersion = first.IrVersion, ProducerName = "Rain.Models (whole UNet)", ProducerVersion = UNetLayout.RewriteVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), Graph = graph };
        whole.OpsetImport.AddRange(first.OpsetImport);
        return whole;
    }

    /// <summary>out = reshape(softmax(q·kᵀ·scale)·v): q, k, v, out <c>[F, N, C]</c>, attention over F per (n, head).</summary>
    private static void AddAttention(GraphProto graph, PlanStep step)
    {
        int f = step.Frames!.Value, n = step.Tokens!.Value, c = step.Channels!.Value, heads = step.Heads!.Value, d = c / heads;
        string p = $"{step.Name}/attention/";
        graph.Initializer.Add(Int64s(p + "heads_shape", [f, n, heads, d]));
        graph.Initializer.Add(Int64s(p + "out_shape", [f, n, c]));
        var scale = new TensorProto { Name = p + "scale", DataType = 1, RawData = ByteString.CopyFrom(BitConverter.GetBytes(1f / MathF.Sqrt(d))) };
        graph.Initializer.Add(scale);
        string Heads(string tensor, string label, long[] perm)
        {
            graph.Node.Add(Node("Reshape", p + label + "_heads", [tensor, p + "heads_shape"], p + label + "_4d"));
            graph.Node.Add(Node("Transpose", p + label + "_t", [p + label + "_4d"], p + label + "_t", GraphBuilder.Attr("perm", perm)));
            return p + label + "_t";
        }

        string q = Heads(step.Inputs[0], "q", [1, 2, 0, 3]);  // [N, heads, F, d]
        string k = Heads(step.Inputs[1], "k", [1, 2, 3, 0]);  // [N, heads, d, F]
        string v = Heads(step.Inputs[2], "v", [1, 2, 0, 3]);  // [N, heads, F, d]
        graph.Node.Add(Node("MatMul", p + "scores", [q, k], p + "scores"));
        graph.Node.Add(Node("Mul", p + "scaled", [p + "scores", p + "scale"], p + "scaled"));
        graph.Node.Add(Node("Softmax", p + "softmax", [p + "scaled"], p + "probs", GraphBuilder.Attr("axis", -1L)));
        graph.Node.Add(Node("MatMul", p + "weighted", [p + "probs", v], p + "weighted"));
        graph.Node.Add(Node("Transpose", p + "back", [p + "weighted"], p + "back", GraphBuilder.Attr("perm", [2L, 0, 1, 3])));
        graph.Node.Add(Node("Reshape", p + "out", [p + "back", p + "out_shape"], step.Outputs[0]));
    }

    private static NodeProto Node(string op, string name, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        return node;
    }

    private static TensorProto Int64s(string name, long[] values)
    {
        var t = new TensorProto { Name = name, DataType = 7 };
        t.Dims.Add(values.Length);
        t.RawData = ByteString.CopyFrom(values.SelectMany(BitConverter.GetBytes).ToArray());
        return t;
    }
}

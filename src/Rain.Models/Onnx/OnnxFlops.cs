using System.Buffers.Binary;
using Rain.Models.Onnx.Proto;

namespace Rain.Models.Onnx;

/// <summary>
/// The multiply-add work of an exported ONNX model with static shapes: shapes are propagated from the graph inputs and
/// the initializers' dimensions through the operators the exporter writes, and every MatMul and Conv is counted as
/// 2 FLOPs per multiply-add (MatMul: 2·|Y|·K; Conv: 2·|Y|·C_in/groups·k_h·k_w). Element-wise work, normalisations and
/// softmax are not counted. External data is not read.
/// </summary>
/// <param name="MatMul">FLOPs of the MatMul nodes.</param>
/// <param name="Conv">FLOPs of the Conv nodes.</param>
public sealed record OnnxFlops(double MatMul, double Conv)
{
    /// <summary>MatMul and Conv together.</summary>
    public double Total => MatMul + Conv;

    /// <summary>Counts a model file.</summary>
    public static OnnxFlops Count(string path)
    {
        var model = OnnxReport.ReadModel(path);

        try
        {
            return Count(model);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Counts a model held in memory.</summary>
    public static OnnxFlops Count(byte[] modelBytes) => Count(ModelProto.Parser.ParseFrom(modelBytes));

    private static OnnxFlops Count(ModelProto model)
    {
        var g = model.Graph;
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var constants = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in g.Initializer)
        {
            shapes[t.Name] = [.. t.Dims];
            constants[t.Name] = t;
        }

        foreach (var v in g.Input)
            shapes[v.Name] = [.. v.Type.TensorType.Shape.Dim.Select(d => d.DimValue)];

        double matmul = 0, conv = 0;
        foreach (var n in g.Node)
        {
            long[] In(int i) => i < n.Input.Count && n.Input[i].Length > 0 && shapes.TryGetValue(n.Input[i], out var s)
                ? s
                : throw new InvalidDataException($"node '{n.Name}' ({n.OpType}): the shape of input {i} ('{(i < n.Input.Count ? n.Input[i] : "")}') is unknown.");
            long[] Ints(int i) => constants.TryGetValue(n.Input[i], out var t) ? Int64s(t)
                : throw new InvalidDataException($"node '{n.Name}' ({n.OpType}): input {i} ('{n.Input[i]}') is not a constant.");
            AttributeProto? Attr(string name) => n.Attribute.FirstOrDefault(a => a.Name == name);

            long[] output;
            switch (n.OpType)
            {
                case "Cast" or "Cos" or "Sin" or "Erf" or "Identity" or "Sigmoid" or "Tanh" or "Relu" or "Sqrt" or "Exp" or "Neg" or "Abs" or "Clip" or "Softmax" or "InstanceNormalization" or "LayerNormalization":
                    output = In(0);
                    break;
                case "Add" or "Mul" or "Div" or "Sub" or "Pow":
                    output = Broadcast(In(0), In(1));
                    break;
                case "Expand":
                    output = Broadcast(In(0), Ints(1));
                    break;
                case "Reshape":
                {
                    var target = Ints(1);
                    var source = In(0);
                    output = [.. target.Select((d, i) => d == 0 ? source[i] : d)];
                    if (output.Contains(-1))
                    {
                        long known = output.Where(d => d != -1).Aggregate(1L, (a, b) => a * b);
                        output[Array.IndexOf(output, -1)] = Elements(source) / known;
                    }

                    break;
                }

                case "Transpose":
                {
                    var s = In(0);
                    var perm = Attr("perm")?.Ints.ToArray() ?? [.. Enumerable.Range(0, s.Length).Reverse().Select(i => (long)i)];
                    output = [.. perm.Select(p => s[p])];
                    break;
                }

                case "Concat":
                {
                    var first = In(0);
                    int axis = Axis(Attr("axis")!.I, first.Length);
                    output = (long[])first.Clone();
                    output[axis] = Enumerable.Range(0, n.Input.Count).Sum(i => In(i)[axis]);
                    break;
                }

                case "Slice":
                {
                    var s = In(0);
                    var starts = Ints(1);
                    var ends = Ints(2);
                    var axes = n.Input.Count > 3 ? Ints(3) : [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
                    var steps = n.Input.Count > 4 ? Ints(4) : [.. starts.Select(_ => 1L)];
                    output = (long[])s.Clone();
                    for (int i = 0; i < axes.Length; i++)
                    {
                        int a = Axis(axes[i], s.Length);
                        long dim = s[a];
                        long start = Math.Clamp(starts[i] < 0 ? starts[i] + dim : starts[i], 0, dim);
                        long end = Math.Clamp(ends[i] < 0 ? ends[i] + dim : ends[i], 0, dim);
                        output[a] = Math.Max(0, (end - start + steps[i] - 1) / steps[i]);
                    }

                    break;
                }

                case "Resize":
                {
                    var s = In(0);
                    if (n.Input.Count > 3 && n.Input[3].Length > 0)
                    {
                        output = Ints(3);
                    }
                    else
                    {
                        var scales = constants.TryGetValue(n.Input[2], out var t) ? Floats(t) : throw new InvalidDataException($"node '{n.Name}' (Resize): no constant scales.");
                        output = [.. s.Select((d, i) => (long)Math.Floor(d * scales[i]))];
                    }

                    break;
                }

                case "MatMul":
                {
                    var a = In(0);
                    var b = In(1);
                    if (a.Length < 2 || b.Length < 2 || a[^1] != b[^2])
                        throw new InvalidDataException($"node '{n.Name}' (MatMul): [{string.Join(", ", a)}] × [{string.Join(", ", b)}].");
                    output = [.. Broadcast(a[..^2], b[..^2]), a[^2], b[^1]];
                    matmul += 2.0 * Elements(output) * a[^1];
                    break;
                }

                case "Conv":
                {
                    var x = In(0);
                    var w = In(1);
                    int spatial = x.Length - 2;
                    var strides = Attr("strides")?.Ints.ToArray() ?? [.. Enumerable.Repeat(1L, spatial)];
                    var pads = Attr("pads")?.Ints.ToArray() ?? new long[2 * spatial];
                    var dilations = Attr("dilations")?.Ints.ToArray() ?? [.. Enumerable.Repeat(1L, spatial)];
                    output = new long[x.Length];
                    output[0] = x[0];
                    output[1] = w[0];
                    for (int i = 0; i < spatial; i++)
                    {
                        long kernel = ((w[2 + i] - 1) * dilations[i]) + 1;
                        output[2 + i] = ((x[2 + i] + pads[i] + pads[spatial + i] - kernel) / strides[i]) + 1;
                    }

                    long perOutput = w[1] * w[2..].Aggregate(1L, (p, d) => p * d); // C_in/groups · kernel
                    conv += 2.0 * Elements(output) * perOutput;
                    break;
                }

                default:
                    throw new InvalidDataException($"node '{n.Name}': operator {n.OpType} is not one the FLOP count knows.");
            }

            shapes[n.Output[0]] = output;
        }

        return new OnnxFlops(matmul, conv);
    }

    private static int Axis(long axis, int rank) => (int)(axis < 0 ? axis + rank : axis);

    private static long Elements(long[] shape) => shape.Aggregate(1L, (a, b) => a * b);

    private static long[] Broadcast(long[] a, long[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            long db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new InvalidDataException($"shapes [{string.Join(", ", a)}] and [{string.Join(", ", b)}] do not broadcast.");
            result[i] = Math.Max(da, db);
        }

        return result;
    }

    private static long[] Int64s(TensorProto t)
    {
        if (t.Int64Data.Count > 0)
            return [.. t.Int64Data];
        var raw = t.RawData.Span;
        var values = new long[raw.Length / 8];
        for (int i = 0; i < values.Length; i++)
            values[i] = BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]);
        return values;
    }

    private static float[] Floats(TensorProto t)
    {
        if (t.FloatData.Count > 0)
            return [.. t.FloatData];
        var raw = t.RawData.Span;
        var values = new float[raw.Length / 4];
        for (int i = 0; i < values.Length; i++)
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]);
        return values;
    }
}

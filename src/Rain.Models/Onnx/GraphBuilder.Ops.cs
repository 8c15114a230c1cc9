using Rain.Models.Onnx.Proto;

namespace Rain.Models.Onnx;

/// <summary>Operator helpers: each adds the ONNX nodes of one operation and infers the static output shape.</summary>
public sealed partial class GraphBuilder
{
    /// <summary>An int attribute.</summary>
    internal static AttributeProto Attr(string name, long value) => new() { Name = name, I = value, Type = AttributeProto.Types.AttributeType.Int };

    /// <summary>A float attribute.</summary>
    internal static AttributeProto Attr(string name, float value) => new() { Name = name, F = value, Type = AttributeProto.Types.AttributeType.Float };

    /// <summary>A string attribute.</summary>
    internal static AttributeProto Attr(string name, string value) =>
        new() { Name = name, S = Google.Protobuf.ByteString.CopyFromUtf8(value), Type = AttributeProto.Types.AttributeType.String };

    /// <summary>An ints attribute.</summary>
    internal static AttributeProto Attr(string name, long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>2-D convolution (NCHW); <paramref name="pads"/> is [top, left, bottom, right].</summary>
    public string Conv(string label, string x, string w, string? b, int stride, long[] pads)
    {
        var xs = Shape(x);
        var ws = Shape(w);
        if (xs.Length != 4 || ws.Length != 4 || xs[1] != ws[1])
            throw new InvalidOperationException($"{Name}: Conv '{label}' input {Fmt(xs)} does not fit weight {Fmt(ws)}.");
        long oh = ((xs[2] + pads[0] + pads[2] - ws[2]) / stride) + 1;
        long ow = ((xs[3] + pads[1] + pads[3] - ws[3]) / stride) + 1;
        string[] inputs = b is null ? [x, w] : [x, w, b];
        return Node("Conv", label, inputs, [xs[0], ws[0], oh, ow], OnnxDataType.F32,
            Attr("kernel_shape", [ws[2], ws[3]]), Attr("strides", [(long)stride, stride]), Attr("pads", pads), Attr("dilations", [1L, 1]), Attr("group", 1L));
    }

    /// <summary>Elementwise binary op with numpy broadcasting.</summary>
    public string Binary(string op, string label, string a, string b) => Node(op, label, [a, b], Broadcast(Shape(a), Shape(b)));

    /// <summary>a + b.</summary>
    public string Add(string label, string a, string b) => Binary("Add", label, a, b);

    /// <summary>a · b.</summary>
    public string Mul(string label, string a, string b) => Binary("Mul", label, a, b);

    /// <summary>a / b.</summary>
    public string Div(string label, string a, string b) => Binary("Div", label, a, b);

    /// <summary>Elementwise unary op (Sigmoid, Tanh, Relu, Erf, Sin, Cos, …).</summary>
    public string Unary(string op, string label, string x) => Node(op, label, [x], Shape(x));

    /// <summary>x · σ(x).</summary>
    public string SiLU(string label, string x) => Mul(label, x, Unary("Sigmoid", label + "/sigmoid", x));

    /// <summary>Exact GELU, 0.5·x·(1 + erf(x/√2)).</summary>
    public string Gelu(string label, string x)
    {
        var e = Unary("Erf", label + "/erf", Mul(label + "/scale", x, Constant("inv_sqrt2", [0.70710678118654752f]))); // torch multiplies by M_SQRT1_2
        var onePlus = Add(label + "/one_plus", e, Constant("one", [1f]));
        return Mul(label, Mul(label + "/half_x", x, Constant("half", [0.5f])), onePlus);
    }

    /// <summary>CLIP's quick GELU, x·σ(1.702·x).</summary>
    public string QuickGelu(string label, string x) =>
        Mul(label, x, Unary("Sigmoid", label + "/sigmoid", Mul(label + "/scale", x, Constant("quick_gelu", [1.702f]))));

    /// <summary>Clamp to [min, max] (opset 11+ Clip with min and max as inputs).</summary>
    public string Clip(string label, string x, float min, float max) =>
        Node("Clip", label, [x, Constant("clip_min", [min]), Constant("clip_max", [max])], Shape(x));

    /// <summary>Cast to another element type.</summary>
    public string Cast(string label, string x, OnnxDataType to) => Node("Cast", label, [x], Shape(x), to, Attr("to", (long)to));

    /// <summary>Reshape to a fully specified static shape.</summary>
    public string Reshape(string label, string x, params long[] shape)
    {
        var info = Info(x);
        if (shape.Aggregate(1L, (a, b) => a * b) != info.ElementCount)
            throw new InvalidOperationException($"{Name}: Reshape '{label}' from {Fmt(info.Shape)} to {Fmt(shape)}.");
        return Node("Reshape", label, [x, ConstantInt64("shape", shape)], shape, info.Type);
    }

    /// <summary>Transpose with a permutation.</summary>
    public string Transpose(string label, string x, params long[] perm)
    {
        var s = Shape(x);
        return Node("Transpose", label, [x], perm.Select(p => s[p]).ToArray(), Info(x).Type, Attr("perm", perm));
    }

    /// <summary>Concatenation along an axis.</summary>
    public string Concat(string label, int axis, params string[] inputs)
    {
        var shape = (long[])Shape(inputs[0]).Clone();
        shape[axis] = inputs.Sum(i => Shape(i)[axis]);
        return Node("Concat", label, inputs, shape, Info(inputs[0]).Type, Attr("axis", (long)axis));
    }

    /// <summary>Slice [start, end) along one axis.</summary>
    public string Slice(string label, string x, int axis, long start, long end)
    {
        var shape = (long[])Shape(x).Clone();
        shape[axis] = end - start;
        return Node("Slice", label, [x, ConstantInt64("starts", start), ConstantInt64("ends", end), ConstantInt64("axes", axis)], shape, Info(x).Type);
    }

    /// <summary>Broadcast to a shape.</summary>
    public string Expand(string label, string x, params long[] shape) => Node("Expand", label, [x, ConstantInt64("shape", shape)], shape, Info(x).Type);

    /// <summary>Softmax along the last axis.</summary>
    public string Softmax(string label, string x) => Node("Softmax", label, [x], Shape(x), OnnxDataType.F32, Attr("axis", -1L));

    /// <summary>Matrix product with batch broadcasting.</summary>
    public string MatMul(string label, string a, string b)
    {
        var sa = Shape(a);
        var sb = Shape(b);
        if (sa[^1] != sb[^2])
            throw new InvalidOperationException($"{Name}: MatMul '{label}' {Fmt(sa)} × {Fmt(sb)}.");
        var batch = Broadcast(sa[..^2], sb[..^2]);
        return Node("MatMul", label, [a, b], [.. batch, sa[^2], sb[^1]]);
    }

    /// <summary>Nearest-neighbour ×2 upsampling of H and W (PyTorch <c>interpolate(scale_factor=2, mode="nearest")</c>).</summary>
    public string Upsample2x(string label, string x)
    {
        var s = Shape(x);
        return Node("Resize", label, [x, "", Constant("scales", [1f, 1f, 2f, 2f], 4)], [s[0], s[1], s[2] * 2, s[3] * 2], OnnxDataType.F32,
            Attr("mode", "nearest"), Attr("coordinate_transformation_mode", "asymmetric"), Attr("nearest_mode", "floor"));
    }

    /// <summary>
    /// GroupNorm on NCHW. Opset 17 has no GroupNormalization (it arrived in opset 18), so it is written as
    /// Reshape [N, G, −1] → InstanceNormalization (unit scale, zero bias) → Reshape → per-channel affine. TensorRT maps
    /// that InstanceNormalization to its native plugin when the parser flag NATIVE_INSTANCENORM is set.
    /// </summary>
    public string GroupNorm(string label, string x, int groups, float eps, string gamma, string beta)
    {
        var s = Shape(x);
        var grouped = Reshape(label + "/group", x, s[0], groups, s[1] / groups * s[2] * s[3]);
        var ones = Constant("ones", Enumerable.Repeat(1f, groups).ToArray(), groups);
        var zeros = Constant("zeros", new float[groups], groups);
        var normed = Node("InstanceNormalization", label + "/instance_norm", [grouped, ones, zeros], Shape(grouped), OnnxDataType.F32, Attr("epsilon", eps));
        var back = Reshape(label + "/ungroup", normed, s);
        return Add(label, Mul(label + "/scale", back, gamma), beta);
    }

    /// <summary>LayerNormalization over the last axis (opset 17).</summary>
    public string LayerNorm(string label, string x, string scale, string bias, float eps) =>
        Node("LayerNormalization", label, [x, scale, bias], Shape(x), OnnxDataType.F32, Attr("axis", -1L), Attr("epsilon", eps));

    /// <summary>
    /// Multi-head attention on [B, L, C] tensors (k and v may have batch 1 and broadcast): softmax(Q·Kᵀ·scale)·V per head.
    /// </summary>
    public string Attention(string label, string q, string k, string v, int heads, float scale)
    {
        var qs = Shape(q);
        var ks = Shape(k);
        long c = qs[2], d = c / heads;
        var q4 = Transpose(label + "/q_heads", Reshape(label + "/q_split", q, qs[0], qs[1], heads, d), 0, 2, 1, 3);
        var k4 = Transpose(label + "/k_heads", Reshape(label + "/k_split", k, ks[0], ks[1], heads, d), 0, 2, 3, 1);
        var v4 = Transpose(label + "/v_heads", Reshape(label + "/v_split", v, ks[0], ks[1], heads, d), 0, 2, 1, 3);
        var scores = Mul(label + "/scale", MatMul(label + "/scores", q4, k4), Constant("attn_scale", [scale]));
        var o = MatMul(label + "/weighted", Softmax(label + "/softmax", scores), v4);
        return Reshape(label, Transpose(label + "/merge", o, 0, 2, 1, 3), qs[0], qs[1], c);
    }

    /// <summary>
    /// The temporal attention core on [F, N, C] q, k, v: for every position n and head, softmax over the F frames.
    /// Inline ONNX nodes, or a <see cref="CrossNoiseCut"/> when <see cref="CutTemporalAttention"/> is set.
    /// </summary>
    public string TemporalAttentionCore(string label, string q, string k, string v, int heads)
    {
        if (CutTemporalAttention)
            return AddCut(label, q, k, v, heads);
        var s = Shape(q);
        long f = s[0], n = s[1], c = s[2], d = c / heads;
        var q4 = Transpose(label + "/q_heads", Reshape(label + "/q_split", q, f, n, heads, d), 1, 2, 0, 3);
        var k4 = Transpose(label + "/k_heads", Reshape(label + "/k_split", k, f, n, heads, d), 1, 2, 3, 0);
        var v4 = Transpose(label + "/v_heads", Reshape(label + "/v_split", v, f, n, heads, d), 1, 2, 0, 3);
        var scores = Mul(label + "/scale", MatMul(label + "/scores", q4, k4), Constant("attn_scale", [1f / MathF.Sqrt(d)]));
        var o = MatMul(label + "/weighted", Softmax(label + "/softmax", scores), v4);
        return Reshape(label, Transpose(label + "/merge", o, 2, 0, 1, 3), f, n, c);
    }

    internal static long[] Broadcast(long[] a, long[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var r = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            long db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new InvalidOperationException($"Shapes {Fmt(a)} and {Fmt(b)} do not broadcast.");
            r[i] = Math.Max(da, db);
        }

        return r;
    }

    private static string Fmt(long[] s) => "[" + string.Join(", ", s) + "]";
}

using Rain.Models.Onnx;

namespace Rain.Models.Networks;

/// <summary>Building blocks shared by the RAIN networks, keyed by PyTorch module paths.</summary>
internal static class Layers
{
    /// <summary>k×k convolution with PyTorch weights <c>{prefix}.weight [out, in, k, k]</c> (+ <c>.bias</c>).</summary>
    public static string Conv(GraphBuilder g, string prefix, string x, long outChannels, int kernel, int stride, int pad, bool bias = true) =>
        Conv(g, prefix, x, outChannels, kernel, stride, [pad, pad, pad, pad], bias);

    /// <summary>Convolution with explicit [top, left, bottom, right] padding.</summary>
    public static string Conv(GraphBuilder g, string prefix, string x, long outChannels, int kernel, int stride, long[] pads, bool bias = true)
    {
        long cin = g.Shape(x)[1];
        var w = g.Weight(prefix + ".weight", [outChannels, cin, kernel, kernel]);
        var b = bias ? g.Weight(prefix + ".bias", [outChannels]) : null;
        return g.Conv(prefix, x, w, b, stride, pads);
    }

    /// <summary>Linear layer on the last axis: <c>{prefix}.weight [out, in]</c> (+ <c>.bias [out]</c>).</summary>
    public static string Linear(GraphBuilder g, string prefix, string x, long outFeatures, bool bias = true)
    {
        long inFeatures = g.Shape(x)[^1];
        var y = g.MatMul(prefix, x, g.LinearWeight(prefix + ".weight", outFeatures, inFeatures));
        return bias ? g.Add(prefix + "/bias", y, g.Weight(prefix + ".bias", [outFeatures])) : y;
    }

    /// <summary>GroupNorm with affine parameters <c>{prefix}.weight/.bias [C]</c> on NCHW.</summary>
    public static string GroupNorm(GraphBuilder g, string prefix, string x, int groups, float eps)
    {
        long c = g.Shape(x)[1];
        if (c % groups != 0)
            throw new InvalidOperationException($"{prefix}: {c} channels cannot form {groups} groups.");
        var gamma = g.Weight(prefix + ".weight", [c], [c, 1, 1]);
        var beta = g.Weight(prefix + ".bias", [c], [c, 1, 1]);
        return g.GroupNorm(prefix, x, groups, eps, gamma, beta);
    }

    /// <summary>LayerNorm over the last axis with <c>{prefix}.weight/.bias</c>.</summary>
    public static string LayerNorm(GraphBuilder g, string prefix, string x, float eps)
    {
        long c = g.Shape(x)[^1];
        return g.LayerNorm(prefix, x, g.Weight(prefix + ".weight", [c]), g.Weight(prefix + ".bias", [c]), eps);
    }

    /// <summary>
    /// diffusers ResnetBlock2D (and RAIN's ResnetBlock3D with frames folded into the batch): GN → SiLU → conv →
    /// + time projection (one row per batch item) → GN → SiLU → conv, plus a 1×1 shortcut when channels change.
    /// </summary>
    public static string Resnet(GraphBuilder g, string prefix, string x, string? temb, long outChannels, int groups, float eps)
    {
        long cin = g.Shape(x)[1];
        var h = g.SiLU(prefix + ".act1", GroupNorm(g, prefix + ".norm1", x, groups, eps));
        h = Conv(g, prefix + ".conv1", h, outChannels, 3, 1, 1);
        if (temb is not null)
        {
            var t = Linear(g, prefix + ".time_emb_proj", g.SiLU(prefix + ".temb_act", temb), outChannels);
            var ts = g.Shape(t);
            h = g.Add(prefix + ".add_temb", h, g.Reshape(prefix + ".temb_4d", t, ts[0], ts[1], 1, 1));
        }

        h = g.SiLU(prefix + ".act2", GroupNorm(g, prefix + ".norm2", h, groups, eps));
        h = Conv(g, prefix + ".conv2", h, outChannels, 3, 1, 1);
        var shortcut = cin != outChannels ? Conv(g, prefix + ".conv_shortcut", x, outChannels, 1, 1, 0) : x;
        return g.Add(prefix + ".residual", shortcut, h);
    }

    /// <summary>NCHW → tokens [N, H·W, C].</summary>
    public static string ToTokens(GraphBuilder g, string label, string x)
    {
        var s = g.Shape(x);
        return g.Transpose(label, g.Reshape(label + "/flatten", x, s[0], s[1], s[2] * s[3]), 0, 2, 1);
    }

    /// <summary>Tokens [N, H·W, C] → NCHW.</summary>
    public static string FromTokens(GraphBuilder g, string label, string tokens, long height, long width)
    {
        var s = g.Shape(tokens);
        return g.Reshape(label, g.Transpose(label + "/transpose", tokens, 0, 2, 1), s[0], s[2], height, width);
    }

    /// <summary>diffusers GEGLU feed-forward: [a, b] = W_in·x + b_in; W_out·(a ⊙ GELU(b)) + b_out.</summary>
    public static string GegluFeedForward(GraphBuilder g, string prefix, string x)
    {
        long c = g.Shape(x)[^1];
        var proj = Linear(g, prefix + ".net.0.proj", x, 8 * c);
        int axis = g.Shape(proj).Length - 1;
        var a = g.Slice(prefix + ".net.0.value", proj, axis, 0, 4 * c);
        var gate = g.Slice(prefix + ".net.0.gate", proj, axis, 4 * c, 8 * c);
        var h = g.Mul(prefix + ".net.0.geglu", a, g.Gelu(prefix + ".net.0.gelu", gate));
        return Linear(g, prefix + ".net.2", h, c);
    }
}

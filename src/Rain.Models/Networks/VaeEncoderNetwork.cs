using Rain.Models.Config;
using Rain.Models.Onnx;
using Rain.Models.Weights;
using Rain.Engine.Bundle;

namespace Rain.Models.Networks;

/// <summary>
/// The SD VAE encoder as RAIN uses it (spec §2.2): diffusers 0.24 <c>Encoder</c> + <c>quant_conv</c>, returning the
/// posterior mean times <c>scaling_factor</c>. Configured from the Hugging Face <c>config.json</c> of the VAE folder.
/// Input <c>images [1, 3, H, W]</c> in [−1, 1]; output <c>latents [1, latent_channels, H/8, W/8]</c>. Decoder keys are
/// accepted and unused; the pre-0.14 attention names (query/key/value/proj_attn) are accepted as well.
/// </summary>
public static class VaeEncoderNetwork
{
    // diffusers hard-codes these for the VAE encoder (they are not in config.json).
    private const float Eps = 1e-6f;

    /// <summary>Builds the encoder for images of <paramref name="height"/>×<paramref name="width"/>.</summary>
    public static GraphBuilder Build(JsonConfig config, IWeightSource weights, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(config);
        var g = new GraphBuilder(NetworkNames.VaeEncoder, new WeightBinder(weights));
        foreach (var key in weights.Keys.Where(k => k.StartsWith("decoder.", StringComparison.Ordinal) || k.StartsWith("post_quant_conv.", StringComparison.Ordinal)))
            g.Weights.Ignore(key);
        var channels = config.GetInts("block_out_channels");
        int layers = config.GetInt("layers_per_block");
        int groups = config.GetInt("norm_num_groups");
        int latentChannels = config.GetInt("latent_channels");
        float scaling = config.GetFloat("scaling_factor", 0.18215f);
        foreach (int c in channels)
        {
            if (c % groups != 0)
                throw config.Unsupported("block_out_channels", c.ToString(System.Globalization.CultureInfo.InvariantCulture), $"not divisible by norm_num_groups = {groups}");
        }

        int factor = 1 << (channels.Length - 1);
        if (height % factor != 0 || width % factor != 0)
            throw new ModelExportException($"{config.Path}: {channels.Length} blocks halve the image {channels.Length - 1} times; {height}×{width} is not a multiple of {factor}.");

        var x = Layers.Conv(g, "encoder.conv_in", g.Input("images", OnnxDataType.F32, 1, config.GetInt("in_channels", 3), height, width), channels[0], 3, 1, 1);
        for (int i = 0; i < channels.Length; i++)
        {
            for (int j = 0; j < layers; j++)
                x = Layers.Resnet(g, $"encoder.down_blocks.{i}.resnets.{j}", x, null, channels[i], groups, Eps);
            if (i < channels.Length - 1)
                x = Layers.Conv(g, $"encoder.down_blocks.{i}.downsamplers.0.conv", x, channels[i], 3, 2, [0L, 0, 1, 1]); // diffusers pads (0,1,0,1) then convolves unpadded
        }

        x = Layers.Resnet(g, "encoder.mid_block.resnets.0", x, null, channels[^1], groups, Eps);
        x = MidAttention(g, "encoder.mid_block.attentions.0", x, groups);
        x = Layers.Resnet(g, "encoder.mid_block.resnets.1", x, null, channels[^1], groups, Eps);
        x = g.SiLU("encoder.conv_act", Layers.GroupNorm(g, "encoder.conv_norm_out", x, groups, Eps));
        x = Layers.Conv(g, "encoder.conv_out", x, 2 * latentChannels, 3, 1, 1);
        x = Layers.Conv(g, "quant_conv", x, 2 * latentChannels, 1, 1, 0);
        var mean = g.Slice("latent_mean", x, 1, 0, latentChannels);
        g.Output(g.Mul("scale_latents", mean, g.Constant("scaling_factor", [scaling])), "latents");
        g.Weights.EnsureAllConsumed();
        return g;
    }

    private static string MidAttention(GraphBuilder g, string prefix, string x, int groups)
    {
        var s = g.Shape(x);
        bool legacy = g.Weights.Has(prefix + ".query.weight");
        string q = legacy ? "query" : "to_q", k = legacy ? "key" : "to_k", v = legacy ? "value" : "to_v", o = legacy ? "proj_attn" : "to_out.0";
        var tokens = Layers.ToTokens(g, prefix + ".tokens", Layers.GroupNorm(g, prefix + ".group_norm", x, groups, Eps));
        var a = g.Attention(prefix + ".attention",
            Layers.Linear(g, $"{prefix}.{q}", tokens, s[1]),
            Layers.Linear(g, $"{prefix}.{k}", tokens, s[1]),
            Layers.Linear(g, $"{prefix}.{v}", tokens, s[1]),
            heads: 1,
            scale: 1f / MathF.Sqrt(s[1]));
        var h = Layers.FromTokens(g, prefix + ".spatial", Layers.Linear(g, $"{prefix}.{o}", a, s[1]), s[2], s[3]);
        return g.Add(prefix + ".residual", h, x);
    }
}

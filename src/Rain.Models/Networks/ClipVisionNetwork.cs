using Rain.Models.Config;
using Rain.Models.Onnx;
using Rain.Models.Weights;
using Rain.Engine.Bundle;

namespace Rain.Models.Networks;

/// <summary>
/// CLIP vision with projection (transformers <c>CLIPVisionModelWithProjection</c>, spec §2.1): patch embedding, class
/// token and learned positions, pre-LayerNorm, pre-LN encoder layers (quick-GELU MLP), CLS pooling, post-LayerNorm and
/// the visual projection. Configured from the image encoder's <c>config.json</c>. Input <c>pixel_values [1, 3, S, S]</c>
/// (already CLIP-normalised); outputs <c>image_embeds [1, projection_dim]</c> and <c>last_hidden_state</c>.
/// </summary>
public static class ClipVisionNetwork
{
    /// <summary>Builds the encoder.</summary>
    public static GraphBuilder Build(JsonConfig config, IWeightSource weights)
    {
        ArgumentNullException.ThrowIfNull(config);
        var g = new GraphBuilder(NetworkNames.ClipVision, new WeightBinder(weights));
        g.Weights.Ignore("vision_model.embeddings.position_ids");
        int d = config.GetInt("hidden_size");
        int heads = config.GetInt("num_attention_heads");
        int layers = config.GetInt("num_hidden_layers");
        int mlp = config.GetInt("intermediate_size");
        int projection = config.GetInt("projection_dim");
        int size = config.GetInt("image_size");
        int patch = config.GetInt("patch_size");
        float eps = config.GetFloat("layer_norm_eps", 1e-5f);
        string act = config.GetText("hidden_act", "quick_gelu");
        if (d % heads != 0)
            throw config.Unsupported("hidden_size", d.ToString(System.Globalization.CultureInfo.InvariantCulture), $"not divisible by num_attention_heads = {heads}");
        if (size % patch != 0)
            throw config.Unsupported("image_size", size.ToString(System.Globalization.CultureInfo.InvariantCulture), $"not a multiple of patch_size = {patch}");
        if (act is not ("quick_gelu" or "gelu"))
            throw config.Unsupported("hidden_act", act, "only quick_gelu and gelu are implemented");

        const string E = "vision_model.embeddings";
        int grid = size / patch, tokens = (grid * grid) + 1;
        var pixels = g.Input("pixel_values", OnnxDataType.F32, 1, config.GetInt("num_channels", 3), size, size);
        var patches = Layers.ToTokens(g, E + ".patch_tokens", Layers.Conv(g, E + ".patch_embedding", pixels, d, patch, patch, 0, bias: false));
        var cls = g.Weight(E + ".class_embedding", [d], [1, 1, d]);
        var x = g.Concat(E + ".with_class", 1, cls, patches);
        x = g.Add(E + ".positions", x, g.Weight(E + ".position_embedding.weight", [tokens, d]));
        x = Layers.LayerNorm(g, "vision_model.pre_layrnorm", x, eps);
        for (int i = 0; i < layers; i++)
        {
            string p = $"vision_model.encoder.layers.{i}";
            var h = Layers.LayerNorm(g, p + ".layer_norm1", x, eps);
            var a = g.Attention(p + ".self_attn",
                Layers.Linear(g, p + ".self_attn.q_proj", h, d),
                Layers.Linear(g, p + ".self_attn.k_proj", h, d),
                Layers.Linear(g, p + ".self_attn.v_proj", h, d),
                heads,
                1f / MathF.Sqrt(d / heads));
            x = g.Add(p + ".attn_residual", x, Layers.Linear(g, p + ".self_attn.out_proj", a, d));
            h = Layers.Linear(g, p + ".mlp.fc1", Layers.LayerNorm(g, p + ".layer_norm2", x, eps), mlp);
            h = act == "quick_gelu" ? g.QuickGelu(p + ".mlp.act", h) : g.Gelu(p + ".mlp.act", h);
            x = g.Add(p + ".mlp_residual", x, Layers.Linear(g, p + ".mlp.fc2", h, d));
        }

        g.Output(x, "last_hidden_state");
        var pooled = g.Reshape("vision_model.pooled", g.Slice("vision_model.cls_token", x, 1, 0, 1), 1, d);
        pooled = Layers.LayerNorm(g, "vision_model.post_layernorm", pooled, eps);
        g.Output(Layers.Linear(g, "visual_projection", pooled, projection, bias: false), TensorNames.ImageEmbeds);
        g.Weights.EnsureAllConsumed();
        return g;
    }
}

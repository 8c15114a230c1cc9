using Rain.Models.Config;
using Rain.Models.Onnx;
using Rain.Models.Weights;
using Rain.Engine.Bundle;

namespace Rain.Models.Networks;

/// <summary>
/// RAIN's two UNets over one shared block layout (spec §2.3, §2.5): the ReferenceNet (one frame at t = 0, returns the 16
/// LN₁ taps d00…u32), the reference fold (the taps' keys and values and the CLIP cross-attention's constant row, computed
/// once per reference) and the denoising UNet (F frames with per-frame timesteps, guidance embedding, pose features added
/// after conv_in, the folded reference keys and values in every spatial self-attention and motion modules after every layer).
/// Layout inside is frame-major [F, C, h, w]; taps are [1, h·w, C].
/// </summary>
public static class UNetNetwork
{
    /// <summary>
    /// Builds the ReferenceNet: inputs <c>latents [1, 4, h, w]</c> and <c>encoder_hidden_states [1, 1, D]</c>, outputs the
    /// taps. Work after the last tap is dead and is dropped when the graph is written; its weights are still checked.
    /// </summary>
    public static GraphBuilder BuildReference(UNetConfig cfg, IWeightSource weights, int latentHeight, int latentWidth)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var g = new GraphBuilder(NetworkNames.ReferenceUNet, new WeightBinder(weights));
        var x = g.Input("latents", OnnxDataType.F32, 1, cfg.InChannels, latentHeight, latentWidth);
        var ehs = g.Input(TensorNames.EncoderHiddenStates, OnnxDataType.F32, 1, 1, cfg.CrossAttentionDim);
        var t = g.Constant("timestep_zero", [0f], 1); // RAIN runs the ReferenceNet at t = 0 (spec §2.3)
        var emb = UNetBlocks.TimeEmbedding(g, cfg, t, null);
        Body(g, cfg, null, x, emb, ehs, null, tap => g.Output(tap.Tensor, tap.Name));
        g.Weights.EnsureAllConsumed();
        return g;
    }

    /// <summary>
    /// Builds the reference fold (DESIGN §6): what every spatial transformer of the denoising UNet computes from the
    /// reference alone, once per reference instead of in every step. Inputs <c>encoder_hidden_states [1, 1, D]</c> and the
    /// ReferenceNet's taps <c>[1, h·w, C]</c>; per tap the outputs <c>{tap}.k</c> and <c>{tap}.v</c> (the tap through the
    /// UNet's attn1.to_k / to_v, <c>[1, h·w, C]</c>) and <c>{tap}.cross</c> (attn2.to_out(attn2.to_v(clip)), <c>[1, 1, C]</c>).
    /// Takes the denoising UNet's weights; it uses only those keys (the UNet itself checks all of them).
    /// </summary>
    public static GraphBuilder BuildReferenceFold(UNetConfig cfg, IWeightSource weights, int latentHeight, int latentWidth)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var g = new GraphBuilder(NetworkNames.ReferenceFold, new WeightBinder(weights));
        var ehs = g.Input(TensorNames.EncoderHiddenStates, OnnxDataType.F32, 1, 1, cfg.CrossAttentionDim);
        foreach (var t in SpatialTransformers(cfg))
        {
            long channels = ChannelsAt(cfg, t.Level);
            var tap = g.Input(t.Tap, OnnxDataType.F32, 1, TokensAt(t.Level, latentHeight, latentWidth), channels);
            var folded = UNetBlocks.FoldReference(g, t.Prefix + ".transformer_blocks.0", tap, ehs, channels);
            g.Output(folded.Keys, TensorNames.ReferenceKeys(t.Tap));
            g.Output(folded.Values, TensorNames.ReferenceValues(t.Tap));
            g.Output(folded.Cross, TensorNames.ReferenceCross(t.Tap));
        }

        return g;
    }

    /// <summary>
    /// Builds the denoising UNet for <paramref name="frames"/> frames: inputs <c>sample [F, 4, h, w]</c>,
    /// <c>timestep [F]</c> (int64), <c>pose_cond_fea [F, C0, h, w]</c>, <c>timestep_cond [1, cond_proj_dim]</c> and per
    /// spatial transformer the reference fold's <c>{tap}.k</c>, <c>{tap}.v</c> and <c>{tap}.cross</c>; output
    /// <c>model_output [F, 4, h, w]</c>. With <paramref name="cut"/> the temporal attention cores become cross-noise cuts
    /// (see <see cref="GraphPartitioner"/>).
    /// </summary>
    public static GraphBuilder BuildDenoising(UNetConfig cfg, MotionModuleConfig mm, IWeightSource weights, int frames, int latentHeight, int latentWidth, bool cut)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentNullException.ThrowIfNull(mm);
        mm.Validate(cfg, frames);
        var g = new GraphBuilder(cut ? NetworkNames.UNet : "unet_whole", new WeightBinder(weights)) { CutTemporalAttention = cut };
        var x = g.Input("sample", OnnxDataType.F32, frames, cfg.InChannels, latentHeight, latentWidth);
        var timestep = g.Input("timestep", OnnxDataType.I64, frames);
        var pose = g.Input("pose_cond_fea", OnnxDataType.F32, frames, cfg.BlockOutChannels[0], latentHeight, latentWidth);
        var cond = mm.CondProjDim > 0 ? g.Input("timestep_cond", OnnxDataType.F32, 1, mm.CondProjDim) : null;
        var folded = new Dictionary<string, UNetBlocks.FoldedReference>(StringComparer.Ordinal);
        foreach (var t in SpatialTransformers(cfg))
        {
            long channels = ChannelsAt(cfg, t.Level), tokens = TokensAt(t.Level, latentHeight, latentWidth);
            folded[t.Tap] = new(
                g.Input(TensorNames.ReferenceKeys(t.Tap), OnnxDataType.F32, 1, tokens, channels),
                g.Input(TensorNames.ReferenceValues(t.Tap), OnnxDataType.F32, 1, tokens, channels),
                g.Input(TensorNames.ReferenceCross(t.Tap), OnnxDataType.F32, 1, 1, channels));
        }

        var emb = UNetBlocks.TimeEmbedding(g, cfg, g.Cast("time_proj.t_float", timestep, OnnxDataType.F32), cond);
        var h = Body(g, cfg, mm, x, emb, null, folded, _ => { }, pose);
        h = g.SiLU("conv_act", Layers.GroupNorm(g, "conv_norm_out", h, cfg.NormGroups, cfg.NormEps));
        g.Output(Layers.Conv(g, "conv_out", h, cfg.OutChannels, 3, 1, 1), TensorNames.ModelOutput);
        g.Weights.EnsureAllConsumed();
        return g;
    }

    /// <summary>Tap names in UNet order with the level (number of halvings) of each.</summary>
    public static IReadOnlyList<(string Name, int Level)> TapNames(UNetConfig cfg) =>
        [.. SpatialTransformers(cfg).Select(t => (t.Tap, t.Level))];

    /// <summary>One spatial transformer: its module prefix, the name of its tap and its level (number of halvings).</summary>
    internal sealed record SpatialTransformerSite(string Prefix, string Tap, int Level);

    /// <summary>The spatial transformers in UNet order (down, mid, up), as <see cref="Body"/> meets them.</summary>
    internal static IReadOnlyList<SpatialTransformerSite> SpatialTransformers(UNetConfig cfg)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        int levels = cfg.BlockOutChannels.Length;
        var sites = new List<SpatialTransformerSite>();
        for (int i = 0; i < levels; i++)
        {
            if (cfg.DownHasAttention[i])
                sites.AddRange(Enumerable.Range(0, cfg.LayersPerBlock).Select(j => new SpatialTransformerSite($"down_blocks.{i}.attentions.{j}", $"d{i}{j}", i)));
        }

        sites.Add(new("mid_block.attentions.0", "m", levels - 1));
        for (int i = 0; i < levels; i++)
        {
            if (cfg.UpHasAttention[i])
                sites.AddRange(Enumerable.Range(0, cfg.LayersPerBlock + 1).Select(j => new SpatialTransformerSite($"up_blocks.{i}.attentions.{j}", $"u{i}{j}", levels - 1 - i)));
        }

        return sites;
    }

    private static long ChannelsAt(UNetConfig cfg, int level) => level < cfg.BlockOutChannels.Length ? cfg.BlockOutChannels[level] : cfg.BlockOutChannels[^1];

    private static long TokensAt(int level, int latentHeight, int latentWidth) => latentHeight / (1L << level) * (latentWidth / (1L << level));

    private sealed record Tap(string Name, string Tensor);

    // The ReferenceNet passes the CLIP embedding and no fold (its transformers as written, taps captured); the denoising
    // UNet passes the fold of every transformer and no embedding.
    private static string Body(GraphBuilder g, UNetConfig cfg, MotionModuleConfig? mm, string x, string emb, string? ehs, Dictionary<string, UNetBlocks.FoldedReference>? folded, Action<Tap> onTap, string? pose = null)
    {
        int levels = cfg.BlockOutChannels.Length;
        float eps = cfg.NormEps;
        string Transformer(string prefix, string h, string tap) => folded is not null
            ? UNetBlocks.SpatialTransformer(g, cfg, prefix, h, null, folded[tap], null)
            : UNetBlocks.SpatialTransformer(g, cfg, prefix, h, ehs, null, n1 => onTap(new Tap(tap, n1)));
        bool Motion(int factor, bool up) => mm is not null && mm.Resolutions.Contains(factor) && (up || !mm.DecoderOnly);

        x = Layers.Conv(g, "conv_in", x, cfg.BlockOutChannels[0], 3, 1, 1);
        if (pose is not null)
            x = g.Add("pose_cond_fea.add", x, pose); // RAIN adds the pose features right after conv_in (spec §2.5.1)
        var skips = new Stack<string>();
        skips.Push(x);
        for (int i = 0; i < levels; i++)
        {
            for (int j = 0; j < cfg.LayersPerBlock; j++)
            {
                x = Layers.Resnet(g, $"down_blocks.{i}.resnets.{j}", x, emb, cfg.BlockOutChannels[i], cfg.NormGroups, eps);
                if (cfg.DownHasAttention[i])
                    x = Transformer($"down_blocks.{i}.attentions.{j}", x, $"d{i}{j}");
                if (Motion(1 << i, up: false))
                    x = UNetBlocks.MotionModule(g, mm!, $"down_blocks.{i}.motion_modules.{j}", x);
                skips.Push(x);
            }

            if (i < levels - 1)
            {
                x = Layers.Conv(g, $"down_blocks.{i}.downsamplers.0.conv", x, cfg.BlockOutChannels[i], 3, 2, 1);
                skips.Push(x);
            }
        }

        long mid = cfg.BlockOutChannels[^1];
        x = Layers.Resnet(g, "mid_block.resnets.0", x, emb, mid, cfg.NormGroups, eps);
        x = Transformer("mid_block.attentions.0", x, "m");
        if (mm is not null && mm.MidBlock)
            x = UNetBlocks.MotionModule(g, mm, "mid_block.motion_modules.0", x);
        x = Layers.Resnet(g, "mid_block.resnets.1", x, emb, mid, cfg.NormGroups, eps);

        for (int i = 0; i < levels; i++)
        {
            long cout = cfg.BlockOutChannels[levels - 1 - i];
            for (int j = 0; j <= cfg.LayersPerBlock; j++)
            {
                x = g.Concat($"up_blocks.{i}.resnets.{j}.skip", 1, x, skips.Pop());
                x = Layers.Resnet(g, $"up_blocks.{i}.resnets.{j}", x, emb, cout, cfg.NormGroups, eps);
                if (cfg.UpHasAttention[i])
                    x = Transformer($"up_blocks.{i}.attentions.{j}", x, $"u{i}{j}");
                if (Motion(1 << (levels - 1 - i), up: true))
                    x = UNetBlocks.MotionModule(g, mm!, $"up_blocks.{i}.motion_modules.{j}", x);
            }

            if (i < levels - 1)
                x = Layers.Conv(g, $"up_blocks.{i}.upsamplers.0.conv", g.Upsample2x($"up_blocks.{i}.upsamplers.0.interpolate", x), cout, 3, 1, 1);
        }

        return x;
    }
}

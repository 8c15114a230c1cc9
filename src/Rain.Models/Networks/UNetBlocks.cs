using Rain.Models.Config;
using Rain.Models.Onnx;

namespace Rain.Models.Networks;

/// <summary>The UNet's building blocks: time embedding, spatial transformer (with reference concatenation) and motion module.</summary>
internal static class UNetBlocks
{
    private const float TransformerGroupNormEps = 1e-6f; // diffusers Transformer2DModel / RAIN Transformer3DModel
    private const float LayerNormEps = 1e-5f;
    private const float MotionGroupNormEps = 1e-6f;

    /// <summary>
    /// diffusers Timesteps + TimestepEmbedding: sinusoid of t (float [B]) with C0 = block_out_channels[0] features,
    /// plus cond_proj(timestep_cond) when given, then linear_1 → SiLU → linear_2. Frequencies follow diffusers' float32
    /// steps (−ln 10000·k / (half − shift), then exp) so the arguments match.
    /// </summary>
    public static string TimeEmbedding(GraphBuilder g, UNetConfig cfg, string t, string? cond)
    {
        int c0 = cfg.BlockOutChannels[0], half = c0 / 2;
        var freqs = new float[half];
        float logMax = (float)-Math.Log(10000.0);
        for (int k = 0; k < half; k++)
            freqs[k] = MathF.Exp(logMax * k / (half - cfg.FreqShift));
        long batch = g.Shape(t)[0];
        var args = g.Mul("time_proj.args", g.Reshape("time_proj.t", t, batch, 1), g.Constant("time_freqs", freqs, 1, half));
        var sin = g.Unary("Sin", "time_proj.sin", args);
        var cos = g.Unary("Cos", "time_proj.cos", args);
        var emb = cfg.FlipSinToCos ? g.Concat("time_proj", 1, cos, sin) : g.Concat("time_proj", 1, sin, cos);
        if (cond is not null)
            emb = g.Add("time_embedding.add_cond", emb, Layers.Linear(g, "time_embedding.cond_proj", cond, c0, bias: false));
        var h = g.SiLU("time_embedding.act", Layers.Linear(g, "time_embedding.linear_1", emb, 4 * c0));
        return Layers.Linear(g, "time_embedding.linear_2", h, 4 * c0);
    }

    /// <summary>
    /// Transformer2DModel / RAIN Transformer3DModel with one block on [B, C, h, w] (frames folded into B), in one of two
    /// forms. The ReferenceNet's (<paramref name="folded"/> null): the block as written, cross-attention to
    /// <paramref name="ehs"/>; <paramref name="capture"/> receives LN₁'s output (the tap). The denoising UNet's
    /// (<paramref name="folded"/> set, spec §2.5.3 with DESIGN §6's folding): the self-attention's keys and values run over
    /// [own tokens ; reference tokens], the reference tokens' keys and values given already projected ([1, N, C] each,
    /// <see cref="UNetNetwork.BuildReferenceFold"/>); and the cross-attention to the single CLIP token, whose softmax over one key is
    /// exactly 1 for every query, is the constant row to_out(to_v(clip)) given as <c>cross</c> [1, 1, C] and added. LN₂,
    /// to_q and to_k of the cross-attention then compute nothing; their keys are still checked against the config.
    /// </summary>
    public static string SpatialTransformer(GraphBuilder g, UNetConfig cfg, string prefix, string x, string? ehs, FoldedReference? folded, Action<string>? capture)
    {
        var s = g.Shape(x);
        long b = s[0], c = s[1], n = s[2] * s[3];
        float scale = 1f / MathF.Sqrt(c / cfg.Heads);
        var h = Layers.GroupNorm(g, prefix + ".norm", x, cfg.NormGroups, TransformerGroupNormEps);
        h = Layers.Conv(g, prefix + ".proj_in", h, c, 1, 1, 0);
        var tokens = Layers.ToTokens(g, prefix + ".tokens", h);
        string tb = prefix + ".transformer_blocks.0";

        var n1 = Layers.LayerNorm(g, tb + ".norm1", tokens, LayerNormEps);
        capture?.Invoke(n1);
        string k = Layers.Linear(g, tb + ".attn1.to_k", n1, c, false), v = Layers.Linear(g, tb + ".attn1.to_v", n1, c, false);
        if (folded is not null)
        {
            k = g.Concat(tb + ".attn1.with_reference_k", 1, k, g.Expand(tb + ".attn1.reference_k", folded.Keys, b, n, c));
            v = g.Concat(tb + ".attn1.with_reference_v", 1, v, g.Expand(tb + ".attn1.reference_v", folded.Values, b, n, c));
        }

        var a = g.Attention(tb + ".attn1", Layers.Linear(g, tb + ".attn1.to_q", n1, c, false), k, v, cfg.Heads, scale);
        tokens = g.Add(tb + ".attn1.residual", tokens, Layers.Linear(g, tb + ".attn1.to_out.0", a, c));

        if (folded is not null)
        {
            CheckCrossAttentionKeys(g, cfg, tb, c);
            tokens = g.Add(tb + ".attn2.residual", tokens, folded.Cross);
        }
        else
        {
            var n2 = Layers.LayerNorm(g, tb + ".norm2", tokens, LayerNormEps);
            string context = ehs ?? throw new ArgumentNullException(nameof(ehs), "the unfolded transformer needs the CLIP embedding.");
            a = g.Attention(tb + ".attn2", Layers.Linear(g, tb + ".attn2.to_q", n2, c, false), Layers.Linear(g, tb + ".attn2.to_k", context, c, false), Layers.Linear(g, tb + ".attn2.to_v", context, c, false), cfg.Heads, scale);
            tokens = g.Add(tb + ".attn2.residual", tokens, Layers.Linear(g, tb + ".attn2.to_out.0", a, c));
        }

        var n3 = Layers.LayerNorm(g, tb + ".norm3", tokens, LayerNormEps);
        tokens = g.Add(tb + ".ff.residual", tokens, Layers.GegluFeedForward(g, tb + ".ff", n3));

        h = Layers.Conv(g, prefix + ".proj_out", Layers.FromTokens(g, prefix + ".spatial", tokens, s[2], s[3]), c, 1, 1, 0);
        return g.Add(prefix + ".residual", h, x);
    }

    /// <summary>
    /// What one spatial transformer of the denoising UNet needs from the reference, computed once per reference by
    /// <see cref="FoldReference"/>: the reference tokens' attn1 keys and values and the cross-attention's constant row.
    /// </summary>
    public sealed record FoldedReference(string Keys, string Values, string Cross);

    /// <summary>
    /// The per-reference constants of one spatial transformer (<paramref name="tb"/> = its transformer block's prefix):
    /// attn1.to_k and attn1.to_v of the tap [1, N, C], and to_out(to_v(<paramref name="ehs"/>)) [1, 1, C] — the
    /// cross-attention's output for every query, as the softmax over its single key is 1.
    /// </summary>
    public static FoldedReference FoldReference(GraphBuilder g, string tb, string tap, string ehs, long c) => new(
        Layers.Linear(g, tb + ".attn1.to_k", tap, c, false),
        Layers.Linear(g, tb + ".attn1.to_v", tap, c, false),
        Layers.Linear(g, tb + ".attn2.to_out.0", Layers.Linear(g, tb + ".attn2.to_v", ehs, c, false), c));

    // The folded cross-attention's weights live in the fold network; the UNet checks they are there and fit.
    private static void CheckCrossAttentionKeys(GraphBuilder g, UNetConfig cfg, string tb, long c)
    {
        long d = cfg.CrossAttentionDim;
        g.Weights.Bind(tb + ".norm2.weight", [c]);
        g.Weights.Bind(tb + ".norm2.bias", [c]);
        g.Weights.Bind(tb + ".attn2.to_q.weight", [c, c]);
        g.Weights.Bind(tb + ".attn2.to_k.weight", [c, d]);
        g.Weights.Bind(tb + ".attn2.to_v.weight", [c, d]);
        g.Weights.Bind(tb + ".attn2.to_out.0.weight", [c, c]);
        g.Weights.Bind(tb + ".attn2.to_out.0.bias", [c]);
    }

    /// <summary>
    /// AnimateDiff's VanillaTemporalModule on [F, C, h, w] (spec §2.5.4): GN(32, 1e-6) → proj_in → per attention block
    /// LN → + PE[0:F] → q, k, v → temporal attention core over F → to_out → residual; GEGLU FF; proj_out; residual.
    /// </summary>
    public static string MotionModule(GraphBuilder g, MotionModuleConfig mm, string prefix, string x)
    {
        var s = g.Shape(x);
        long f = s[0], c = s[1];
        string p = prefix + ".temporal_transformer";
        var h = Layers.GroupNorm(g, p + ".norm", x, MotionModuleConfig.GroupNormGroups, MotionGroupNormEps);
        var tokens = Layers.Linear(g, p + ".proj_in", Layers.ToTokens(g, p + ".tokens", h), c);
        string tb = p + ".transformer_blocks.0";
        for (int k = 0; k < mm.AttentionBlocks; k++)
        {
            string ab = $"{tb}.attention_blocks.{k}";
            var n = Layers.LayerNorm(g, $"{tb}.norms.{k}", tokens, LayerNormEps);
            if (mm.PositionEncoding)
                n = g.Add(ab + ".pos_encoder", n, PositionEncoding(g, mm, ab + ".pos_encoder.pe", f, c));
            var q = Layers.Linear(g, ab + ".to_q", n, c, false);
            var kk = Layers.Linear(g, ab + ".to_k", n, c, false);
            var v = Layers.Linear(g, ab + ".to_v", n, c, false);
            var o = g.TemporalAttentionCore(ab + ".attention", q, kk, v, mm.Heads);
            tokens = g.Add(ab + ".residual", tokens, Layers.Linear(g, ab + ".to_out.0", o, c));
        }

        var nf = Layers.LayerNorm(g, tb + ".ff_norm", tokens, LayerNormEps);
        tokens = g.Add(tb + ".ff.residual", tokens, Layers.GegluFeedForward(g, tb + ".ff", nf));
        tokens = Layers.Linear(g, p + ".proj_out", tokens, c);
        return g.Add(prefix + ".residual", Layers.FromTokens(g, p + ".spatial", tokens, s[2], s[3]), x);
    }

    /// <summary>
    /// The first F rows of the positional table as [F, 1, C]: the checkpoint's persistent buffer when present,
    /// otherwise AnimateDiff's formula pe[pos, 2i] = sin(pos·10000^(−2i/C)), pe[pos, 2i+1] = cos(…).
    /// </summary>
    private static string PositionEncoding(GraphBuilder g, MotionModuleConfig mm, string key, long frames, long c)
    {
        if (g.Weights.Has(key))
            return g.Weight(key, [1, mm.MaxLength, c], [frames, 1, c], pe => pe[..(int)(frames * c)]);
        var table = new float[frames * c];
        for (int pos = 0; pos < frames; pos++)
        {
            for (int i = 0; i < c / 2; i++)
            {
                float div = MathF.Exp(2 * i * (-MathF.Log(10000f) / c));
                table[(pos * c) + (2 * i)] = MathF.Sin(pos * div);
                table[(pos * c) + (2 * i) + 1] = MathF.Cos(pos * div);
            }
        }

        return g.Constant("pe", table, frames, 1, c);
    }
}

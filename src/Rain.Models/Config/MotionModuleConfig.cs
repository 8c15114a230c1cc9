using System.Globalization;
using Rain.Models.Weights;

namespace Rain.Models.Config;

/// <summary>
/// The motion-module settings of <c>rain_morpher.yaml → unet_additional_kwargs</c> (Vanilla AnimateDiff modules) and the
/// guidance-embedding width <c>cond_proj_dim</c>, validated for what the builders implement.
/// </summary>
public sealed class MotionModuleConfig
{
    /// <summary>AnimateDiff's temporal GroupNorm always has 32 groups (eps 1e-6), whatever the UNet config says.</summary>
    public const int GroupNormGroups = 32;

    /// <summary>The yaml the settings come from.</summary>
    public required string Path { get; init; }

    /// <summary>Heads of the temporal attentions.</summary>
    public required int Heads { get; init; }

    /// <summary>Temporal self-attentions per transformer block.</summary>
    public required int AttentionBlocks { get; init; }

    /// <summary>Sinusoidal positional encoding added to the attention input.</summary>
    public required bool PositionEncoding { get; init; }

    /// <summary>Length of the positional encoding table (the largest F).</summary>
    public required int MaxLength { get; init; }

    /// <summary>Downsampling factors (1, 2, 4, …) whose blocks carry motion modules.</summary>
    public required int[] Resolutions { get; init; }

    /// <summary>The mid block carries a motion module.</summary>
    public required bool MidBlock { get; init; }

    /// <summary>Only up blocks carry motion modules.</summary>
    public required bool DecoderOnly { get; init; }

    /// <summary>Width of the guidance embedding <c>timestep_cond</c> (0: no cond_proj).</summary>
    public required int CondProjDim { get; init; }

    /// <summary>Reads and validates the settings.</summary>
    public static MotionModuleConfig Load(RainConfig rain)
    {
        ArgumentNullException.ThrowIfNull(rain);
        var kw = rain.UnetAdditionalKwargs;
        if (!rain.GetBool(kw, "use_motion_module"))
            throw rain.Unsupported("unet_additional_kwargs.use_motion_module", "false", "RAIN's denoising UNet has motion modules");
        string type = rain.Scalar(kw, "motion_module_type");
        if (type != "Vanilla")
            throw rain.Unsupported("unet_additional_kwargs.motion_module_type", type, "only Vanilla motion modules exist in RAIN");
        if (rain.GetBool(kw, "unet_use_cross_frame_attention") || rain.GetBool(kw, "unet_use_temporal_attention"))
            throw rain.Unsupported("unet_additional_kwargs.unet_use_cross_frame_attention/unet_use_temporal_attention", "true", "RAIN runs with both false");
        var mm = rain.Child(kw, "motion_module_kwargs");
        int blocks = rain.GetInt(mm, "num_transformer_block");
        if (blocks != 1)
            throw rain.Unsupported("motion_module_kwargs.num_transformer_block", blocks.ToString(CultureInfo.InvariantCulture), "the builder implements one temporal transformer block");
        var kinds = rain.Sequence(mm, "attention_block_types");
        if (kinds.Any(k => k != "Temporal_Self"))
            throw rain.Unsupported("motion_module_kwargs.attention_block_types", string.Join(",", kinds), "only Temporal_Self attentions are implemented");
        int div = RainConfig.Has(mm, "temporal_attention_dim_div") ? rain.GetInt(mm, "temporal_attention_dim_div") : 1;
        if (div != 1)
            throw rain.Unsupported("motion_module_kwargs.temporal_attention_dim_div", div.ToString(CultureInfo.InvariantCulture), "only 1 is implemented");
        return new MotionModuleConfig
        {
            Path = rain.Path,
            Heads = rain.GetInt(mm, "num_attention_heads"),
            AttentionBlocks = kinds.Length,
            PositionEncoding = rain.GetBool(mm, "temporal_position_encoding"),
            MaxLength = rain.GetInt(mm, "temporal_position_encoding_max_len"),
            Resolutions = rain.Sequence(kw, "motion_module_resolutions").Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int r) && r is >= 1 and <= 64
                ? r
                : throw rain.Unsupported("unet_additional_kwargs.motion_module_resolutions", s, "each entry is a downsampling factor 1, 2, 4 or 8")).ToArray(),
            MidBlock = rain.GetBool(kw, "motion_module_mid_block"),
            DecoderOnly = rain.GetBool(kw, "motion_module_decoder_only"),
            CondProjDim = RainConfig.Has(kw, "cond_proj_dim") ? rain.GetInt(kw, "cond_proj_dim") : 0,
        };
    }

    /// <summary>Checks that the UNet's widths fit the motion modules; throws naming both files.</summary>
    public void Validate(UNetConfig unet, int frames)
    {
        ArgumentNullException.ThrowIfNull(unet);
        foreach (int c in unet.BlockOutChannels)
        {
            if (c % GroupNormGroups != 0)
                throw new ModelExportException($"{unet.Path}: 'block_out_channels' has {c}, but the motion modules' GroupNorm always uses {GroupNormGroups} groups, which cannot divide it.");
            if (c % Heads != 0)
                throw new ModelExportException($"{unet.Path}: 'block_out_channels' has {c}, not divisible by {Path}: 'motion_module_kwargs.num_attention_heads' = {Heads}.");
        }

        if (PositionEncoding && frames > MaxLength)
            throw new ModelExportException($"{Path}: the window has {frames} frames, more than 'motion_module_kwargs.temporal_position_encoding_max_len' = {MaxLength}.");
    }
}

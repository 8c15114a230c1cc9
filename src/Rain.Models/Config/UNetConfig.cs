using System.Globalization;

namespace Rain.Models.Config;

/// <summary>
/// The UNet architecture from RAIN's <c>configs/unet.json</c> (a diffusers UNet2DConditionModel config), validated for
/// what the builders implement. <c>attention_head_dim</c> is used as the number of heads, as RAIN and diffusers 0.24 do.
/// </summary>
public sealed class UNetConfig
{
    /// <summary>The config file.</summary>
    public required string Path { get; init; }

    /// <summary>Channels per level.</summary>
    public required int[] BlockOutChannels { get; init; }

    /// <summary>Resnets per down block (up blocks have one more).</summary>
    public required int LayersPerBlock { get; init; }

    /// <summary>Heads of the spatial attentions.</summary>
    public required int Heads { get; init; }

    /// <summary>Width of the CLIP token.</summary>
    public required int CrossAttentionDim { get; init; }

    /// <summary>GroupNorm groups of resnets, spatial transformers and the head.</summary>
    public required int NormGroups { get; init; }

    /// <summary>GroupNorm eps of resnets and the head.</summary>
    public required float NormEps { get; init; }

    /// <summary>Latent channels in.</summary>
    public required int InChannels { get; init; }

    /// <summary>Channels out (denoising UNet head).</summary>
    public required int OutChannels { get; init; }

    /// <summary>Timestep embedding puts cos before sin.</summary>
    public required bool FlipSinToCos { get; init; }

    /// <summary>Timestep embedding frequency shift.</summary>
    public required float FreqShift { get; init; }

    /// <summary>Per down block: has spatial attention.</summary>
    public required bool[] DownHasAttention { get; init; }

    /// <summary>Per up block: has spatial attention.</summary>
    public required bool[] UpHasAttention { get; init; }

    /// <summary>Reads and validates the config.</summary>
    public static UNetConfig Load(JsonConfig json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var channels = json.GetInts("block_out_channels");
        int heads = json.GetInt("attention_head_dim");
        int groups = json.GetInt("norm_num_groups");
        var down = json.GetTexts("down_block_types");
        var up = json.GetTexts("up_block_types");
        if (down.Length != channels.Length || up.Length != channels.Length)
            throw json.Unsupported("down_block_types", $"{down.Length} / up_block_types {up.Length}", $"both must list one block per entry of block_out_channels ({channels.Length})");
        foreach (int c in channels)
        {
            string v = c.ToString(CultureInfo.InvariantCulture);
            if (c % groups != 0)
                throw json.Unsupported("block_out_channels", v, $"not divisible by norm_num_groups = {groups}");
            if (c % heads != 0)
                throw json.Unsupported("block_out_channels", v, $"not divisible by attention_head_dim (the number of heads) = {heads}");
        }

        if (json.Has("use_linear_projection") && json.GetBool("use_linear_projection", false))
            throw json.Unsupported("use_linear_projection", "true", "RAIN's UNets use 1×1 convolutions for proj_in/proj_out");
        return new UNetConfig
        {
            Path = json.Path,
            BlockOutChannels = channels,
            LayersPerBlock = json.GetInt("layers_per_block"),
            Heads = heads,
            CrossAttentionDim = json.GetInt("cross_attention_dim"),
            NormGroups = groups,
            NormEps = json.GetFloat("norm_eps", 1e-5f),
            InChannels = json.GetInt("in_channels", 4),
            OutChannels = json.GetInt("out_channels", 4),
            FlipSinToCos = json.GetBool("flip_sin_to_cos", true),
            FreqShift = json.GetFloat("freq_shift", 0f),
            DownHasAttention = down.Select((t, i) => BlockKind(json, "down_block_types", t, "CrossAttnDownBlock", "DownBlock")).ToArray(),
            UpHasAttention = up.Select((t, i) => BlockKind(json, "up_block_types", t, "CrossAttnUpBlock", "UpBlock")).ToArray(),
        };
    }

    private static bool BlockKind(JsonConfig json, string key, string type, string withAttention, string plain)
    {
        string stem = type.EndsWith("2D", StringComparison.Ordinal) || type.EndsWith("3D", StringComparison.Ordinal) ? type[..^2] : type;
        if (stem == withAttention)
            return true;
        if (stem == plain)
            return false;
        throw json.Unsupported(key, type, $"expected {withAttention}2D/3D or {plain}2D/3D");
    }
}

namespace Rain.Engine.Bundle;

/// <summary>
/// The names of the bundle's networks (parts) that the exporter writes, the manifest lists and the backends look up:
/// one place, so that a rename is one edit.
/// </summary>
internal static class NetworkNames
{
    /// <summary>The CLIP vision encoder of the reference image.</summary>
    public const string ClipVision = "clip_vision";

    /// <summary>The VAE encoder of the reference image.</summary>
    public const string VaeEncoder = "vae_encoder";

    /// <summary>The ReferenceNet (run once per reference image).</summary>
    public const string ReferenceUNet = "reference_unet";

    /// <summary>
    /// The reference fold (run once per reference image, after the ReferenceNet): the taps' attn1 keys and values and
    /// the cross-attention's constant row of every spatial transformer of the denoising UNet.
    /// </summary>
    public const string ReferenceFold = "reference_fold";

    /// <summary>The pose guider (run on every chunk of pose images).</summary>
    public const string PoseGuider = "pose_guider";

    /// <summary>The streaming tiny VAE decoder (TAESDV) with its memories.</summary>
    public const string TaesdvDecoder = "taesdv_decoder";

    /// <summary>The denoising UNet in one piece (the cut form's parts are <c>unet.partNN</c>).</summary>
    public const string UNet = "unet";
}

/// <summary>The tensor names of the networks' contracts that the backends bind by name (exporter, manifest and backends share them).</summary>
internal static class TensorNames
{
    /// <summary>UNet input: the latent window.</summary>
    public const string Sample = "sample";

    /// <summary>UNet output: v̂ for every frame of the window.</summary>
    public const string ModelOutput = "model_output";

    /// <summary>UNet input: the timestep of every frame.</summary>
    public const string Timestep = "timestep";

    /// <summary>UNet input: the LCM guidance embedding.</summary>
    public const string TimestepCond = "timestep_cond";

    /// <summary>UNet input: the pose features of the window.</summary>
    public const string PoseCondFeatures = "pose_cond_fea";

    /// <summary>ReferenceNet and reference-fold input: the CLIP image embedding.</summary>
    public const string EncoderHiddenStates = "encoder_hidden_states";

    /// <summary>CLIP vision output.</summary>
    public const string ImageEmbeds = "image_embeds";

    /// <summary>Decoder and ReferenceNet input: latents.</summary>
    public const string Latents = "latents";

    /// <summary>Decoder output: the frames.</summary>
    public const string Images = "images";

    /// <summary>Reference-fold output and UNet input: the tap's keys in the spatial self-attention of its transformer.</summary>
    public static string ReferenceKeys(string tap) => tap + ".k";

    /// <summary>Reference-fold output and UNet input: the tap's values in the spatial self-attention of its transformer.</summary>
    public static string ReferenceValues(string tap) => tap + ".v";

    /// <summary>Reference-fold output and UNet input: the cross-attention's output row (the same for every token).</summary>
    public static string ReferenceCross(string tap) => tap + ".cross";

    /// <summary>Prefix of the decoder's memory inputs (<c>pmem0</c> …).</summary>
    public const string MemoryInPrefix = "pmem";

    /// <summary>Prefix of the decoder's memory outputs (<c>omem0</c> …), paired with <see cref="MemoryInPrefix"/> by index.</summary>
    public const string MemoryOutPrefix = "omem";
}

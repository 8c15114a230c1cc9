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

    /// <summary>UNet and ReferenceNet input: the CLIP image embedding.</summary>
    public const string EncoderHiddenStates = "encoder_hidden_states";

    /// <summary>CLIP vision output.</summary>
    public const string ImageEmbeds = "image_embeds";

    /// <summary>Decoder and ReferenceNet input: latents.</summary>
    public const string Latents = "latents";

    /// <summary>Decoder output: the frames.</summary>
    public const string Images = "images";

    /// <summary>Prefix of the decoder's memory inputs (<c>pmem0</c> …).</summary>
    public const string MemoryInPrefix = "pmem";

    /// <summary>Prefix of the decoder's memory outputs (<c>omem0</c> …), paired with <see cref="MemoryInPrefix"/> by index.</summary>
    public const string MemoryOutPrefix = "omem";
}

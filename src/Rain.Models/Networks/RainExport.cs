using Rain.Models.Config;
using Rain.Models.Onnx;
using Rain.Models.Weights;

namespace Rain.Models.Networks;

/// <summary>
/// Exports every RAIN network from a RAIN checkout: <c>configs/rain_morpher.yaml</c> names the weight files and the UNet
/// config (paths relative to the RAIN root) and fixes the sizes (image H×W, p frames per chunk, L levels, F = p·L).
/// Writes <c>clip_vision</c>, <c>vae_encoder</c>, <c>reference_unet</c>, <c>pose_guider</c>, <c>taesdv_decoder</c>,
/// the cut UNet (<c>unet.partNN</c> + <c>unet.plan.json</c>), the <c>reference_fold</c> (from the UNet's weights) and
/// optionally the uncut <c>unet_whole</c>. The decoder's
/// images are clamped to [0, 1] in the graph, as in RAIN's stream step.
/// </summary>
public static class RainExport
{
    /// <summary>Writes the networks into <paramref name="folder"/> and returns what was written.</summary>
    /// <param name="rain">The RAIN configuration.</param>
    /// <param name="folder">Output folder.</param>
    /// <param name="includeWholeUNet">Also write the uncut UNet (<c>unet_whole</c>).</param>
    /// <param name="externalThreshold">Initializers of at least this many bytes go to external data.</param>
    /// <param name="openWeights">
    /// Opens the weights named by a yaml key (<c>image_encoder_path</c>, <c>denoising_unet_weight_path</c>, …); by default
    /// the checkpoint at that path. <see cref="RandomWeights"/> sources export a configuration without checkpoints.
    /// </param>
    /// <param name="progress">Called with each file's name after it is written.</param>
    public static IReadOnlyList<GraphPart> Write(
        RainConfig rain,
        string folder,
        bool includeWholeUNet = false,
        long externalThreshold = OnnxModelWriter.DefaultExternalThreshold,
        Func<string, IWeightSource>? openWeights = null,
        Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(rain);
        openWeights ??= key => new CheckpointWeights(rain.ResolvePath(key));
        Directory.CreateDirectory(folder);
        int height = rain.Height, width = rain.Width, p = rain.FramesPerChunk, frames = p * rain.Levels;
        if (height % 8 != 0 || width % 8 != 0)
            throw new ModelExportException($"{rain.Path}: 'height' × 'width' = {height}×{width} must be multiples of 8 (the VAE factor).");
        int h = height / 8, w = width / 8;
        var unet = UNetConfig.Load(JsonConfig.Load(rain.ResolvePath("unet_config_path")));
        var motion = MotionModuleConfig.Load(rain);
        var written = new List<GraphPart>();

        void Whole(GraphBuilder g)
        {
            var part = GraphPart.Whole(g);
            OnnxModelWriter.Write(part, Path.Combine(folder, part.Name + ".onnx"), externalThreshold);
            written.Add(part);
            progress?.Invoke(part.Name);
        }

        string encoder = rain.ResolvePath("image_encoder_path");
        using (Disposable(openWeights("image_encoder_path"), out var weights))
            Whole(ClipVisionNetwork.Build(JsonConfig.Load(Path.Combine(encoder, "config.json")), weights));
        string vae = rain.ResolvePath("vae_model_path");
        int refHeight = RainConfigHas(rain, "reference_image_height") ? rain.GetInt(rain.RootMap, "reference_image_height") : height;
        int refWidth = RainConfigHas(rain, "reference_image_width") ? rain.GetInt(rain.RootMap, "reference_image_width") : width;
        using (Disposable(openWeights("vae_model_path"), out var weights))
            Whole(VaeEncoderNetwork.Build(JsonConfig.Load(Path.Combine(vae, "config.json")), weights, refHeight, refWidth));
        using (Disposable(openWeights("reference_unet_weight_path"), out var weights))
            Whole(UNetNetwork.BuildReference(unet, weights, refHeight / 8, refWidth / 8));
        using (Disposable(openWeights("pose_guider_weight_path"), out var weights))
            Whole(PoseGuiderNetwork.Build(weights, p, height, width));
        using (Disposable(openWeights("taesdv_weight_path"), out var weights))
            Whole(TaesdvDecoderNetwork.Build(weights, p, h, w, clampImages: true));
        using (Disposable(openWeights("denoising_unet_weight_path"), out var weights))
        {
            written.AddRange(CutExport.Write(UNetNetwork.BuildDenoising(unet, motion, weights, frames, h, w, cut: true), folder, externalThreshold, progress).Parts);
            Whole(UNetNetwork.BuildReferenceFold(unet, weights, refHeight / 8, refWidth / 8));
            if (includeWholeUNet)
                Whole(UNetNetwork.BuildDenoising(unet, motion, weights, frames, h, w, cut: false));
        }

        return written;
    }

    private static IDisposable? Disposable(IWeightSource source, out IWeightSource weights)
    {
        weights = source;
        return source as IDisposable;
    }

    private static bool RainConfigHas(RainConfig rain, string key) => RainConfig.Has(rain.RootMap, key);
}

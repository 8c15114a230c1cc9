using Rain.Models.Config;
using Rain.Models.Onnx;
using Rain.Models.Weights;

namespace Rain.Models.Networks;

/// <summary>
/// Exports every RAIN network from a RAIN checkout: <c>configs/rain_morpher.yaml</c> names the weight files and the UNet
/// config (paths relative to the RAIN root) and fixes the sizes (image H×W, p frames per chunk, L levels, F = p·L).
/// Writes <c>clip_vision</c>, <c>vae_encoder</c>, <c>reference_unet</c>, <c>pose_guider</c>, <c>taesdv_decoder</c>,
/// the cut UNet (<c>unet.partNN</c> + <c>unet.plan.json</c>) and optionally the uncut <c>unet_whole</c>. The decoder's
/// images are clamped to [0, 1] in the graph, as in RAIN's stream step.
/// </summary>
public static class RainExport
{
    /// <summary>Writes the networks into <paramref name="folder"/> and returns what was written.</summary>
    public static IReadOnlyList<GraphPart> Write(RainConfig rain, string folder, bool includeWholeUNet = false, long externalThreshold = OnnxModelWriter.DefaultExternalThreshold)
    {
        ArgumentNullException.ThrowIfNull(rain);
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
        }

        string encoder = rain.ResolvePath("image_encoder_path");
        using (var weights = new CheckpointWeights(encoder))
            Whole(ClipVisionNetwork.Build(JsonConfig.Load(Path.Combine(encoder, "config.json")), weights));
        string vae = rain.ResolvePath("vae_model_path");
        int refHeight = RainConfigHas(rain, "reference_image_height") ? rain.GetInt(rain.RootMap, "reference_image_height") : height;
        int refWidth = RainConfigHas(rain, "reference_image_width") ? rain.GetInt(rain.RootMap, "reference_image_width") : width;
        using (var weights = new CheckpointWeights(vae))
            Whole(VaeEncoderNetwork.Build(JsonConfig.Load(Path.Combine(vae, "config.json")), weights, refHeight, refWidth));
        using (var weights = new CheckpointWeights(rain.ResolvePath("reference_unet_weight_path")))
            Whole(UNetNetwork.BuildReference(unet, weights, refHeight / 8, refWidth / 8));
        using (var weights = new CheckpointWeights(rain.ResolvePath("pose_guider_weight_path")))
            Whole(PoseGuiderNetwork.Build(weights, p, height, width));
        using (var weights = new CheckpointWeights(rain.ResolvePath("taesdv_weight_path")))
            Whole(TaesdvDecoderNetwork.Build(weights, p, h, w, clampImages: true));
        using (var weights = new CheckpointWeights(rain.ResolvePath("denoising_unet_weight_path")))
        {
            written.AddRange(CutExport.Write(UNetNetwork.BuildDenoising(unet, motion, weights, frames, h, w, cut: true), folder, externalThreshold).Parts);
            if (includeWholeUNet)
                Whole(UNetNetwork.BuildDenoising(unet, motion, weights, frames, h, w, cut: false));
        }

        return written;
    }

    private static bool RainConfigHas(RainConfig rain, string key) => RainConfig.Has(rain.RootMap, key);
}

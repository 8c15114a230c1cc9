using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Rain.Engine.Bundle;
using Rain.Engine.Streaming;
using Rain.Models.Config;
using Rain.Models.Networks;
using Rain.Models.Onnx;
using Rain.Models.Weights;

namespace Rain.Models.Bundle;

/// <summary>
/// Writes a model bundle (DESIGN §4): every RAIN network as ONNX (<see cref="RainExport"/>) and <c>bundle.json</c> with
/// the sizes, the stream window, the scheduler, the guidance embedding, every part's I/O contract and sha256, and the
/// UNet's step plan. Weights come from the checkpoints the yaml names, or are seeded random (<see cref="RandomWeights"/>).
/// </summary>
public static class BundleExport
{
    /// <summary>
    /// Exports <paramref name="rain"/> into <paramref name="folder"/> and returns the manifest written. The bundle is written
    /// into a temporary folder beside <paramref name="folder"/> and moved into place only when complete, so a failed or
    /// interrupted export leaves no half-written bundle.
    /// </summary>
    /// <param name="rain">The RAIN configuration (its yaml, resolved against its RAIN root).</param>
    /// <param name="folder">Output folder: created, or replaced when it holds a bundle or is empty (any other folder is refused).</param>
    /// <param name="randomSeed">When set, seeded random weights replace the checkpoints (only the config files are read).</param>
    /// <param name="progress">Called with (files done, files expected, file name) after each network part is written.</param>
    /// <param name="configName">How to name the configuration in the manifest's <c>source</c> (default: the yaml's path).</param>
    /// <param name="poseModels">RAIN's DWPose detector and pose model to copy in (see <see cref="PoseModelExport"/>); null: none.</param>
    /// <exception cref="ModelExportException">The configuration or a checkpoint cannot be exported (the message names the yaml key, file or tensor).</exception>
    public static BundleManifest Write(RainConfig rain, string folder, ulong? randomSeed = null, Action<int, int, string>? progress = null, string? configName = null,
        (string Detector, string Estimator)? poseModels = null)
    {
        ArgumentNullException.ThrowIfNull(rain);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        folder = Path.GetFullPath(folder);
        CheckTarget(folder);
        var stream = CheckConfig(rain);
        float w = GuidanceScaleOf(rain);
        string temp = Path.Combine(Path.GetDirectoryName(folder)!, string.Create(CultureInfo.InvariantCulture, $".{Path.GetFileName(folder)}.partial-{Environment.ProcessId}"));
        try
        {
            var manifest = WriteInto(rain, stream, w, temp, randomSeed, progress, configName, poseModels);
            Replace(temp, folder);
            return manifest;
        }
        finally
        {
            if (Directory.Exists(temp))
                Directory.Delete(temp, recursive: true);
        }
    }

    private static BundleManifest WriteInto(RainConfig rain, StreamConfig stream, float w, string folder, ulong? randomSeed, Action<int, int, string>? progress, string? configName,
        (string Detector, string Estimator)? poseModels)
    {
        var unet = UNetConfig.Load(JsonConfig.Load(rain.ResolvePath("unet_config_path")));
        var motion = MotionModuleConfig.Load(rain); // checked by CheckConfig
        var clip = JsonConfig.Load(Path.Combine(rain.ResolvePath("image_encoder_path"), "config.json"));

        Func<string, IWeightSource>? open = null;
        if (randomSeed is ulong seed)
        {
            open = key => new RandomWeights(
                $"random weights for '{key}' (seed {seed})",
                seed ^ BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(key))),
                key switch
                {
                    "pose_guider_weight_path" => RandomWeights.PoseGuiderShapes(unet.BlockOutChannels[0]),
                    "taesdv_weight_path" => RandomWeights.TaesdvShapes(),
                    _ => null,
                });
        }

        // 6 whole networks + one part per temporal attention core + 1.
        int expected = 6 + CountCuts(unet, motion) + 1, done = 0;
        Directory.CreateDirectory(folder);
        // The pose models first: a model that cannot be used stops the export before the long part.
        var pose = poseModels is { } pm ? PoseModelExport.Write(folder, pm.Detector, pm.Estimator) : null;
        var parts = RainExport.Write(rain, folder, openWeights: open, progress: name => progress?.Invoke(++done, Math.Max(expected, done), name));
        var plan = StepPlan.FromJson(File.ReadAllText(Path.Combine(folder, "unet.plan.json")));
        var schedule = new LcmSchedule(stream);
        var reference = parts.Single(p => p.Name == NetworkNames.ReferenceUNet);
        var manifest = new BundleManifest
        {
            FormatVersion = BundleManifest.CurrentFormatVersion,
            Source = randomSeed is ulong s ? $"random weights, seed {s}, config {configName ?? rain.Path}" : $"RAIN checkpoint at {rain.Root}, config {configName ?? rain.Path}",
            Height = stream.Height,
            Width = stream.Width,
            ReferenceHeight = RainConfig.Has(rain.RootMap, "reference_image_height") ? rain.GetInt(rain.RootMap, "reference_image_height") : stream.Height,
            ReferenceWidth = RainConfig.Has(rain.RootMap, "reference_image_width") ? rain.GetInt(rain.RootMap, "reference_image_width") : stream.Width,
            ClipImageSize = clip.GetInt("image_size"),
            FramesPerLevel = stream.FramesPerLevel,
            Levels = stream.Levels,
            PoseChannels = unet.BlockOutChannels[0],
            Timesteps = schedule.FrameTimesteps,
            Scheduler = new SchedulerManifest
            {
                TrainTimesteps = stream.Scheduler.TrainTimesteps,
                BetaStart = stream.Scheduler.BetaStart,
                BetaEnd = stream.Scheduler.BetaEnd,
                BetaSchedule = stream.Scheduler.BetaSchedule == BetaSchedule.Linear ? "linear" : "scaled_linear",
                RescaleZeroTerminalSnr = stream.Scheduler.RescaleZeroTerminalSnr,
                CSkip = schedule.CSkip,
                COut = schedule.COut,
            },
            GuidanceScale = w,
            GuidanceEmbedding = GuidanceEmbedding.Compute(w, motion.CondProjDim),
            Taps = [.. reference.Outputs.Select(o => o.Name)],
            Parts = parts.ToDictionary(p => p.Name, p => PartOf(folder, p), StringComparer.Ordinal),
            UNetPlan = plan,
            PoseModels = pose,
        };
        File.WriteAllText(Path.Combine(folder, ModelBundle.ManifestFileName), manifest.ToSealedJson());
        File.Delete(Path.Combine(folder, "unet.plan.json"));
        return manifest;
    }

    /// <summary>
    /// The stream configuration of a RAIN yaml: sizes, p, L and <c>noise_scheduler_kwargs</c>. <c>num_inference_steps</c>,
    /// when given, must equal L (<c>temporal_window_size</c>): the stream runs one LCM step per noise level.
    /// </summary>
    public static StreamConfig StreamOf(RainConfig rain)
    {
        ArgumentNullException.ThrowIfNull(rain);
        if (RainConfig.Has(rain.RootMap, "num_inference_steps") && rain.GetInt(rain.RootMap, "num_inference_steps") is int steps && steps != rain.Levels)
            throw new ModelExportException($"{rain.Path}: 'num_inference_steps' is {steps}, but 'temporal_window_size' is {rain.Levels}; RAIN's stream runs one LCM step per noise level, so the two must be equal.");
        var kw = rain.Child(rain.RootMap, "noise_scheduler_kwargs");
        string Text(string key) => rain.Scalar(kw, key);
        if (Text("prediction_type") != SchedulerConfig.PredictionType)
            throw rain.Unsupported("noise_scheduler_kwargs.prediction_type", Text("prediction_type"), $"RAIN's LCM step is {SchedulerConfig.PredictionType}");
        if (Text("timestep_spacing") != SchedulerConfig.TimestepSpacing)
            throw rain.Unsupported("noise_scheduler_kwargs.timestep_spacing", Text("timestep_spacing"), $"the stream uses {SchedulerConfig.TimestepSpacing} spacing");
        try
        {
            var config = new StreamConfig
            {
                FramesPerLevel = rain.FramesPerChunk,
                Levels = rain.Levels,
                Height = rain.Height,
                Width = rain.Width,
                Scheduler = new SchedulerConfig
                {
                    TrainTimesteps = rain.GetInt(kw, "num_train_timesteps"),
                    BetaStart = rain.GetNumber(kw, "beta_start"),
                    BetaEnd = rain.GetNumber(kw, "beta_end"),
                    BetaSchedule = Text("beta_schedule") switch
                    {
                        "scaled_linear" => BetaSchedule.ScaledLinear,
                        "linear" => BetaSchedule.Linear,
                        var other => throw rain.Unsupported("noise_scheduler_kwargs.beta_schedule", other, "scaled_linear or linear"),
                    },
                    RescaleZeroTerminalSnr = rain.GetBool(kw, "rescale_betas_zero_snr"),
                },
            };
            config.Validate();
            return config;
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new ModelExportException($"{rain.Path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Checks what the configuration files say before any weight is read — the stream (sizes, p, L, scheduler,
    /// <c>num_inference_steps</c>), <c>guidance_scale</c>, the UNet's and CLIP's configs, the motion modules, the reference
    /// size — and returns the stream configuration. <see cref="Write"/> starts with it.
    /// </summary>
    /// <exception cref="ModelExportException">A value is missing, malformed or out of range (the message names the file and key).</exception>
    public static StreamConfig CheckConfig(RainConfig rain)
    {
        ArgumentNullException.ThrowIfNull(rain);
        var stream = StreamOf(rain);
        GuidanceScaleOf(rain);
        UNetConfig.Load(JsonConfig.Load(rain.ResolvePath("unet_config_path")));
        var motion = MotionModuleConfig.Load(rain);
        if (motion.CondProjDim < 4)
            throw new ModelExportException($"{rain.Path}: 'unet_additional_kwargs.cond_proj_dim' is {motion.CondProjDim}; RAIN's LCM UNet takes a guidance embedding of at least 4 values.");
        var clip = JsonConfig.Load(Path.Combine(rain.ResolvePath("image_encoder_path"), "config.json"));
        if (clip.GetInt("image_size") is < 1 or > ManifestValidation.MaxClipSide)
            throw new ModelExportException($"{clip.Path}: 'image_size' is {clip.GetInt("image_size")}; expected 1 to {ManifestValidation.MaxClipSide}.");
        foreach (var (key, streamSide) in (ReadOnlySpan<(string, int)>)[("reference_image_height", stream.Height), ("reference_image_width", stream.Width)])
        {
            if (!RainConfig.Has(rain.RootMap, key))
                continue;
            int side = rain.GetInt(rain.RootMap, key);
            if (side < 8 || side > ManifestValidation.MaxSide || side % 8 != 0)
                throw new ModelExportException($"{rain.Path}: '{key}' is {side}; expected a multiple of 8 from 8 to {ManifestValidation.MaxSide} (the VAE's factor).");
            if (side != streamSide)
                throw new ModelExportException($"{rain.Path}: '{key}' is {side}, but the stream's side is {streamSide}; the UNet's reference attention takes as many reference tokens as each frame has, so the reference is encoded at the stream's size.");
        }

        return stream;
    }

    /// <summary>The yaml's <c>guidance_scale</c> (RAIN's 2.5 when absent), refused outside 0 … 50 (what a bundle may hold).</summary>
    private static float GuidanceScaleOf(RainConfig rain)
    {
        if (!RainConfig.Has(rain.RootMap, "guidance_scale"))
            return GuidanceEmbedding.RainScale;
        double w = rain.GetNumber(rain.RootMap, "guidance_scale");
        if (w is < 0 or > ManifestValidation.MaxGuidanceScale)
            throw new ModelExportException(string.Create(CultureInfo.InvariantCulture, $"{rain.Path}: 'guidance_scale' is {w}; expected 0 to {ManifestValidation.MaxGuidanceScale} (RAIN's LCM model was distilled for w = {GuidanceEmbedding.RainScale}; values far from it give noise)."));
        return (float)w;
    }

    // Before any work: the target is created, or replaced when it holds a bundle (or nothing) — never a folder of other files.
    private static void CheckTarget(string folder)
    {
        if (File.Exists(folder))
            throw new ModelExportException($"{folder}: a file is in the way; the bundle is a folder.");
        if (Directory.Exists(folder) && !File.Exists(Path.Combine(folder, ModelBundle.ManifestFileName)) && Directory.EnumerateFileSystemEntries(folder).Any())
            throw new ModelExportException($"{folder}: the folder exists and holds files but no {ModelBundle.ManifestFileName}; refusing to replace it with a bundle (choose an empty or new folder).");
    }

    // Moves the finished bundle into place; an old bundle there is moved aside first and deleted only after the move.
    private static void Replace(string temp, string folder)
    {
        string? old = null;
        if (Directory.Exists(folder))
        {
            old = temp + ".old";
            Directory.Move(folder, old);
        }

        Directory.Move(temp, folder);
        if (old is not null)
            Directory.Delete(old, recursive: true);
    }

    private static PartManifest PartOf(string folder, GraphPart part)
    {
        string file = part.Name + ".onnx", data = file + ".data";
        bool hasData = File.Exists(Path.Combine(folder, data));
        return new PartManifest
        {
            File = file,
            Sha256 = ModelBundle.Sha256Of(Path.Combine(folder, file)),
            DataFile = hasData ? data : null,
            DataSha256 = hasData ? ModelBundle.Sha256Of(Path.Combine(folder, data)) : null,
            Inputs = [.. part.Inputs.Select(Contract)],
            Outputs = [.. part.Outputs.Select(Contract)],
        };
    }

    private static TensorContract Contract(Onnx.TensorInfo t) => new(t.Name, t.Type switch
    {
        OnnxDataType.F32 => "float32",
        OnnxDataType.U8 => "uint8",
        OnnxDataType.I64 => "int64",
        _ => throw new InvalidOperationException($"tensor '{t.Name}': unexpected element type {t.Type}."),
    }, [.. t.Shape]);

    private static int CountCuts(UNetConfig unet, MotionModuleConfig motion)
    {
        // One motion module (two temporal attentions each) per resnet of every down, mid and up block that has one.
        int levels = unet.BlockOutChannels.Length, modules = 0;
        for (int i = 0; i < levels; i++)
        {
            bool has = motion.Resolutions.Contains(1 << i);
            if (has && !motion.DecoderOnly)
                modules += unet.LayersPerBlock;
            if (has)
                modules += unet.LayersPerBlock + 1;
        }

        return (modules + (motion.MidBlock ? 1 : 0)) * motion.AttentionBlocks;
    }
}

using System.Security.Cryptography;
using System.Text.Json;
using Rain.Engine.Streaming;

namespace Rain.Engine.Bundle;

/// <summary>
/// A validated model bundle: the folder <c>rain export</c> writes (<c>bundle.json</c> and one ONNX file per network
/// part, with external data). <see cref="Load"/> checks the format version, every field of the manifest (presence, type,
/// range; the message names the field), the manifest's own sha256, that every file the manifest names exists and has its
/// recorded sha256 (an external-data file included, listed or not), that the step plan only runs parts the manifest lists,
/// and that the stream schedule the engine derives matches the manifest's timesteps. Immutable; safe to share between threads.
/// </summary>
public sealed class ModelBundle
{
    /// <summary>Name of the manifest inside a bundle folder.</summary>
    public const string ManifestFileName = "bundle.json";

    /// <summary>Networks every bundle must hold (the UNet comes as the parts of <see cref="BundleManifest.UNetPlan"/>).</summary>
    public static IReadOnlyList<string> WholeNetworks { get; } = [NetworkNames.ClipVision, NetworkNames.VaeEncoder, NetworkNames.ReferenceUNet, NetworkNames.ReferenceFold, NetworkNames.PoseGuider, NetworkNames.TaesdvDecoder];

    private ModelBundle(string folder, BundleManifest manifest, StreamConfig stream)
    {
        Folder = folder;
        Manifest = manifest;
        Stream = stream;
    }

    /// <summary>The bundle folder (full path).</summary>
    public string Folder { get; }

    /// <summary>The parsed manifest.</summary>
    public BundleManifest Manifest { get; }

    /// <summary>The stream configuration (sizes, p, L, scheduler) the manifest describes.</summary>
    public StreamConfig Stream { get; }

    /// <summary>Full path of a part's model file.</summary>
    public string PathOf(string part) => Path.Combine(Folder, Part(part).File);

    /// <summary>The manifest entry of a part; throws <see cref="BundleException"/> when the bundle has none.</summary>
    public PartManifest Part(string part) =>
        Manifest.Parts.TryGetValue(part, out var p) ? p : throw new BundleException($"{Path.Combine(Folder, ManifestFileName)}: the bundle has no part '{part}'.");

    /// <summary>Reads and validates a bundle.</summary>
    /// <param name="folder">The bundle folder (or its <c>bundle.json</c>).</param>
    /// <param name="verifyHashes">Check every file's sha256 (reads every byte once; on by default).</param>
    /// <exception cref="BundleException">The bundle is missing, malformed, altered or of another format version.</exception>
    public static ModelBundle Load(string folder, bool verifyHashes = true)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (File.Exists(folder) && Path.GetFileName(folder) == ManifestFileName)
            folder = Path.GetDirectoryName(Path.GetFullPath(folder))!;
        folder = Path.GetFullPath(folder);
        string manifestPath = Path.Combine(folder, ManifestFileName);
        if (!File.Exists(manifestPath))
            throw new BundleException($"{manifestPath}: not found; a model bundle is a folder written by `rain export` with a {ManifestFileName}.");
        var manifest = Parse(manifestPath);
        StreamConfig stream = StreamOf(manifest, manifestPath);
        foreach (string network in WholeNetworks)
        {
            if (!manifest.Parts.ContainsKey(network))
                throw new BundleException($"{manifestPath}: the bundle has no '{network}' network.");
        }

        foreach (var step in manifest.UNetPlan.Steps)
        {
            if (step.StepKind == PlanStepKind.RunPart && !manifest.Parts.ContainsKey(step.Part!))
                throw new BundleException($"{manifestPath}: the UNet plan runs part '{step.Part}', which the manifest does not list.");
        }

        CheckRelations(manifest, manifestPath);
        foreach (var (name, part) in manifest.Parts)
        {
            CheckFile(folder, name, part.File, part.Sha256, verifyHashes);
            if (part.DataFile is not null)
                CheckFile(folder, name, part.DataFile, part.DataSha256 ?? "", verifyHashes);
            else if (File.Exists(Path.Combine(folder, part.File + ".data")))
                throw new BundleException($"{manifestPath}: part '{name}' lists no data_file, but {part.File}.data lies beside it; ONNX Runtime would load that file unchecked. Re-export the bundle.");
        }

        if (manifest.PoseModels is { } pose)
        {
            foreach (var (name, part) in new[] { ("pose_detector", pose.Detector), ("pose_estimator", pose.Estimator) })
            {
                CheckFile(folder, name, part.File, part.Sha256, verifyHashes);
                if (part.DataFile is not null)
                    CheckFile(folder, name, part.DataFile, part.DataSha256 ?? "", verifyHashes);
            }
        }

        return new ModelBundle(folder, manifest, stream);
    }

    /// <summary>Reads bundle.json: size-capped, every field checked (<see cref="ManifestValidation"/>), then its own hash.</summary>
    private static BundleManifest Parse(string manifestPath)
    {
        long length = new FileInfo(manifestPath).Length;
        if (length > ManifestValidation.MaxBytes)
            throw new BundleException($"{manifestPath}: {length} bytes; a bundle manifest is at most {ManifestValidation.MaxBytes} bytes.");
        BundleManifest manifest;
        try
        {
            byte[] bytes = File.ReadAllBytes(manifestPath);

            // JsonDocument accepts invalid UTF-8 inside strings and only fails when one is read: refuse it here.
            if (!System.Text.Unicode.Utf8.IsValid(bytes))
                throw new BundleException($"{manifestPath}: not valid UTF-8; a bundle manifest is UTF-8 JSON.");
            using (var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 16 }))
                ManifestValidation.Check(document.RootElement, manifestPath);
            manifest = JsonSerializer.Deserialize(bytes, BundleJson.Default.BundleManifest)
                ?? throw new BundleException($"{manifestPath}: the manifest is empty.");
        }
        catch (JsonException e)
        {
            throw new BundleException($"{manifestPath}: not valid JSON ({e.Message}).", e);
        }

        string actual = manifest.ComputeSha256();
        if (!string.Equals(actual, manifest.ManifestSha256, StringComparison.OrdinalIgnoreCase))
            throw new BundleException($"{manifestPath}: the manifest was altered after export: it records manifest_sha256 {manifest.ManifestSha256}, its content hashes to {actual}. Re-export the bundle (a hand-edited manifest is not trusted).");
        return manifest;
    }

    // Relations between fields that each passed ManifestValidation: the plan against the parts, the reference chain
    // (ReferenceNet → taps → fold → the UNet's inputs) against both.
    private static void CheckRelations(BundleManifest m, string manifestPath)
    {
        var reference = m.Parts[NetworkNames.ReferenceUNet];
        var fold = m.Parts[NetworkNames.ReferenceFold];
        foreach (string tap in m.Taps)
        {
            if (!reference.Outputs.Any(o => o.Name == tap) || !fold.Inputs.Any(i => i.Name == tap))
                throw new BundleException($"{manifestPath}: tap '{tap}' (taps) must be an output of reference_unet and an input of reference_fold.");
        }

        foreach (string name in (string[])[NetworkNames.ReferenceUNet, NetworkNames.ReferenceFold])
        {
            if (!m.Parts[name].Inputs.Any(i => i.Name == TensorNames.EncoderHiddenStates))
                throw new BundleException($"{manifestPath}: part '{name}' has no input '{TensorNames.EncoderHiddenStates}' (the CLIP embedding).");
        }

        var planInputs = m.UNetPlan.Inputs.ToHashSet(StringComparer.Ordinal);
        foreach (var output in fold.Outputs)
        {
            if (!planInputs.Contains(output.Name))
                throw new BundleException($"{manifestPath}: reference_fold's output '{output.Name}' is not an input of unet_plan.");
        }

        int frames = m.FramesPerLevel * m.Levels;
        for (int i = 0; i < m.UNetPlan.Steps.Count; i++)
        {
            var step = m.UNetPlan.Steps[i];
            if (step.StepKind == PlanStepKind.CrossNoiseAttention && step.Frames != frames)
                throw new BundleException($"{manifestPath}: 'unet_plan.steps[{i}].frames' is {step.Frames}, but the window holds frames_per_level × levels = {frames}.");
        }
    }

    /// <summary>sha256 of a file as lower-case hex.</summary>
    public static string Sha256Of(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static void CheckFile(string folder, string part, string relative, string expected, bool verify)
    {
        string path = Path.GetFullPath(Path.Combine(folder, relative));
        if (!path.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new BundleException($"{Path.Combine(folder, ManifestFileName)}: part '{part}' names '{relative}', which lies outside the bundle folder.");
        if (!File.Exists(path))
            throw new BundleException($"{path}: missing (part '{part}' of the bundle in {folder}).");
        if (!verify)
            return;
        string actual = Sha256Of(path);
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
            throw new BundleException($"{path}: content hash mismatch (part '{part}'): the manifest records sha256 {expected}, the file has {actual}. The file was altered or belongs to another export.");
    }

    private static StreamConfig StreamOf(BundleManifest m, string manifestPath)
    {
        StreamConfig stream;
        try
        {
            var s = m.Scheduler;
            stream = new StreamConfig
            {
                FramesPerLevel = m.FramesPerLevel,
                Levels = m.Levels,
                Height = m.Height,
                Width = m.Width,
                Scheduler = new SchedulerConfig
                {
                    TrainTimesteps = s.TrainTimesteps,
                    BetaStart = s.BetaStart,
                    BetaEnd = s.BetaEnd,
                    BetaSchedule = s.BetaSchedule switch
                    {
                        "scaled_linear" => BetaSchedule.ScaledLinear,
                        "linear" => BetaSchedule.Linear,
                        _ => throw new ArgumentException($"beta_schedule '{s.BetaSchedule}' is not supported (scaled_linear or linear)."),
                    },
                    RescaleZeroTerminalSnr = s.RescaleZeroTerminalSnr,
                },
            };
            stream.Validate();
        }
        catch (ArgumentException e)
        {
            throw new BundleException($"{manifestPath}: invalid stream configuration: {e.Message}", e);
        }

        var schedule = new LcmSchedule(stream);
        if (!schedule.FrameTimesteps.AsSpan().SequenceEqual(m.Timesteps))
            throw new BundleException($"{manifestPath}: timesteps [{string.Join(", ", m.Timesteps)}] disagree with the schedule the engine derives from the manifest's scheduler, [{string.Join(", ", schedule.FrameTimesteps)}].");
        return stream;
    }
}

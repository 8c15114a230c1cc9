using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Rain.Engine.Bundle;

/// <summary>
/// <c>bundle.json</c>: everything the engine needs besides the ONNX files (DESIGN §4): sizes, the stream window, the
/// scheduler, the guidance embedding, every part's I/O contract and content hash, and the UNet's step plan.
/// Written by <c>rain export</c>; read and validated by <see cref="ModelBundle.Load"/>.
/// </summary>
public sealed class BundleManifest
{
    /// <summary>
    /// The format version this engine reads and writes. 2: the reference fold (<c>reference_fold</c>, run once per
    /// reference) writes the UNet's reference keys, values and cross-attention rows; version 1's UNet took the taps and
    /// the CLIP embedding and is refused (re-export).
    /// </summary>
    public const int CurrentFormatVersion = 2;

    /// <summary>Format version of the file.</summary>
    [JsonPropertyName("format_version")]
    public required int FormatVersion { get; init; }

    /// <summary>Where the weights came from (a RAIN root, or "random weights, seed N").</summary>
    [JsonPropertyName("source")]
    public required string Source { get; init; }

    /// <summary>Image height H of pose images and output frames.</summary>
    [JsonPropertyName("height")]
    public required int Height { get; init; }

    /// <summary>Image width W.</summary>
    [JsonPropertyName("width")]
    public required int Width { get; init; }

    /// <summary>Height the reference image is resized to for the VAE encoder.</summary>
    [JsonPropertyName("reference_height")]
    public required int ReferenceHeight { get; init; }

    /// <summary>Width the reference image is resized to for the VAE encoder.</summary>
    [JsonPropertyName("reference_width")]
    public required int ReferenceWidth { get; init; }

    /// <summary>Side of the CLIP vision input.</summary>
    [JsonPropertyName("clip_image_size")]
    public required int ClipImageSize { get; init; }

    /// <summary>p: frames per chunk.</summary>
    [JsonPropertyName("frames_per_level")]
    public required int FramesPerLevel { get; init; }

    /// <summary>L: noise levels.</summary>
    [JsonPropertyName("levels")]
    public required int Levels { get; init; }

    /// <summary>Channels of the pose features (the UNet's first width).</summary>
    [JsonPropertyName("pose_channels")]
    public required int PoseChannels { get; init; }

    /// <summary>Per-frame timesteps, cleanest level first (F values).</summary>
    [JsonPropertyName("timesteps")]
    public required int[] Timesteps { get; init; }

    /// <summary>The training schedule the LCM coefficients derive from.</summary>
    [JsonPropertyName("scheduler")]
    public required SchedulerManifest Scheduler { get; init; }

    /// <summary>Guidance scale w of the embedding.</summary>
    [JsonPropertyName("guidance_scale")]
    public required float GuidanceScale { get; init; }

    /// <summary>The guidance embedding g (the UNet's <c>timestep_cond</c>, [1, D]).</summary>
    [JsonPropertyName("guidance_embedding")]
    public required float[] GuidanceEmbedding { get; init; }

    /// <summary>Names of the ReferenceNet taps (outputs of <c>reference_unet</c>, inputs of <c>reference_fold</c>), in order.</summary>
    [JsonPropertyName("taps")]
    public required string[] Taps { get; init; }

    /// <summary>Every ONNX file of the bundle by part name (file stem): contract and hashes.</summary>
    [JsonPropertyName("parts")]
    public required Dictionary<string, PartManifest> Parts { get; init; }

    /// <summary>The plan that runs the cut UNet.</summary>
    [JsonPropertyName("unet_plan")]
    public required StepPlan UNetPlan { get; init; }

    /// <summary>
    /// RAIN's pose models (YOLOX detector and DWPose/RTMPose estimator), when the export had them: what the pose front end
    /// (<see cref="Pose.PoseFrontEnd.Load(ModelBundle, Pose.PoseFrontEndOptions?)"/>) needs to make pose images from
    /// camera frames. Optional: a bundle without them animates pose images. Not network parts of the stream (no
    /// TensorRT plans are built for them).
    /// </summary>
    [JsonPropertyName("pose_models")]
    public PoseModelsManifest? PoseModels { get; init; }


    /// <summary>
    /// sha256 of the manifest's canonical form (<see cref="ComputeSha256"/>), recorded at export and checked at load, so a
    /// manifest edited by hand or damaged is refused rather than trusted (the parts' own hashes only protect the parts).
    /// </summary>
    [JsonPropertyName("manifest_sha256")]
    public string? ManifestSha256 { get; init; }

    /// <summary>Serialises to indented JSON as it stands (<see cref="ManifestSha256"/> as set; see <see cref="ToSealedJson"/>).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, BundleJson.Default.BundleManifest);

    /// <summary>The content of <c>bundle.json</c>: this manifest with <c>manifest_sha256</c> set to <see cref="ComputeSha256"/>.</summary>
    public string ToSealedJson()
    {
        var node = Canonical();
        node["manifest_sha256"] = Sha256Of(node);
        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>
    /// sha256 (lower-case hex) of the canonical form: every field but <c>manifest_sha256</c>, serialised compactly in the
    /// declared order, numbers in their shortest round-trip form. Whitespace and field order in the file do not change it.
    /// </summary>
    public string ComputeSha256() => Sha256Of(Canonical());

    private JsonObject Canonical()
    {
        var node = (JsonObject)JsonSerializer.SerializeToNode(this, BundleJson.Default.BundleManifest)!;
        node.Remove("manifest_sha256");
        return node;
    }

    private static string Sha256Of(JsonObject canonical) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToJsonString())));
}

/// <summary>The training-schedule constants (see <see cref="Streaming.SchedulerConfig"/>) and the derived per-frame coefficients.</summary>
public sealed class SchedulerManifest
{
    /// <summary>Training timesteps.</summary>
    [JsonPropertyName("train_timesteps")]
    public required int TrainTimesteps { get; init; }

    /// <summary>First beta.</summary>
    [JsonPropertyName("beta_start")]
    public required double BetaStart { get; init; }

    /// <summary>Last beta.</summary>
    [JsonPropertyName("beta_end")]
    public required double BetaEnd { get; init; }

    /// <summary>"scaled_linear" or "linear".</summary>
    [JsonPropertyName("beta_schedule")]
    public required string BetaSchedule { get; init; }

    /// <summary>Zero-terminal-SNR rescale.</summary>
    [JsonPropertyName("rescale_zero_terminal_snr")]
    public required bool RescaleZeroTerminalSnr { get; init; }

    /// <summary>LCM c_skip per frame (informative; the engine recomputes and compares).</summary>
    [JsonPropertyName("c_skip")]
    public required float[] CSkip { get; init; }

    /// <summary>LCM c_out per frame (informative; the engine recomputes and compares).</summary>
    [JsonPropertyName("c_out")]
    public required float[] COut { get; init; }
}

/// <summary>One ONNX file of the bundle.</summary>
public sealed class PartManifest
{
    /// <summary>The model file, relative to the bundle folder.</summary>
    [JsonPropertyName("file")]
    public required string File { get; init; }

    /// <summary>sha256 of the model file (lower-case hex).</summary>
    [JsonPropertyName("sha256")]
    public required string Sha256 { get; init; }

    /// <summary>The external-data file, when the model has one.</summary>
    [JsonPropertyName("data_file")]
    public string? DataFile { get; init; }

    /// <summary>sha256 of <see cref="DataFile"/>.</summary>
    [JsonPropertyName("data_sha256")]
    public string? DataSha256 { get; init; }

    /// <summary>Inputs in order.</summary>
    [JsonPropertyName("inputs")]
    public required TensorContract[] Inputs { get; init; }

    /// <summary>Outputs in order.</summary>
    [JsonPropertyName("outputs")]
    public required TensorContract[] Outputs { get; init; }
}

/// <summary>The two pose models of a bundle; each file is copied into the bundle and checked by hash like a part.</summary>
public sealed class PoseModelsManifest
{
    /// <summary>The YOLOX person detector (RAIN's <c>dwpose_detection_model_path</c>, e.g. <c>yolox_s.onnx</c>).</summary>
    [JsonPropertyName("detector")]
    public required PartManifest Detector { get; init; }

    /// <summary>The DWPose/RTMPose whole-body model (RAIN's <c>dwpose_landmark_model_path</c>, e.g. <c>dw-ll_ucoco_384.onnx</c>).</summary>
    [JsonPropertyName("estimator")]
    public required PartManifest Estimator { get; init; }
}

/// <summary>A tensor of a part's interface: name, element type ("float32", "uint8", "int64") and static shape.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Static shape.</param>
public sealed record TensorContract(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("dtype")] string DType,
    [property: JsonPropertyName("shape")] long[] Shape)
{
    /// <summary>Number of elements.</summary>
    [JsonIgnore]
    public long ElementCount => Shape.Aggregate(1L, (a, b) => checked(a * b));

    /// <summary><see cref="DType"/> as a <see cref="Tensors.TensorDType"/>.</summary>
    /// <exception cref="BundleException">An element type outside <see cref="Tensors.TensorDType"/>.</exception>
    [JsonIgnore]
    public Tensors.TensorDType ElementType => Tensors.TensorDTypes.TryParseOnnxName(DType, out var t) ? t
        : throw new BundleException($"tensor {Name}: unknown element type '{DType}'.");

    /// <summary>"name float32 [a, b]".</summary>
    public override string ToString() => $"{Name} {DType} [{string.Join(", ", Shape)}]";
}

/// <summary>Source-generated JSON for the bundle types (the engine is AOT-compatible).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(BundleManifest))]
[JsonSerializable(typeof(StepPlan))]
internal sealed partial class BundleJson : JsonSerializerContext;

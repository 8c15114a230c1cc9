using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Rain.Engine.Bundle;

namespace Rain.Engine.Backends.TensorRt;

/// <summary>
/// <c>engines/&lt;gpu-key&gt;/index.json</c> of a bundle: which plan file holds each engine and the key it was built for.
/// The folder (gpu key) names the TensorRT version, the GPU's SM, the precision and the UNet's form, so plans for several
/// GPUs, TensorRT versions or forms live side by side; the per-engine key also covers the model's content hash (for a
/// rewritten UNet model: its sources' hashes, the form and the rewrite's version) and I/O contract, so a plan is
/// rebuilt exactly when something it depends on changed.
/// </summary>
internal sealed class EngineIndex
{
    public const string FileName = "index.json";

    [JsonPropertyName("tensorrt")]
    public required string TensorRtVersion { get; init; }

    [JsonPropertyName("sm")]
    public required int ComputeCapability { get; init; }

    [JsonPropertyName("precision")]
    public required string Precision { get; init; }

    /// <summary>How the UNet was built (<c>cut</c> or <c>whole</c>, <see cref="UNetLayout.Name"/>).</summary>
    [JsonPropertyName("unet")]
    public required string UNet { get; init; }

    /// <summary>The builder workspace limit the plans were built with (part of every part's key).</summary>
    [JsonPropertyName("workspace_bytes")]
    public long WorkspaceBytes { get; init; }

    [JsonPropertyName("parts")]
    public required Dictionary<string, EnginePlanEntry> Parts { get; init; }

    /// <summary>The GPU (its name) whose measurements the folder's timing cache holds, or null when there is none.</summary>
    [JsonPropertyName("timing_cache_device")]
    public string? TimingCacheDevice { get; init; }

    /// <summary>The folder name under <c>engines/</c> for a TensorRT version, SM, precision and UNet form.</summary>
    public static string GpuKey(string tensorRtVersion, int sm, bool fp16, UNetForm unet) =>
        $"trt{tensorRtVersion}-sm{sm}-{(fp16 ? "fp16" : "fp32")}-{UNetLayout.Name(unet)}";

    /// <summary>
    /// The cache key of one part: sha256 over the part's model and data hashes, its I/O contract, the TensorRT version,
    /// the SM and the build flags (first 16 hex digits).
    /// </summary>
    public static string PartKey(PartManifest part, string tensorRtVersion, int sm, bool fp16, long workspaceBytes)
    {
        var text = new StringBuilder();
        text.Append("model=").Append(part.Sha256).Append(";data=").Append(part.DataSha256 ?? "-");
        foreach (var t in part.Inputs)
            text.Append(";in=").Append(t.ToString());
        foreach (var t in part.Outputs)
            text.Append(";out=").Append(t.ToString());
        text.Append(";trt=").Append(tensorRtVersion).Append(";sm=").Append(sm).Append(";fp16=").Append(fp16).Append(";ws=").Append(workspaceBytes);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    public static EngineIndex? TryRead(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
            return null;
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), EngineJson.Default.EngineIndex);
        }
        catch (JsonException)
        {
            return null; // a damaged index only costs a rebuild
        }
    }

    public void Write(string folder) => File.WriteAllText(Path.Combine(folder, FileName), JsonSerializer.Serialize(this, EngineJson.Default.EngineIndex));
}

/// <summary>One part's plan in an <see cref="EngineIndex"/>.</summary>
internal sealed class EnginePlanEntry
{
    [JsonPropertyName("plan")]
    public required string Plan { get; init; }

    [JsonPropertyName("key")]
    public required string Key { get; init; }

    [JsonPropertyName("plan_sha256")]
    public required string PlanSha256 { get; init; }

    [JsonPropertyName("build_seconds")]
    public double BuildSeconds { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(EngineIndex))]
internal sealed partial class EngineJson : JsonSerializerContext;

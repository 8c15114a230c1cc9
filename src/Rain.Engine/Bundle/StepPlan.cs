using System.Text.Json;
using System.Text.Json.Serialization;

namespace Rain.Engine.Bundle;

/// <summary>
/// The ordered steps that compute a cut network over named buffers (DESIGN §5): run an ONNX part, or run the
/// cross-noise attention kernel. Buffer names are tensor names; the plan's inputs and outputs are the network's.
/// </summary>
public sealed class StepPlan
{
    /// <summary>Network name.</summary>
    [JsonPropertyName("network")]
    public required string Network { get; init; }

    /// <summary>Network inputs (buffers the caller fills).</summary>
    [JsonPropertyName("inputs")]
    public required IReadOnlyList<string> Inputs { get; init; }

    /// <summary>Network outputs (buffers the caller reads).</summary>
    [JsonPropertyName("outputs")]
    public required IReadOnlyList<string> Outputs { get; init; }

    /// <summary>Steps in execution order.</summary>
    [JsonPropertyName("steps")]
    public required IReadOnlyList<PlanStep> Steps { get; init; }

    /// <summary>Serialises to indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, BundleJson.Default.StepPlan);

    /// <summary>Parses a plan written by <see cref="ToJson"/>.</summary>
    public static StepPlan FromJson(string json) =>
        JsonSerializer.Deserialize(json, BundleJson.Default.StepPlan) ?? throw new JsonException("The step plan is empty.");
}

/// <summary>One step of a <see cref="StepPlan"/>.</summary>
public sealed class PlanStep
{
    /// <summary>Kind of a step that runs an ONNX part.</summary>
    public const string RunPart = "run_part";

    /// <summary>Kind of a step that runs the cross-noise attention kernel.</summary>
    public const string CrossNoiseAttention = "cross_noise_attention";

    private readonly string _kind = "";

    /// <summary><see cref="RunPart"/> or <see cref="CrossNoiseAttention"/>; parsed into <see cref="StepKind"/> when set.</summary>
    [JsonPropertyName("kind")]
    public required string Kind
    {
        get => _kind;
        init
        {
            _kind = value;
            StepKind = value switch
            {
                RunPart => PlanStepKind.RunPart,
                CrossNoiseAttention => PlanStepKind.CrossNoiseAttention,
                _ => PlanStepKind.Unknown,
            };
        }
    }

    /// <summary><see cref="Kind"/> as an enum (parsed once, when the plan is read); <see cref="PlanStepKind.Unknown"/> for any other string.</summary>
    [JsonIgnore]
    public PlanStepKind StepKind { get; private init; }

    /// <summary>Part name (file stem) for <see cref="RunPart"/>.</summary>
    [JsonPropertyName("part")]
    public string? Part { get; init; }

    /// <summary>Attention name (module path) for <see cref="CrossNoiseAttention"/>.</summary>
    [JsonPropertyName("name")]
    public string? Name { get; init; }

    /// <summary>Buffers read (q, k, v for the attention).</summary>
    [JsonPropertyName("inputs")]
    public required IReadOnlyList<string> Inputs { get; init; }

    /// <summary>Buffers written.</summary>
    [JsonPropertyName("outputs")]
    public required IReadOnlyList<string> Outputs { get; init; }

    /// <summary>F for the attention.</summary>
    [JsonPropertyName("frames")]
    public int? Frames { get; init; }

    /// <summary>N = h·w for the attention.</summary>
    [JsonPropertyName("tokens")]
    public int? Tokens { get; init; }

    /// <summary>C for the attention.</summary>
    [JsonPropertyName("channels")]
    public int? Channels { get; init; }

    /// <summary>Heads for the attention.</summary>
    [JsonPropertyName("heads")]
    public int? Heads { get; init; }
}

/// <summary>What a <see cref="PlanStep"/> does (its JSON <c>kind</c>).</summary>
public enum PlanStepKind
{
    /// <summary>A kind this engine does not know (a bundle from a newer exporter); backends reject it.</summary>
    Unknown,

    /// <summary><c>run_part</c>: runs an ONNX part.</summary>
    RunPart,

    /// <summary><c>cross_noise_attention</c>: runs the cross-noise attention kernel.</summary>
    CrossNoiseAttention,
}

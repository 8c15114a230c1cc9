using System.Text.Json;
using Rain.Engine.Api;

namespace Rain.Native;

/// <summary>
/// <c>rain_engine_load</c>'s options: a JSON object whose keys are <see cref="EngineOptions"/>' properties in snake_case.
/// Unknown keys and values of the wrong type are refused with the key's name, so a typo never silently means "default".
/// </summary>
internal static class OptionsJson
{
    private static readonly string[] Keys =
    [
        "backend", "seed", "threads", "input_capacity", "output_capacity", "latest_frame_wins", "verify_bundle_hashes",
        "use_cuda_graph", "parallel_attention", "tensorrt_directory", "keep_reference_networks", "prepack_weights",
    ];

    public static EngineOptions Parse(string? json)
    {
        var options = new EngineOptions();
        if (string.IsNullOrWhiteSpace(json))
            return options;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"options_json is not valid JSON: {e.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new ArgumentException($"options_json must be a JSON object; found {document.RootElement.ValueKind}.");
            foreach (var property in document.RootElement.EnumerateObject())
                options = Apply(options, property.Name, property.Value);
        }

        return options;
    }

    private static EngineOptions Apply(EngineOptions o, string key, JsonElement v)
    {
        try
        {
            return key switch
            {
                "backend" => o with { Backend = Backend(String(key, v)) },
                "seed" => o with { Seed = v.ValueKind == JsonValueKind.Number && v.TryGetUInt64(out ulong seed) ? seed : throw Wrong(key, "an integer from 0 to 2^64-1", v) },
                "threads" => o with { Threads = Int(key, v) },
                "input_capacity" => o with { InputCapacity = Int(key, v) },
                "output_capacity" => o with { OutputCapacity = Int(key, v) },
                "latest_frame_wins" => o with { LatestFrameWins = Bool(key, v) },
                "verify_bundle_hashes" => o with { VerifyBundleHashes = Bool(key, v) },
                "use_cuda_graph" => o with { UseCudaGraph = Bool(key, v) },
                "parallel_attention" => o with { ParallelAttention = Bool(key, v) },
                "keep_reference_networks" => o with { KeepReferenceNetworks = Bool(key, v) },
                "prepack_weights" => o with { PrepackWeights = Bool(key, v) },
                "tensorrt_directory" => o with { TensorRtDirectory = v.ValueKind == JsonValueKind.Null ? null : String(key, v) },
                _ => throw new ArgumentException($"options_json: unknown key \"{key}\"; the keys are {string.Join(", ", Keys)}."),
            };
        }
        catch (ArgumentOutOfRangeException e)
        {
            // EngineOptions names the property and the allowed range; say which JSON key that was.
            throw new ArgumentException($"options_json: \"{key}\": {e.Message}", e);
        }
    }

    private static EngineBackend Backend(string value) => value switch
    {
        "cpu" => EngineBackend.Cpu,
        "tensorrt" => EngineBackend.TensorRt,
        _ => throw new ArgumentException($"options_json: \"backend\" must be \"cpu\" or \"tensorrt\"; found \"{value}\"."),
    };

    private static int Int(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw Wrong(key, "an integer", v);

    private static bool Bool(string key, JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Wrong(key, "true or false", v),
    };

    private static string String(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Wrong(key, "a string", v);

    private static ArgumentException Wrong(string key, string expected, JsonElement found) =>
        new($"options_json: \"{key}\" must be {expected}; found {found.GetRawText()}.");
}

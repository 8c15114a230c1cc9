using System.Text.Json;
using Rain.Engine.Tensors;

namespace Rain.Models.Checkpoints;

/// <summary>A tensor a full-size RAIN checkpoint is expected to hold.</summary>
/// <param name="Name">The state-dict key.</param>
/// <param name="Shape">The full-size shape.</param>
/// <param name="DType">The construction dtype (float32 for weights; released files may store float16).</param>
/// <param name="IsBuffer">True for registered buffers (motion-module <c>pos_encoder.pe</c>, CLIP <c>position_ids</c>), which some checkpoints omit.</param>
public sealed record ExpectedTensor(string Name, IReadOnlyList<long> Shape, TensorDType DType, bool IsBuffer)
{
    /// <summary>The shape as "[a, b, c]".</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>The keys, shapes and dtypes of one full-size RAIN module, in state-dict order.</summary>
public sealed class RainKeySet
{
    internal RainKeySet(string module, string? note, IReadOnlyList<ExpectedTensor> tensors)
    {
        Module = module;
        Note = note;
        Tensors = tensors;
    }

    /// <summary>The module name (e.g. "denoising_unet").</summary>
    public string Module { get; }

    /// <summary>Provenance remarks from the key file, if any.</summary>
    public string? Note { get; }

    /// <summary>Every expected tensor, in state-dict order.</summary>
    public IReadOnlyList<ExpectedTensor> Tensors { get; }
}

/// <summary>
/// The state-dict key sets of the full-size RAIN modules (reference_unet, denoising_unet, pose_guider, taesdv,
/// vae_sd_vae_ft_mse, clip_image_encoder), embedded from RAIN's own code at commit 21bc4f3. Thread-safe.
/// </summary>
public static class RainKeySets
{
    private static readonly Lazy<Dictionary<string, RainKeySet>> All = new(Load);

    /// <summary>The module names, in the key file's order.</summary>
    public static IReadOnlyList<string> Modules => [.. All.Value.Keys];

    /// <summary>The key set of <paramref name="module"/>.</summary>
    /// <exception cref="ArgumentException">Unknown module; the message lists the known ones.</exception>
    public static RainKeySet Get(string module) =>
        All.Value.TryGetValue(module, out var set)
            ? set
            : throw new ArgumentException($"Unknown RAIN module '{module}'; known: {string.Join(", ", All.Value.Keys)}.", nameof(module));

    private static Dictionary<string, RainKeySet> Load()
    {
        using var stream = typeof(RainKeySets).Assembly.GetManifestResourceStream("Rain.Models.fullsize_keys.json")
            ?? throw new InvalidOperationException("The embedded resource Rain.Models.fullsize_keys.json is missing from the build.");
        using var doc = JsonDocument.Parse(stream);
        var result = new Dictionary<string, RainKeySet>(StringComparer.Ordinal);
        foreach (var module in doc.RootElement.EnumerateObject())
        {
            if (module.Value.ValueKind != JsonValueKind.Object)
                continue; // "_about"
            var tensors = new List<ExpectedTensor>();
            foreach (var key in module.Value.GetProperty("keys").EnumerateArray())
            {
                string dtypeName = key[2].GetString()!;
                if (!TensorDTypes.TryParseSafetensorsName(dtypeName, out var dtype))
                    throw new InvalidOperationException($"fullsize_keys.json: {module.Name}: unknown dtype {dtypeName}.");
                bool buffer = key.GetArrayLength() > 3 && key[3].GetString() == "buffer";
                tensors.Add(new ExpectedTensor(key[0].GetString()!, [.. key[1].EnumerateArray().Select(d => d.GetInt64())], dtype, buffer));
            }

            string? note = module.Value.TryGetProperty("note", out var n) ? n.GetString() : null;
            result.Add(module.Name, new RainKeySet(module.Name, note, tensors));
        }

        return result;
    }
}

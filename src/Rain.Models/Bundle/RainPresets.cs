using System.Security.Cryptography;

namespace Rain.Models.Bundle;

/// <summary>
/// RAIN configuration sets shipped inside the exporter, for bundles with random weights: a RAIN root with
/// <c>configs/rain_morpher.yaml</c>, <c>configs/unet.json</c> and the VAE and image-encoder <c>config.json</c>, no
/// weights. <c>tiny</c> is the golden tests' architecture (64×128, widths 32/32/32/64) and what <c>rain demo</c> runs;
/// <c>bench</c> has RAIN's real widths (320/640/1280/1280, 8 heads, cross-attention 768, ViT-L/14 CLIP, SD VAE) at 128×128.
/// </summary>
public static class RainPresets
{
    private const string Prefix = "Rain.Models.presets/";

    /// <summary>The preset names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["tiny", "bench"];

    /// <summary>Writes preset <paramref name="name"/> as a RAIN root into <paramref name="folder"/>; returns its yaml path.</summary>
    /// <exception cref="ArgumentException">No preset has that name.</exception>
    public static string Materialize(string name, string folder)
    {
        var files = Files(name);
        foreach (var (relative, bytes) in files)
        {
            string path = Path.Combine(folder, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
        }

        return Path.Combine(folder, "configs", "rain_morpher.yaml");
    }

    /// <summary>sha256 over the preset's file names and contents (a cache key for bundles exported from it).</summary>
    public static string Hash(string name)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (relative, bytes) in Files(name))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(relative + "\n"));
            sha.AppendData(bytes);
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static List<(string Relative, byte[] Bytes)> Files(string name)
    {
        var assembly = typeof(RainPresets).Assembly;
        string prefix = Prefix + name + "/";
        var result = new List<(string, byte[])>();
        foreach (string resource in assembly.GetManifestResourceNames().Where(r => r.Replace('\\', '/').StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            result.Add((resource.Replace('\\', '/')[prefix.Length..], copy.ToArray()));
        }

        if (result.Count == 0)
            throw new ArgumentException($"No preset '{name}'; the presets are {string.Join(", ", Names)}.", nameof(name));
        return result;
    }
}

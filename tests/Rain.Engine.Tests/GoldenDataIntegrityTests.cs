using System.Security.Cryptography;
using System.Text.Json;
using Rain.Testing;

namespace Rain.Engine.Tests;

/// <summary>The repository's copy of the golden data is byte-identical to what the manifest describes.</summary>
public sealed class GoldenDataIntegrityTests
{
    public static TheoryData<string> ManifestFiles() => new(ListedFiles());

    private static List<string> ListedFiles()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(GoldenData.PathOf("manifest.json")));
        return doc.RootElement.GetProperty("files").EnumerateObject().Select(f => f.Name).ToList();
    }

    [Theory]
    [MemberData(nameof(ManifestFiles))]
    public void FileMatchesManifestSha256(string relative)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(GoldenData.PathOf("manifest.json")));
        var entry = doc.RootElement.GetProperty("files").GetProperty(relative);
        string expected = entry.GetProperty("sha256").GetString()!;
        byte[] bytes = File.ReadAllBytes(GoldenData.PathOf(relative));
        Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        if (entry.TryGetProperty("bytes", out var size))
            Assert.Equal(size.GetInt64(), bytes.LongLength);
    }

    [Fact]
    public void ManifestListsEveryVector()
    {
        var listed = ListedFiles().ToHashSet();
        foreach (string file in Directory.GetFiles(GoldenData.Root, "0*.safetensors"))
            Assert.Contains(Path.GetFileName(file), listed);
    }
}

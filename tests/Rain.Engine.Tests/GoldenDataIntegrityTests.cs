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

/// <summary>
/// The repository's copy of the pose front end's golden set (<c>tests/data/golden/dwpose</c>) is byte-identical to the
/// team's original (its <c>SHA256SUMS</c>, made from <c>shared/golden/dwpose</c> when it was copied), and agrees with the
/// hashes its generator wrote into <c>dwpose_config.json</c> (the stand-in models' file hashes, each frame's RGB pixels).
/// </summary>
public sealed class DwposeGoldenIntegrityTests
{
    public static TheoryData<string> ListedFiles() => new(Sums().Keys);

    private static Dictionary<string, string> Sums() =>
        File.ReadAllLines(DwposeGolden.PathOf("SHA256SUMS")).Where(l => l.Length > 0)
            .ToDictionary(l => l[66..], l => l[..64], StringComparer.Ordinal);

    [Theory]
    [MemberData(nameof(ListedFiles))]
    public void FileMatchesItsSha256(string relative) =>
        Assert.Equal(Sums()[relative], Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(DwposeGolden.PathOf(relative)))));

    [Fact]
    public void EveryFileIsListed()
    {
        string root = DwposeGolden.PathOf("");
        var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).Where(f => f != "SHA256SUMS").Order(StringComparer.Ordinal);
        Assert.Equal(files, Sums().Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ModelsAndFramesMatchTheGeneratorsHashes()
    {
        using var config = JsonDocument.Parse(File.ReadAllBytes(DwposeGolden.PathOf("dwpose_config.json")));
        var models = config.RootElement.GetProperty("models");
        foreach (var (role, file) in new[] { ("detector", "yolox_standin.onnx"), ("pose", "rtmpose_standin.onnx") })
        {
            Assert.Equal(file, models.GetProperty(role).GetProperty("file").GetString());
            Assert.Equal(models.GetProperty(role).GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(DwposeGolden.PathOf(file)))));
        }

        var frames = config.RootElement.GetProperty("frames").EnumerateArray().ToList();
        Assert.Equal(DwposeGolden.Frames, frames.Count);
        foreach (var frame in frames)
        {
            var image = Rain.Engine.Media.ImageCodec.Load(DwposeGolden.PathOf(frame.GetProperty("file").GetString()!));
            Assert.Equal((frame.GetProperty("width").GetInt32(), frame.GetProperty("height").GetInt32()), (image.Width, image.Height));
            Assert.Equal(frame.GetProperty("sha256_rgb").GetString(), Convert.ToHexStringLower(SHA256.HashData(image.Pixels)));
        }
    }
}

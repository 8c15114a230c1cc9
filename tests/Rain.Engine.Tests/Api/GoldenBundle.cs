using System.Text.Json;
using System.Text.Json.Nodes;
using Rain.Engine.Bundle;
using Rain.Models.Bundle;
using Rain.Models.Config;
using Rain.Testing;

namespace Rain.Engine.Tests.Api;

/// <summary>The golden RAIN checkout exported once into a bundle for the engine tests (deleted at the end).</summary>
public sealed class GoldenBundle : IDisposable
{
    public GoldenBundle()
    {
        Root = Directory.CreateTempSubdirectory("rain-engine-tests-").FullName;
        Folder = Path.Combine(Root, "bundle");
        BundleExport.Write(RainConfig.Load(GoldenData.PathOf("configs/rain_morpher.yaml")), Folder);
    }

    public string Root { get; }

    public string Folder { get; }

    /// <summary>A copy of the bundle that a test may alter.</summary>
    public string Copy(string name)
    {
        string target = Path.Combine(Root, name);
        Directory.CreateDirectory(target);
        foreach (string file in Directory.EnumerateFiles(Folder))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
        return target;
    }

    /// <summary>
    /// Edits a bundle's manifest as JSON; with <paramref name="seal"/>, records the edited manifest's own hash as an export
    /// would (to test what lies behind the manifest check), without it leaves the recorded hash stale.
    /// </summary>
    public static void EditManifest(string folder, Action<JsonNode> edit, bool seal = true)
    {
        string path = Path.Combine(folder, ModelBundle.ManifestFileName);
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        edit(json);
        string text = json.ToJsonString();
        if (seal)
            text = JsonSerializer.Deserialize(text, BundleJson.Default.BundleManifest)!.ToSealedJson();
        File.WriteAllText(path, text);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

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

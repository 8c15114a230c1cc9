namespace Rain.Testing;

/// <summary>Locates the golden tensors copied into the repository (<c>tests/data/golden</c>).</summary>
public static class GoldenData
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);

    /// <summary>Absolute path of <c>tests/data/golden</c>.</summary>
    public static string Root => RootLazy.Value;

    /// <summary>Absolute path of a file below the golden root.</summary>
    public static string PathOf(string relative) => Path.Combine(Root, relative);

    /// <summary>Reads a golden safetensors file.</summary>
    public static MiniSafetensors Open(string relative) => MiniSafetensors.Read(PathOf(relative));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "data", "golden");
            if (File.Exists(Path.Combine(candidate, "manifest.json")))
                return candidate;
        }

        throw new DirectoryNotFoundException($"tests/data/golden/manifest.json not found above {AppContext.BaseDirectory}.");
    }
}

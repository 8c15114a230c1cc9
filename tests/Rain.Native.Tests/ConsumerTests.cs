using System.IO.Compression;
using System.Text.RegularExpressions;
using Rain.Engine.Api;
using Rain.Testing;

namespace Rain.Native.Tests;

/// <summary>The library as each ecosystem consumes it: CMake's find_package, Python's ctypes, a .NET app through NuGet,
/// and the packages' contents. Each runs the example file the README shows.</summary>
[Collection(NativeCollection.Name)]
public sealed partial class ConsumerTests(NativeDist native)
{
    private static string Example(params string[] parts) => Path.Combine([NativeDist.Repo, "examples", .. parts]);

    [SkippableFact]
    public void ACMakeProjectFindsRainAndLinksTheImportedTarget()
    {
        Requires.Program("cmake", "the C++ example is a CMake project");
        Requires.Program("g++", "the C++ example is compiled with the machine's C++ compiler");
        string build = Path.Combine(native.Root, "cmake-build");
        NativeDist.RunOk("cmake", ["-S", Example("cpp"), "-B", build, $"-DCMAKE_PREFIX_PATH={native.Dist}"]);
        NativeDist.RunOk("cmake", ["--build", build]);
        string output = NativeDist.RunOk(Path.Combine(build, "animate"), [native.Bundle, "24"]);
        Assert.Matches(@"^[1-9]\d* frames of \d+x\d+ from 24 poses \(Rain\.Engine \d+\.\d+\.\d+\)", output);
    }

    [SkippableFact]
    public void ThePythonCtypesExampleMakesTheManagedAPIsFrames()
    {
        Requires.Tool(File.Exists("/usr/bin/python3"), "/usr/bin/python3 is not installed (the ctypes example runs with Debian's python3)");
        using var probe = RainEngine.Load(native.Bundle);
        var reference = Inputs.Reference(64, 48);
        var poses = Inputs.Poses(19, probe.Width, probe.Height);
        string refPath = Path.Combine(native.Root, "py-ref.rgb"), posesPath = Path.Combine(native.Root, "py-poses.rgb"), outPath = Path.Combine(native.Root, "py-out.rgb");
        Inputs.WriteRaw(refPath, reference);
        Inputs.WriteRaw(posesPath, poses);

        string output = NativeDist.RunOk("/usr/bin/python3", [Example("python", "animate.py"), "--library", native.Library, "--bundle", native.Bundle, "--seed", "5",
            "--reference-rgb", refPath, "--reference-size", "64x48", "--poses-rgb", posesPath, "--out-rgb", outPath]);

        byte[] expected = Inputs.ManagedFrames(native.Bundle, 5, reference, poses, out int frames);
        Assert.Contains($"{frames} frames of {probe.Width}x{probe.Height}", output, StringComparison.Ordinal);
        Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(outPath)), "the Python example's frames differ from the managed API's");
    }

    [SkippableFact]
    public void ADotnetAppRunsFromTheRainEnginePackage()
    {
        string app = Path.Combine(native.Root, "dotnet-app");
        Directory.CreateDirectory(app);
        foreach (string file in Directory.GetFiles(Example("dotnet")))
            File.Copy(file, Path.Combine(app, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="rain-dist" value="{Path.Combine(native.Dist, "nuget")}" />
              </packageSources>
            </configuration>
            """);
        ForgetCachedRainPackages();
        string frames = Directory.CreateDirectory(Path.Combine(native.Root, "dotnet-frames")).FullName;
        string output = NativeDist.RunOk("dotnet", ["run", "--project", app, "--", native.Bundle, frames, "24"], workingDirectory: app);
        int written = Directory.GetFiles(frames, "frame_*.png").Length;
        Assert.True(written > 0, output);
        Assert.Contains($"{written} frames of", output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void ThePackagesHoldTheLibraryTheHeaderDocsAndReadmes()
    {
        string nuget = Path.Combine(native.Dist, "nuget");
        string version = Regex.Match(File.ReadAllText(Path.Combine(native.Dist, "lib", "pkgconfig", "rain.pc")), @"Version: (\S+)").Groups[1].Value;
        Assert.NotEmpty(version);
        using (var engine = ZipFile.OpenRead(Path.Combine(nuget, $"Rain.Engine.{version}.nupkg")))
        {
            var names = engine.Entries.Select(e => e.FullName).ToHashSet();
            Assert.Contains("lib/net10.0/Rain.Engine.dll", names);
            Assert.Contains("lib/net10.0/Rain.Engine.xml", names);
            Assert.Contains("PACKAGE.md", names);
            string nuspec = new StreamReader(engine.GetEntry("Rain.Engine.nuspec")!.Open()).ReadToEnd();
            Assert.Contains("<dependency id=\"Rain.Kernels\"", nuspec, StringComparison.Ordinal);
            Assert.Contains("<dependency id=\"Microsoft.ML.OnnxRuntime\"", nuspec, StringComparison.Ordinal);
        }

        Assert.True(File.Exists(Path.Combine(nuget, $"Rain.Kernels.{version}.nupkg")));
        using var nativePackage = ZipFile.OpenRead(Path.Combine(nuget, $"Rain.Engine.Native.{version}.nupkg"));
        var entries = nativePackage.Entries.ToDictionary(e => e.FullName, e => e.Length);
        Assert.True(entries.ContainsKey("runtimes/linux-x64/native/librain.so"), string.Join(", ", entries.Keys));
        Assert.True(entries.ContainsKey("runtimes/linux-x64/native/libonnxruntime.so"), "librain loads ONNX Runtime from its own folder");
        Assert.Equal(new FileInfo(native.Library).Length, entries["runtimes/linux-x64/native/librain.so"]);
        Assert.Equal(new FileInfo(Path.Combine(NativeDist.Repo, "include", "rain.h")).Length, entries["include/rain.h"]);
    }

    [SkippableFact]
    public void EveryREADMEEmbeddingSnippetIsPartOfATestedExample()
    {
        _ = native.Dist; // the examples are only tested where the dist can be built
        string readme = File.ReadAllText(Path.Combine(NativeDist.Repo, "README.md"));
        int start = readme.IndexOf("\n## Embedding", StringComparison.Ordinal);
        Assert.True(start >= 0, "README has no \"## Embedding\" section");
        int end = readme.IndexOf("\n## ", start + 5, StringComparison.Ordinal);
        string section = readme[start..(end < 0 ? readme.Length : end)];
        var sources = new Dictionary<string, string>
        {
            ["c"] = File.ReadAllText(Example("c", "animate.c")),
            ["cpp"] = File.ReadAllText(Example("cpp", "animate.cpp")),
            ["cmake"] = File.ReadAllText(Example("cpp", "CMakeLists.txt")),
            ["python"] = File.ReadAllText(Example("python", "animate.py")),
            ["csharp"] = File.ReadAllText(Example("dotnet", "Program.cs")),
            ["xml"] = File.ReadAllText(Example("dotnet", "Animate.csproj")),
        };
        var blocks = Snippet().Matches(section);
        Assert.True(blocks.Count >= 5, $"the Embedding section shows {blocks.Count} snippets");
        foreach (Match block in blocks)
        {
            string language = block.Groups[1].Value, code = block.Groups[2].Value;
            if (!sources.TryGetValue(language, out string? source))
                continue; // shell commands
            foreach (string line in code.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && l != "..." && !l.StartsWith("// …", StringComparison.Ordinal)))
                Assert.True(source.Contains(line, StringComparison.Ordinal), $"README {language} line not in the tested example: {line}");
        }
    }

    private static void ForgetCachedRainPackages()
    {
        // NuGet caches a package by id and version: a rebuilt 0.1.0 would otherwise be restored from the stale copy.
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (string id in new[] { "rain.engine", "rain.kernels" })
        {
            string dir = Path.Combine(cache, id);
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
    }

    [GeneratedRegex(@"```(\w+)\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex Snippet();
}

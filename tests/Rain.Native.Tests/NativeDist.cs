using System.Diagnostics;
using Rain.Models.Bundle;
using Rain.Models.Config;
using Rain.Testing;

namespace Rain.Native.Tests;

/// <summary>
/// Everything the native tests share, made once per run: the dist folder built by the documented command
/// (<c>tools/dist.sh</c>: the NativeAOT librain, the header, pkg-config and CMake files, the NuGet packages) and the
/// golden RAIN checkout exported as a bundle. Building librain needs a C toolchain for NativeAOT's link step.
/// </summary>
public sealed class NativeDist : IDisposable
{
    private readonly Lazy<string> _dist;

    public NativeDist()
    {
        Root = Directory.CreateTempSubdirectory("rain-native-tests-").FullName;
        Bundle = Path.Combine(Root, "bundle");
        var config = RainConfig.Load(GoldenData.PathOf("configs/rain_morpher.yaml"));
        BundleExport.Write(config, Bundle);
        PoseBundle = Path.Combine(Root, "pose-bundle");
        BundleExport.Write(config, PoseBundle, poseModels: (DwposeGolden.Detector, DwposeGolden.Estimator));
        _dist = new Lazy<string>(BuildDist);
    }

    public string Root { get; }

    /// <summary>The golden export without pose models.</summary>
    public string Bundle { get; }

    /// <summary>The golden export with the DWPose stand-ins as its pose models (camera frames work).</summary>
    public string PoseBundle { get; }

    /// <summary>The repository root (the folder holding Rain.Engine.sln).</summary>
    public static string Repo { get; } = FindRepo();

    /// <summary>The dist folder (built on first use; skips the test, or fails it under CI, without gcc).</summary>
    public string Dist
    {
        get
        {
            Requires.Program("gcc", "NativeAOT links librain with the C toolchain, and the C tests compile with it");
            return _dist.Value;
        }
    }

    public string Library => Path.Combine(Dist, "lib", "librain.so");

    /// <summary>Runs a program; returns its exit code and the combined output.</summary>
    public static (int Exit, string Output) Run(string program, IEnumerable<string> arguments, string? workingDirectory = null,
        IDictionary<string, string>? environment = null, int timeoutSeconds = 600)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? Repo };
        foreach (string a in arguments)
            start.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} ran longer than {timeoutSeconds} s.");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary><see cref="Run"/>, failing the test with the output when the exit code is not 0.</summary>
    public static string RunOk(string program, IEnumerable<string> arguments, string? workingDirectory = null, IDictionary<string, string>? environment = null)
    {
        var (exit, output) = Run(program, arguments, workingDirectory, environment);
        Assert.True(exit == 0, $"{program} {string.Join(' ', arguments)} exited {exit}:\n{output}");
        return output;
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

    private string BuildDist()
    {
        string dist = Path.Combine(Root, "dist");
        RunOk("bash", [Path.Combine(Repo, "tools", "dist.sh"), dist]);
        return dist;
    }

    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Rain.Engine.sln")))
                return dir.FullName;
        }

        throw new InvalidOperationException($"No Rain.Engine.sln above {AppContext.BaseDirectory}.");
    }
}

[CollectionDefinition(Name)]
public sealed class NativeCollection : ICollectionFixture<NativeDist>
{
    public const string Name = "native dist";
}

using Xunit;

namespace Rain.Testing;

/// <summary>
/// Tests that need an optional tool (g++, NVRTC, ffmpeg, chromium, cmake, python3, …): mark them <c>[SkippableFact]</c> /
/// <c>[SkippableTheory]</c> and call <see cref="Tool"/> first. Without the tool the test reports <b>Skipped</b> with the
/// reason — never Passed by returning early — except under <c>CI=true</c>, where every tool is required and its absence
/// fails the test.
/// </summary>
public static class Requires
{
    /// <summary>True when the environment variable <c>CI</c> is <c>true</c> (set by <c>.ci/run</c>).</summary>
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Skips the calling test with <paramref name="reason"/> unless <paramref name="available"/>; under CI=true, fails it instead.</summary>
    public static void Tool(bool available, string reason)
    {
        if (available)
            return;
        if (InCi)
            throw new Xunit.Sdk.XunitException($"CI=true requires this test's tool, and it is missing: {reason}");
        throw new SkipException(reason);
    }

    /// <summary>The full path of <paramref name="program"/> on PATH, or null.</summary>
    public static string? OnPath(string program)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
                return candidate;
        }

        return null;
    }

    /// <summary><see cref="OnPath"/>, skipping (or under CI failing) the test when <paramref name="program"/> is absent.</summary>
    public static string Program(string program, string why)
    {
        string? path = OnPath(program);
        Tool(path is not null, $"{program} is not on PATH ({why})");
        return path!;
    }
}

using System.Text.RegularExpressions;

namespace Rain.Engine.Tests;

/// <summary>One test-naming style across the test projects: a test method is a PascalCase sentence, no underscores.</summary>
public sealed partial class TestNamingTests
{
    [Fact]
    public void EveryTestMethodIsAPascalCaseSentence()
    {
        string tests = Path.Combine(GpuCheck.RepositoryRoot, "tests");
        var offenders = new List<string>();
        int seen = 0;
        foreach (string file in Directory.EnumerateFiles(tests, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                continue;
            bool pending = false;
            foreach (string line in File.ReadLines(file))
            {
                if (TestAttribute().IsMatch(line))
                    pending = true;
                var m = Method().Match(line);
                if (!m.Success)
                    continue;
                if (pending)
                {
                    seen++;
                    string name = m.Groups[1].Value;
                    if (name.Contains('_', StringComparison.Ordinal) || !char.IsUpper(name[0]))
                        offenders.Add($"{Path.GetRelativePath(tests, file)}: {name}");
                }

                pending = false;
            }
        }

        Assert.True(seen > 300, $"found only {seen} test methods under {tests}; the scan no longer sees the tests");
        Assert.True(offenders.Count == 0, "test methods not in PascalCase:\n" + string.Join('\n', offenders));
    }

    [GeneratedRegex(@"\[(?:\w+\.)?(?:Fact|Theory|SkippableFact|SkippableTheory|GpuFact|GpuTheory)\b")]
    private static partial Regex TestAttribute();

    [GeneratedRegex(@"public\s+(?:static\s+)?(?:async\s+)?(?:Task|ValueTask|void)\s+(\w+)\s*\(")]
    private static partial Regex Method();
}

using Rain.Testing.Fuzzing;
using Xunit.Abstractions;

namespace Rain.Models.Tests;

/// <summary>The fuzz tests run alone: they measure the process's peak resident set, which other tests would disturb.</summary>
[CollectionDefinition(nameof(FuzzCollection), DisableParallelization = true)]
public sealed class FuzzCollection;

/// <summary>
/// A time-bounded sample of seeded mutation fuzzing over every input format (<see cref="FuzzTargets"/>): each mutant is
/// read as the product reads it and must either be accepted or refused with the format's own exception, within a
/// deadline (a hang fails the test) and within a memory bound — managed bytes the reading thread allocated, and the
/// growth of the peak resident set (native and mapped memory included). The nightly-size run (10⁵ mutants and more) is
/// <c>dotnet run -c Release --project bench/Rain.Bench -- fuzz</c>.
/// </summary>
[Collection(nameof(FuzzCollection))]
public sealed class MutationFuzzTests(FuzzTargets targets, ITestOutputHelper output) : IClassFixture<FuzzTargets>
{
    public static TheoryData<string, int> Targets()
    {
        var data = new TheoryData<string, int>();
        for (int i = 0; i < FuzzTargets.Names.Count; i++)
            data.Add(FuzzTargets.Names[i], i + 1);
        return data;
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void MutantsAreReadOrRefusedInTimeAndMemory(string target, int seed)
    {
        // Peak-RSS growth may exceed the managed bound by what the runtime commits for it and what a mutant maps.
        var report = MutationFuzzer.Run(targets.Create(target), seed, maxMutants: 4000, budget: TimeSpan.FromSeconds(2), deadline: TimeSpan.FromSeconds(30),
            rssBound: managed => (2 * managed) + (256L << 20), minMutants: 50);
        output.WriteLine(report.ToString());
        Assert.True(report.Mutants >= 50, $"only {report.Mutants} mutants ran");
        Assert.True(report.Refused > 0, "no mutant was refused: the mutations do not reach the parser");
    }

    [Fact]
    public void AHangingReaderIsCaughtByTheDeadlineAndAnUnexpectedExceptionIsReported()
    {
        var hang = new FuzzTarget("hang", [1, 2, 3], 0, 3, _ => Thread.Sleep(Timeout.Infinite), _ => false, _ => long.MaxValue);
        var e = Assert.Throws<FuzzFailureException>(() => MutationFuzzer.Run(hang, 1, 10, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200)));
        Assert.Contains("did not finish within", e.Message, StringComparison.Ordinal);

        var crash = new FuzzTarget("crash", [1, 2, 3], 0, 3, _ => throw new KeyNotFoundException("boom"), e => e is InvalidDataException, _ => long.MaxValue);
        e = Assert.Throws<FuzzFailureException>(() => MutationFuzzer.Run(crash, 1, 10, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5)));
        Assert.Contains("threw KeyNotFoundException: boom", e.Message, StringComparison.Ordinal);

        var greedy = new FuzzTarget("greedy", [1, 2, 3], 0, 3, _ => GC.KeepAlive(new byte[1 << 20]), _ => false, n => 1024);
        e = Assert.Throws<FuzzFailureException>(() => MutationFuzzer.Run(greedy, 1, 10, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5)));
        Assert.Contains("managed bytes", e.Message, StringComparison.Ordinal);
    }
}

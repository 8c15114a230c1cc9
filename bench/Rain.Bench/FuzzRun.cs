using System.Globalization;
using System.Runtime.InteropServices;
using Rain.Testing.Fuzzing;

namespace Rain.Bench;

/// <summary>
/// <c>fuzz</c>: the nightly-size mutation fuzzing run — every target of <see cref="FuzzTargets"/> (checkpoints, pickles,
/// images, bundle.json, the RAIN yaml, ONNX parts) with <c>--mutants</c> mutants each (default 10,000: 110,000 in all),
/// each mutant under a deadline, managed and peak-RSS memory measured per mutant. Exit code 1 on the first failure, whose
/// mutant is saved for replay. Usage: <c>dotnet run -c Release --project bench/Rain.Bench -- fuzz [--mutants N] [--seed S]
/// [--target NAME]</c>.
/// </summary>
internal static class FuzzRun
{
    public static int Run(string[] args)
    {
        int mutants = CheckpointReadRun.IntArg(args, "--mutants", 10_000);
        int seed = CheckpointReadRun.IntArg(args, "--seed", 1);
        string? only = CheckpointReadRun.StringArg(args, "--target");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}");
        using var targets = new FuzzTargets();
        long total = 0;
        foreach (string name in FuzzTargets.Names.Where(n => only is null || n == only))
        {
            FuzzReport report;
            try
            {
                report = MutationFuzzer.Run(targets.Create(name), seed++, mutants, TimeSpan.FromHours(1), TimeSpan.FromSeconds(30),
                    rssBound: managed => (2 * managed) + (256L << 20));
            }
            catch (FuzzFailureException e)
            {
                Console.WriteLine($"FAIL {e.Message}");
                return 1;
            }

            total += report.Mutants;
            Console.WriteLine(report);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PASS: {total} mutants, every one read or refused with its format's error, within its deadline and memory bound"));
        return 0;
    }
}

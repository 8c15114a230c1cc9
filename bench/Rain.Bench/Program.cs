using BenchmarkDotNet.Running;
using Rain.Bench;

// Micro benchmarks: `dotnet run -c Release --project bench/Rain.Bench -- --filter '*'` (BenchmarkDotNet switches).
// Every benchmark class states its baseline (Baseline = true) so results read as ratios measured in the same run.
// Whole-file measurements that BenchmarkDotNet's many iterations would make too slow have their own command:
// `-- checkpoint-read [--size-mb 1024] [--repeat 3]` (checkpoint reader vs a plain FileStream read, same run);
// `-- pose-frontend [--frames 300]` (the pose front end's own work vs a straightforward baseline, wall and CPU time);
// `-- fuzz [--mutants 10000]` is the nightly-size mutation fuzzing run over every input format (FuzzRun).
if (args.Length > 0 && args[0] == "checkpoint-read")
    return CheckpointReadRun.Run(args[1..]);
if (args.Length > 0 && args[0] == "pose-frontend")
    return PoseFrontEndRun.Run(args[1..]);
if (args.Length > 0 && args[0] == "fuzz")
    return FuzzRun.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

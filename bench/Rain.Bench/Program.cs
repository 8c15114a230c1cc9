using BenchmarkDotNet.Running;

// Micro benchmarks: `dotnet run -c Release --project bench/Rain.Bench -- --filter '*'` (BenchmarkDotNet switches).
// Every benchmark class states its baseline (Baseline = true) so results read as ratios measured in the same run.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

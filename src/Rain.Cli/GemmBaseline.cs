using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Rain.Engine.Backends.Cpu;
using Rain.Engine.Bundle;

namespace Rain.Cli;

/// <summary>
/// ONNX Runtime's own float32 GEMM rate on this machine, measured in the bench's process with the engine's session
/// settings (threads, no spinning): one MatMul node, Y[M,N] = A[M,K]·B[K,N] with B a constant weight (pre-packed as the
/// UNet's are), at the shapes of the UNet's projections and feed-forwards. The step's compute is mostly such products and
/// convolutions lowered to them, so this rate is the ceiling the step is compared with.
/// </summary>
internal static class GemmBaseline
{
    /// <summary>One measured shape: GFLOP/s = 2·M·K·N per run.</summary>
    internal sealed record Shape(int M, int K, int N, int Runs, double Seconds)
    {
        public double Flops => 2.0 * M * K * N;

        public double GflopsPerSecond => Flops * Runs / Seconds / 1e9;
    }

    /// <summary>
    /// The UNet's GEMM shapes, from its plan: for every distinct (rows = frames·tokens, channels c) of its spatial
    /// attentions, the projection (c→c), the GEGLU's input (c→8c) and the feed-forward's output (4c→c).
    /// </summary>
    internal static IReadOnlyList<(int M, int K, int N)> ShapesFor(StepPlan plan) =>
        plan.Steps.Where(s => s.StepKind == PlanStepKind.CrossNoiseAttention)
            .Select(s => (M: s.Frames!.Value * s.Tokens!.Value, C: s.Channels!.Value))
            .Distinct()
            .OrderByDescending(x => x.M)
            .SelectMany(x => new[] { (x.M, x.C, x.C), (x.M, x.C, 8 * x.C), (x.M, 4 * x.C, x.C) })
            .ToList();

    /// <summary>Measures every shape for about <paramref name="secondsEach"/> after one untimed run.</summary>
    internal static IReadOnlyList<Shape> Measure(IReadOnlyList<(int M, int K, int N)> shapes, int threads, double secondsEach)
    {
        var results = new List<Shape>();
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        using var run = new RunOptions();
        foreach (var (m, k, n) in shapes)
        {
            using var session = new InferenceSession(Rain.Models.Onnx.GemmModel.Build(m, k, n), options);
            using var a = new CpuTensor(new TensorContract("a", "float32", [m, k]));
            using var y = new CpuTensor(new TensorContract("y", "float32", [m, n]));
            var random = new Random(1);
            foreach (ref float v in a.F)
                v = (float)(random.NextDouble() - 0.5);
            using var binding = session.CreateIoBinding();
            binding.BindInput("a", a.Value);
            binding.BindOutput("y", y.Value);
            session.RunWithBinding(run, binding);
            int runs = 0;
            var clock = Stopwatch.StartNew();
            while (runs < 2 || clock.Elapsed.TotalSeconds < secondsEach)
            {
                session.RunWithBinding(run, binding);
                runs++;
            }

            results.Add(new Shape(m, k, n, runs, clock.Elapsed.TotalSeconds));
        }

        return results;
    }

    /// <summary>The rate over all shapes: total FLOPs over total time, each shape weighted as if run once.</summary>
    internal static double Rate(IReadOnlyList<Shape> shapes) =>
        shapes.Sum(s => s.Flops) / shapes.Sum(s => s.Seconds / s.Runs) / 1e9;
}

using Rain.Engine.Api;
using Rain.Engine.Bundle;
using Rain.Engine.Media;

namespace Rain.Engine.Backends.Cpu;

/// <summary>The CPU backend: every network on ONNX Runtime's CPU provider (float32) with the C# attention between UNet parts.</summary>
internal sealed class CpuBackend : IStreamBackend
{
    private readonly ulong _seed;
    private readonly bool _checkNumerics;
    private bool _disposed;

    public CpuBackend(ModelBundle bundle, EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Pipeline = new CpuPipeline(bundle, options.Threads, options.ParallelAttention, options.KeepReferenceNetworks, options.PrepackWeights);
        _seed = options.Seed;
        _checkNumerics = options.CheckNumerics;
        int cores = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        Description = $"ONNX Runtime {OnnxRuntimeVersion()} CPU provider, float32, {cores} thread{(cores == 1 ? "" : "s")}, attention {(options.ParallelAttention ? "shared with worker threads" : "on the step thread")}, weights {(options.PrepackWeights ? "pre-packed" : "not pre-packed")}, reference networks {(options.KeepReferenceNetworks ? "kept" : "released after each reference")}{(Pipeline.Ledger.SharedArena ? ", one shared arena" : "")}";
    }

    public CpuPipeline Pipeline { get; }

    public long BufferBytes => Pipeline.BufferBytes;

    public string Description { get; }

    public IStreamer Start(RgbImage reference, StageTimings timings)
    {
        Pipeline.SetReference(reference);
        return new CpuStreamer(Pipeline, _seed, timings, _checkNumerics);
    }

    public void Dispose()
    {
        // Idempotent: the bench releases the engine before its GEMM baseline, inside a using.
        if (_disposed)
            return;
        _disposed = true;
        Pipeline.Dispose();
    }

    // The pipeline has loaded ONNX Runtime by now.
    private static string OnnxRuntimeVersion() => Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString();
}

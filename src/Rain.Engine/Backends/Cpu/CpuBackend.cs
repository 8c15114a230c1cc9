using Rain.Engine.Api;
using Rain.Engine.Bundle;
using Rain.Engine.Media;

namespace Rain.Engine.Backends.Cpu;

/// <summary>The CPU backend: every network on ONNX Runtime's CPU provider (float32) with the C# attention between UNet parts.</summary>
internal sealed class CpuBackend : IStreamBackend
{
    private readonly ulong _seed;
    private readonly bool _checkNumerics;

    public CpuBackend(ModelBundle bundle, EngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Pipeline = new CpuPipeline(bundle, options.Threads, options.ParallelAttention);
        _seed = options.Seed;
        _checkNumerics = options.CheckNumerics;
        int cores = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        Description = $"ONNX Runtime {OnnxRuntimeVersion()} CPU provider, float32, {cores} thread{(cores == 1 ? "" : "s")}, attention {(options.ParallelAttention ? "shared with worker threads" : "on the step thread")}";
    }

    public CpuPipeline Pipeline { get; }

    public long BufferBytes => Pipeline.BufferBytes;

    public string Description { get; }

    public IStreamer Start(RgbImage reference, StageTimings timings)
    {
        Pipeline.SetReference(reference);
        return new CpuStreamer(Pipeline, _seed, timings, _checkNumerics);
    }

    public void Dispose() => Pipeline.Dispose();

    // The pipeline has loaded ONNX Runtime by now.
    private static string OnnxRuntimeVersion() => Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString();
}

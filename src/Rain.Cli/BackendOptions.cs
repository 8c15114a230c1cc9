using System.CommandLine;
using Rain.Engine.Api;

namespace Rain.Cli;

/// <summary>The <c>--backend</c> and <c>--tensorrt-dir</c> options shared by demo, run and bench.</summary>
internal sealed class BackendOptions
{
    public Option<string> Backend { get; } = new Option<string>("--backend")
    {
        Description = "cpu (ONNX Runtime, float32) or tensorrt (the bundle's TensorRT plans on an NVIDIA GPU; fails naming what is missing, never falls back to the CPU)",
        DefaultValueFactory = _ => "cpu",
    }.AcceptOnlyFromAmong("cpu", "tensorrt");

    public Option<string?> TensorRtDirectory { get; } = new("--tensorrt-dir") { Description = "folder holding libnvinfer (default: RAIN_TENSORRT_DIR, then the loader path)" };

    public void AddTo(Command command)
    {
        command.Options.Add(Backend);
        command.Options.Add(TensorRtDirectory);
    }

    /// <summary>The backend chosen on the command line.</summary>
    public BackendChoice Get(ParseResult result) =>
        new(result.GetValue(Backend) == "tensorrt" ? EngineBackend.TensorRt : EngineBackend.Cpu, result.GetValue(TensorRtDirectory));
}

/// <summary>A backend and, for TensorRT, where libnvinfer is.</summary>
internal sealed record BackendChoice(EngineBackend Backend, string? TensorRtDirectory = null)
{
    public static BackendChoice Cpu { get; } = new(EngineBackend.Cpu);

    public EngineOptions Apply(EngineOptions options) => options with { Backend = Backend, TensorRtDirectory = TensorRtDirectory };
}

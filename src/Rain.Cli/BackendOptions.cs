using System.CommandLine;
using Rain.Engine.Api;

namespace Rain.Cli;

/// <summary>The <c>--backend</c>, <c>--tensorrt-dir</c> and <c>--device</c> options shared by demo, run and bench.</summary>
internal sealed class BackendOptions
{
    public Option<string> Backend { get; } = new Option<string>("--backend")
    {
        Description = "cpu (ONNX Runtime, float32) or tensorrt (the bundle's TensorRT plans on an NVIDIA GPU; fails naming what is missing, never falls back to the CPU)",
        DefaultValueFactory = _ => "cpu",
    }.AcceptOnlyFromAmong("cpu", "tensorrt");

    public Option<string?> TensorRtDirectory { get; } = new("--tensorrt-dir") { Description = "folder holding libnvinfer (default: RAIN_TENSORRT_DIR, then the loader path)" };

    public Option<int> Device { get; } = new Option<int>("--device")
    {
        Description = "GPU backends: the CUDA device ordinal (0 = the first GPU, as nvidia-smi numbers them)",
        DefaultValueFactory = _ => 0,
    };

    public void AddTo(Command command)
    {
        Device.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > 1023)
                result.AddError("--device must be a CUDA device ordinal, 0 to 1023.");
        });
        command.Options.Add(Backend);
        command.Options.Add(TensorRtDirectory);
        command.Options.Add(Device);
    }

    /// <summary>The backend chosen on the command line.</summary>
    public BackendChoice Get(ParseResult result) =>
        new(result.GetValue(Backend) == "tensorrt" ? EngineBackend.TensorRt : EngineBackend.Cpu, result.GetValue(TensorRtDirectory), result.GetValue(Device));
}

/// <summary>A backend and, for TensorRT, where libnvinfer is and which GPU runs it.</summary>
internal sealed record BackendChoice(EngineBackend Backend, string? TensorRtDirectory = null, int Device = 0)
{
    public static BackendChoice Cpu { get; } = new(EngineBackend.Cpu);

    public EngineOptions Apply(EngineOptions options) => options with { Backend = Backend, TensorRtDirectory = TensorRtDirectory, Device = Device };
}

using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Rain.Engine.Backends.Cpu;
using Rain.Engine.Bundle;
using Rain.Engine.Tensors;

namespace Rain.Cli;

/// <summary><c>rain replay</c>: the raw stream step (or one network) on recorded inputs, outputs to a safetensors file.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var bundle = new Option<string>("--bundle") { Description = "model bundle folder (rain export)", Required = true };
        var inputs = new Option<string>("--inputs") { Description = "safetensors file of recorded inputs (golden 06's names and [B,C,F,H,W] layout; with --network, those of 07/03/02/04/05)", Required = true };
        var output = new Option<string>("--out") { Description = "safetensors file to write", Required = true };
        var network = new Option<string?>("--network") { Description = "run one network: clip_vision, vae_encoder, reference_unet, pose_guider, unet or taesdv_decoder" };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads (0 = all cores)", DefaultValueFactory = _ => 0 };
        var command = new Command("replay", "Deterministic replay for regression checks: the raw stream step from an explicit initial state with explicit per-step inputs (or one network), written in the same tensor names.")
        {
            bundle, inputs, output, network, threads,
        };
        command.SetAction(r => Run(r.GetValue(bundle)!, r.GetValue(inputs)!, r.GetValue(output)!, r.GetValue(network), r.GetValue(threads), Console.Out, Console.Error));
        return command;
    }

    internal static int Run(string bundlePath, string inputsPath, string outputPath, string? network, int threads, TextWriter o, TextWriter e)
    {
        return CliErrors.Run("replay", e, () =>
        {
            var clock = Stopwatch.StartNew();
            var bundle = ModelBundle.Load(bundlePath);
            using var pipe = new CpuPipeline(bundle, threads, parallelAttention: true);
            using var input = SafetensorsReader.Open(inputsPath);
            var tensors = network is null
                ? CpuReplay.Stream(pipe, input, step => o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step:D2} done")))
                : CpuReplay.Network(pipe, network, input);
            SafetensorsWriter.Write(outputPath, tensors);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {tensors.Count} tensors to {outputPath} ({clock.Elapsed.TotalSeconds:F1} s)"));
            return 0;
        });
    }
}

using System.CommandLine;
using System.Globalization;
using Rain.Engine.Backends.TensorRt;
using Rain.Engine.Bundle;
using Rain.Engine.Interop.TensorRt;

var bundleOption = new Option<string>("--bundle", "-b") { Description = "the model bundle folder (written by `rain export`)", Required = true };
var smOption = new Option<int?>("--sm") { Description = "target GPU SM, e.g. 89 or 90 (default: the --device's)" };
var deviceOption = new Option<int>("--device") { Description = "the CUDA device to build on (ordinal, as nvidia-smi numbers them)", DefaultValueFactory = _ => 0 };
var trtDirOption = new Option<string?>("--tensorrt-dir") { Description = "folder holding libnvinfer / nvinfer_N.dll (default: RAIN_TENSORRT_DIR, then the loader path)" };
var fp32Option = new Option<bool>("--fp32") { Description = "build FP32 plans instead of FP16" };
var workspaceOption = new Option<int>("--workspace-mb") { Description = "builder workspace limit in MiB", DefaultValueFactory = _ => 4096 };
var forceOption = new Option<bool>("--force") { Description = "rebuild every plan even when its cache key is unchanged" };
var unetOption = new Option<string>("--unet")
{
    Description = "how the UNet is built: whole (one engine, TensorRT's attention; the default) or cut (one engine per part, fp16 cut tensors, our attention kernel between them)",
    DefaultValueFactory = _ => "whole",
}.AcceptOnlyFromAmong("whole", "cut");
var root = new RootCommand("onnx2trt: build TensorRT plans for every ONNX part of a Rain.Engine model bundle into engines/<tensorrt>-sm<NN>-<precision>/.")
{
    bundleOption, smOption, deviceOption, trtDirOption, fp32Option, workspaceOption, forceOption, unetOption,
};
root.SetAction(result =>
{
    var settings = new EngineBuildSettings
    {
        TensorRtDirectory = result.GetValue(trtDirOption),
        ComputeCapability = result.GetValue(smOption),
        Device = Math.Max(0, result.GetValue(deviceOption)),
        Fp16 = !result.GetValue(fp32Option),
        WorkspaceBytes = (long)Math.Max(1, result.GetValue(workspaceOption)) << 20,
        Force = result.GetValue(forceOption),
        UNet = UNetLayout.Parse(result.GetValue(unetOption)!),
    };
    try
    {
        // TensorRT and the GPU are checked before the bundle's hashes are read (which reads every byte).
        var (library, sm) = EngineBuilder.Prepare(settings);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"TensorRT {library.VersionText} ({library.InferPath}), target sm{sm}, {(settings.Fp16 ? "FP16" : "FP32")}"));
        var bundle = ModelBundle.Load(result.GetValue(bundleOption)!);
        foreach (string written in Rain.Models.Onnx.UNetForms.Write(bundle, settings.UNet, settings.Fp16))
            Console.WriteLine($"wrote {written}");
        var build = EngineBuilder.BuildBundle(bundle, settings, library, sm, (i, n, r) =>
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{i,3}/{n}] {r.Part,-16} {(r.Built ? $"built in {r.Seconds,6:F1} s" : "cached          ")}  {r.PlanBytes / 1048576.0,8:F1} MiB")));
        var results = build.Parts;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{results.Count(r => r.Built)} built in {build.BuildSeconds:F1} s, {results.Count(r => !r.Built)} reused; plans in {build.Folder}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"timing cache: {(build.TimingCacheLoadedBytes > 0 ? $"started from {build.TimingCacheLoadedBytes} bytes" : "started empty")}" +
            $"{(build.TimingCacheBytes > 0 ? $", {build.TimingCacheBytes} bytes written to {Path.Combine(build.Folder, PlanTimingCache.FileName)}" : "")}" +
            $"{(build.TimingCacheNote is { } note ? $" ({note})" : "")}"));
        return 0;
    }
    catch (TrtException e)
    {
        Console.Error.WriteLine($"onnx2trt: {e.Message}");
        return 2;
    }
    catch (BundleException e)
    {
        Console.Error.WriteLine($"onnx2trt: {e.Message}");
        return 2;
    }
});
return root.Parse(args).Invoke();

using System.Diagnostics;
using System.Security.Cryptography;
using Rain.Engine.Backends.Cuda;
using Rain.Engine.Bundle;
using Rain.Engine.Interop.TensorRt;

namespace Rain.Engine.Backends.TensorRt;

/// <summary>Settings of <see cref="EngineBuilder.BuildBundle"/>.</summary>
internal sealed record EngineBuildSettings
{
    /// <summary>Folder of libnvinfer (else RAIN_TENSORRT_DIR, then the loader path).</summary>
    public string? TensorRtDirectory { get; init; }

    /// <summary>Target SM (major·10 + minor); null = the SM of CUDA device <see cref="Device"/>.</summary>
    public int? ComputeCapability { get; init; }

    /// <summary>The CUDA device the plans are built on (and, without <see cref="ComputeCapability"/>, for).</summary>
    public int Device { get; init; }

    /// <summary>Allow FP16 kernels (TensorRT 10's kFP16); false builds FP32 plans.</summary>
    public bool Fp16 { get; init; } = true;

    /// <summary>Builder workspace limit in bytes.</summary>
    public long WorkspaceBytes { get; init; } = 4L << 30;

    /// <summary>Rebuild plans even when a plan with the same key exists.</summary>
    public bool Force { get; init; }

    /// <summary>
    /// How the UNet is built (<see cref="UNetForm.Whole"/> by default). The models of the form must have been written
    /// into the bundle folder first (<c>Rain.Models.Onnx.UNetForms.Write</c>, which onnx2trt and the demo call).
    /// </summary>
    public UNetForm UNet { get; init; } = UNetForm.Whole;
}

/// <summary>What happened to one part.</summary>
internal readonly record struct PartBuildResult(string Part, bool Built, string PlanPath, double Seconds, long PlanBytes);

/// <summary>What a bundle build did: every part, the plan folder and the timing cache it started from and left.</summary>
/// <param name="Parts">Each part, in build order.</param>
/// <param name="Folder">The plan folder.</param>
/// <param name="TimingCacheLoadedBytes">Bytes of the timing cache the build started from (0: a new cache).</param>
/// <param name="TimingCacheBytes">Bytes of the timing cache written beside the plans (0 when nothing was built).</param>
/// <param name="TimingCacheNote">Why a cache on disk was not used, or null.</param>
internal sealed record BundleBuildResult(IReadOnlyList<PartBuildResult> Parts, string Folder, long TimingCacheLoadedBytes, long TimingCacheBytes, string? TimingCacheNote)
{
    /// <summary>Seconds spent building (reused plans cost nothing).</summary>
    public double BuildSeconds => Parts.Sum(p => p.Seconds);
}

/// <summary>
/// Builds TensorRT plans for every ONNX part of a bundle through the vtable binding: parse (errors with node names),
/// configure (FP16, workspace), build and serialize; writes <c>engines/&lt;gpu-key&gt;/&lt;part&gt;.&lt;key&gt;.plan</c> and the
/// folder's <see cref="EngineIndex"/>. Parts whose key is unchanged are skipped. One TensorRT timing cache serves every
/// part of a build and is kept beside the plans (<see cref="PlanTimingCache"/>), so tactics timed for one part are not
/// timed again for the next part with the same layers, nor in the next run.
/// </summary>
internal static class EngineBuilder
{
    /// <summary>Loads TensorRT and resolves the target SM, or throws <see cref="TrtException"/> naming what is missing.</summary>
    public static (TrtLibrary Library, int Sm) Prepare(EngineBuildSettings settings) => Prepare(settings, TrtLibrary.Load(settings.TensorRtDirectory));

    /// <summary><see cref="Prepare(EngineBuildSettings)"/> with TensorRT already loaded.</summary>
    public static (TrtLibrary Library, int Sm) Prepare(EngineBuildSettings settings, TrtLibrary library)
    {
        if (library.ParserPath is null)
            throw new TrtException($"TensorRT's ONNX parser (libnvonnxparser) was not found beside {library.InferPath}; it ships with TensorRT and is needed to build engines.");
        int sm = settings.ComputeCapability ?? DetectSm(settings.Device);
        if (library.Enums.BuilderFlagFp16 is null && settings.Fp16)
        {
            throw new TrtException(
                $"TensorRT {library.VersionText} removed the FP16 builder flag (11.x builds strongly typed networks, whose precision comes from the ONNX file). " +
                "Build FP32 plans with --fp32, or use TensorRT 10.x for FP16 plans from the float32 bundle.");
        }

        return (library, sm);
    }

    private static int DetectSm(int device)
    {
        var capability = CudaDevice.Probe(device);
        if (!capability.Available)
            throw new TrtException($"Cannot tell which GPU to build for: {capability.Reason}. Run on the target GPU (--device N) or pass --sm.");
        return capability.ComputeCapability;
    }

    /// <summary>Builds (or reuses) a plan for every engine of <paramref name="bundle"/> in the settings' UNet form.</summary>
    public static BundleBuildResult BuildBundle(ModelBundle bundle, EngineBuildSettings settings, TrtLibrary library, int sm, Action<int, int, PartBuildResult>? progress = null)
    {
        var layout = UNetLayout.For(bundle.Manifest, settings.UNet, settings.Fp16);
        var parts = layout.Engines(bundle.Manifest).ToList();
        var missing = parts.Select(p => UNetLayout.OnnxPath(bundle, p.Contract)).Where(p => !File.Exists(p)).ToList();
        if (missing.Count > 0)
        {
            throw new TrtException($"The {layout.Tag} form of the UNet needs {string.Join(", ", missing)}, which were not written " +
                "(onnx2trt writes them from the bundle's parts before building; Rain.Models.Onnx.UNetForms.Write).");
        }

        string gpuKey = EngineIndex.GpuKey(library.VersionText, sm, settings.Fp16, settings.UNet);
        string folder = Path.Combine(bundle.Folder, "engines", gpuKey);
        Directory.CreateDirectory(folder);
        var previous = EngineIndex.TryRead(folder);
        var entries = new Dictionary<string, EnginePlanEntry>(StringComparer.Ordinal);
        var results = new List<PartBuildResult>();
        var logger = TrtLogger.For(library.Slots);
        using var messages = new TrtMessages(logger);
        string device = CudaDevice.Probe(settings.Device).DeviceName ?? $"CUDA device {settings.Device}";
        using var timing = new PlanTimingCache(folder, device, previous);
        long timingBytes = 0;

        for (int i = 0; i < parts.Count; i++)
        {
            var (name, part) = parts[i];
            string key = EngineIndex.PartKey(part, library.VersionText, sm, settings.Fp16, settings.WorkspaceBytes);
            string planFile = $"{name}.{key}.plan";
            string planPath = Path.Combine(folder, planFile);
            PartBuildResult result;
            if (!settings.Force && previous?.Parts.TryGetValue(name, out var old) == true && old.Key == key && File.Exists(planPath))
            {
                entries[name] = old;
                result = new PartBuildResult(name, false, planPath, 0, new FileInfo(planPath).Length);
            }
            else
            {
                long start = Stopwatch.GetTimestamp();
                _ = messages.TakeErrors();
                messages.ClearWarnings();
                byte[] plan = BuildPart(library, logger, UNetLayout.OnnxPath(bundle, part), settings, messages, timing);
                string temp = planPath + ".tmp";
                File.WriteAllBytes(temp, plan);
                File.Move(temp, planPath, overwrite: true);
                timingBytes = timing.Save();
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                entries[name] = new EnginePlanEntry { Plan = planFile, Key = key, PlanSha256 = Convert.ToHexStringLower(SHA256.HashData(plan)), BuildSeconds = seconds };
                result = new PartBuildResult(name, true, planPath, seconds, plan.LongLength);
            }

            results.Add(result);
            // The index is rewritten after every part, so a build that is interrupted (a time-limited GPU session) keeps
            // the plans it finished: the next run reuses them, and the engine names the parts still missing.
            WriteIndex(final: false);
            progress?.Invoke(i + 1, parts.Count, result);
        }

        WriteIndex(final: true);
        foreach (string stale in Directory.GetFiles(folder, "*.plan"))
        {
            if (!entries.Values.Any(e => e.Plan == Path.GetFileName(stale)))
                File.Delete(stale);
        }

        return new BundleBuildResult(results, folder, timing.LoadedBytes, timingBytes, timing.Note);

        // Until the end, parts not reached yet keep their previous entries (their keys are checked again on use).
        void WriteIndex(bool final)
        {
            var written = new Dictionary<string, EnginePlanEntry>(entries, StringComparer.Ordinal);
            if (!final && previous is not null && previous.WorkspaceBytes == settings.WorkspaceBytes)
            {
                foreach (var (name, entry) in previous.Parts)
                    written.TryAdd(name, entry);
            }

            new EngineIndex
            {
                TensorRtVersion = library.VersionText, ComputeCapability = sm, Precision = settings.Fp16 ? "fp16" : "fp32", UNet = layout.Tag,
                WorkspaceBytes = settings.WorkspaceBytes, Parts = written,
                TimingCacheDevice = timing.Device,
            }.Write(folder);
        }
    }

    private static byte[] BuildPart(TrtLibrary library, TrtLogger logger, string onnxPath, EngineBuildSettings settings, TrtMessages messages, PlanTimingCache timing)
    {
        byte[] model = File.ReadAllBytes(onnxPath);
        using var builder = new TrtBuilder(library, logger);
        var network = builder.CreateNetwork(stronglyTyped: library.Major >= 11);
        var parser = new TrtOnnxParser(library, network, logger);
        if (!parser.Parse(model, onnxPath))
        {
            var errors = parser.Errors().Select(e => e.NodeName is { Length: > 0 } node ? $"node '{node}': {e.Description}" : e.Description);
            throw new TrtException($"{onnxPath}: TensorRT {library.VersionText}'s ONNX parser refused the model: {string.Join("; ", errors)}");
        }

        var config = builder.CreateConfig();
        if (settings.Fp16)
            config.SetFlag(library.Enums.BuilderFlagFp16!.Value);
        config.SetWorkspaceLimit((ulong)settings.WorkspaceBytes);
        timing.Apply(config);
        try
        {
            return builder.BuildSerializedNetwork(network, config);
        }
        catch (TrtException e)
        {
            string warnings = messages.Warnings.Count == 0 ? "" : $" (warnings: {string.Join(" | ", messages.Warnings)})";
            throw new TrtException($"{onnxPath}: {e.Message} {messages.TakeErrors()}{warnings}".TrimEnd(), e);
        }
    }
}

using Rain.Engine.Api;
using Rain.Engine.Backends.Cuda;
using Rain.Engine.Bundle;
using Rain.Engine.Interop.TensorRt;

namespace Rain.Engine.Backends.TensorRt;

/// <summary>The TensorRT library, the GPU and the bundle's plan folder that the TensorRT backend will use.</summary>
/// <param name="Bundle">The bundle the plans belong to.</param>
/// <param name="Library">The loaded libnvinfer.</param>
/// <param name="Gpu">The CUDA device's capability (available).</param>
/// <param name="PlanFolder">The bundle's <c>engines/&lt;gpu-key&gt;</c> folder.</param>
/// <param name="Index">Its index: every engine of the folder's UNet form has a current plan in it.</param>
/// <param name="UNet">The UNet in the folder's form (its plan and engine contracts).</param>
internal sealed record TrtBackendTarget(ModelBundle Bundle, TrtLibrary Library, CudaCapability Gpu, string PlanFolder, EngineIndex Index, UNetLayout UNet)
{
    /// <summary>The plan file of engine <paramref name="part"/>.</summary>
    public string PlanPath(string part) => Path.Combine(PlanFolder, Index.Parts[part].Plan);

    /// <summary>Deserializes every engine's plan, checked against its contract (<see cref="TrtEngineSet"/>).</summary>
    public TrtEngineSet OpenEngines() => new(Library, UNet.Engines(Bundle.Manifest).Select(p => (p.Part, PlanPath(p.Part), p.Contract)));
}

/// <summary>
/// Decides, before any work, whether the TensorRT backend can run: TensorRT loads (every path tried is reported), a
/// usable CUDA device is present (the probe's reason is reported), and the bundle has a current plan for every part
/// for this GPU and TensorRT version (else the message says how to build them with onnx2trt).
/// </summary>
internal static class TrtBackendProbe
{
    /// <summary>Loads TensorRT and probes the GPU; throws one <see cref="BackendUnavailableException"/> naming all that is missing.</summary>
    /// <param name="tensorRtDirectory">Folder of libnvinfer, or null for RAIN_TENSORRT_DIR, RAIN_CUDA_LIBRARY_DIRS and the loader path.</param>
    /// <param name="probeGpu">The GPU probe (<see cref="CudaDevice.Probe"/>; tests pass their own).</param>
    public static (TrtLibrary Library, CudaCapability Gpu) ProbeRuntime(string? tensorRtDirectory, Func<CudaCapability> probeGpu)
    {
        ArgumentNullException.ThrowIfNull(probeGpu);
        var problems = new List<string>();
        TrtLibrary? library = null;
        try
        {
            library = TrtLibrary.TryLoad(tensorRtDirectory, out string trace);
            if (library is null)
            {
                problems.Add($"TensorRT was not found (tried {trace}). Install TensorRT 10.1+ or 11.x for your CUDA version (NVIDIA's tar or deb " +
                    "packages, or `pip install tensorrt-cu13`) and put its lib folder on LD_LIBRARY_PATH (Linux) or PATH (Windows), or point " +
                    "RAIN_TENSORRT_DIR (EngineOptions.TensorRtDirectory, --tensorrt-dir) at it.");
            }
        }
        catch (TrtException e)
        {
            problems.Add(e.Message);
        }

        var gpu = probeGpu();
        if (!gpu.Available)
            problems.Add($"No usable CUDA GPU: {gpu.Reason}. The TensorRT backend needs an NVIDIA GPU of SM 8.0 or newer and its driver.");
        if (problems.Count > 0)
            throw new BackendUnavailableException($"The TensorRT backend cannot run on this machine (nothing was loaded): {string.Join(" ", problems)} " +
                "The CPU backend (EngineBackend.Cpu, --backend cpu) runs without them.");
        return (library!, gpu);
    }

    /// <summary>
    /// Finds the plan folder for this TensorRT version and GPU — FP16 plans before FP32, and in each the UNet form
    /// <paramref name="unet"/> first (by default the whole UNet, then the cut one) — and checks that every engine of it
    /// has a plan built from the current model (its key) whose bytes match the index's sha256. The first folder with an
    /// index decides.
    /// </summary>
    public static TrtBackendTarget LocatePlans(ModelBundle bundle, TrtLibrary library, CudaCapability gpu, bool verifyHashes, UNetForm? unet = null)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        int sm = gpu.ComputeCapability;
        string build = $"Build them on this machine with `dotnet run -c Release --project tools/onnx2trt -- --bundle {bundle.Folder}` (tools/onnx2trt; add --fp32 for FP32 plans, --unet cut for the cut UNet).";
        var tried = new List<string>();
        UNetForm[] forms = unet is { } preferred ? [preferred, preferred == UNetForm.Whole ? UNetForm.Cut : UNetForm.Whole] : [UNetForm.Whole, UNetForm.Cut];
        foreach (var (fp16, form) in forms.Select(f => (true, f)).Concat(forms.Select(f => (false, f))))
        {
            string folder = Path.Combine(bundle.Folder, "engines", EngineIndex.GpuKey(library.VersionText, sm, fp16, form));
            var index = EngineIndex.TryRead(folder);
            if (index is null)
            {
                tried.Add(Path.Combine(folder, EngineIndex.FileName) + (File.Exists(Path.Combine(folder, EngineIndex.FileName)) ? " (unreadable)" : " (missing)"));
                continue;
            }

            var problems = new List<string>();
            var layout = UNetLayout.For(bundle.Manifest, form, fp16);
            foreach (var (name, part) in layout.Engines(bundle.Manifest))
            {
                string key = EngineIndex.PartKey(part, library.VersionText, sm, fp16, index.WorkspaceBytes);
                if (!index.Parts.TryGetValue(name, out var entry))
                    problems.Add($"part {name} has no plan");
                else if (entry.Key != key)
                    problems.Add($"{entry.Plan} was built from another version of part {name} or with other settings (key {entry.Key}, expected {key})");
                else if (!File.Exists(Path.Combine(folder, entry.Plan)))
                    problems.Add($"{Path.Combine(folder, entry.Plan)} is missing");
                else if (verifyHashes && ModelBundle.Sha256Of(Path.Combine(folder, entry.Plan)) is var sha && sha != entry.PlanSha256)
                    problems.Add($"{Path.Combine(folder, entry.Plan)} has sha256 {sha}, the index expects {entry.PlanSha256}");
            }

            if (problems.Count > 0)
            {
                throw new BackendUnavailableException(
                    $"The TensorRT plans in {folder} do not fit the bundle: {string.Join("; ", problems)}. {build} (onnx2trt rebuilds exactly the stale plans.)");
            }

            return new TrtBackendTarget(bundle, library, gpu, folder, index, layout);
        }

        throw new BackendUnavailableException(
            $"The bundle has no TensorRT plans for TensorRT {library.VersionText} on SM {sm / 10}.{sm % 10} ({gpu.DeviceName}): tried {string.Join(", ", tried)}. {build} " +
            "Plans are specific to the GPU model and the TensorRT version, so they are built on the machine that runs them.");
    }
}

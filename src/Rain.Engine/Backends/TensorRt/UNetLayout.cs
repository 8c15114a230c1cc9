using System.Security.Cryptography;
using System.Text;
using Rain.Engine.Bundle;

namespace Rain.Engine.Backends.TensorRt;

/// <summary>How the denoising UNet is built into TensorRT engines (<c>onnx2trt --unet cut|whole</c>).</summary>
public enum UNetForm
{
    /// <summary>
    /// The bundle's parts, one engine each, with our <c>cross_noise_attention</c> kernel between them. In FP16 plans the
    /// tensors crossing the cuts are fp16 (the parts are rewritten with Casts at their cut inputs and outputs), so no
    /// engine reformats its I/O and the kernel's fp16 entries run; FP32 plans keep the bundle's float32 parts.
    /// </summary>
    Cut,

    /// <summary>
    /// One engine for the whole UNet: the parts joined again, each temporal attention core written as standard ONNX ops
    /// (reshape, transpose, MatMul, Softmax, MatMul), so that TensorRT fuses across the former cuts and runs its own
    /// attention. The default.
    /// </summary>
    Whole,
}

/// <summary>
/// The UNet as the engines of one <see cref="UNetForm"/> see it: the step plan they run and the contract of each UNet
/// engine, derived from the bundle alone (the ONNX files of a form are written by <c>Rain.Models.Onnx.UNetForms</c>
/// with exactly these names and contracts). The non-UNet parts are the bundle's own.
/// </summary>
internal sealed class UNetLayout
{
    /// <summary>The engine of the whole UNet.</summary>
    public const string WholePart = NetworkNames.UNet;

    /// <summary>Bumped whenever the rewriting of a form changes, so that plans of an older rewrite are rebuilt.</summary>
    public const int RewriteVersion = 1;

    private UNetLayout(UNetForm form, bool fp16, StepPlan plan, IReadOnlyDictionary<string, PartManifest> parts)
    {
        Form = form;
        Fp16 = fp16;
        Plan = plan;
        Parts = parts;
    }

    public UNetForm Form { get; }

    /// <summary>Whether the plans are FP16 (the cut form then carries fp16 cut tensors).</summary>
    public bool Fp16 { get; }

    /// <summary>The plan the UNet engines and kernels run (one step for <see cref="UNetForm.Whole"/>).</summary>
    public StepPlan Plan { get; }

    /// <summary>The UNet engines by name with their contracts.</summary>
    public IReadOnlyDictionary<string, PartManifest> Parts { get; }

    /// <summary>The form's name in plan folders, keys and the index (<c>cut</c>, <c>whole</c>).</summary>
    public string Tag => Name(Form);

    /// <summary>The name of a form as <c>onnx2trt --unet</c> takes it.</summary>
    public static string Name(UNetForm form) => form == UNetForm.Whole ? "whole" : "cut";

    /// <summary>Parses <c>cut</c> or <c>whole</c>.</summary>
    public static UNetForm Parse(string text) => text switch
    {
        "cut" => UNetForm.Cut,
        "whole" => UNetForm.Whole,
        _ => throw new ArgumentException($"Unknown UNet form '{text}'; the forms are cut and whole.", nameof(text)),
    };

    /// <summary>The ONNX model an engine is built from: the bundle's part, or the form's rewrite of it beside the parts.</summary>
    public static string OnnxPath(ModelBundle bundle, PartManifest engine)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(engine);
        return Path.Combine(bundle.Folder, engine.File);
    }

    /// <summary>The file name of the whole UNet's ONNX model in the bundle folder.</summary>
    public static string WholeFile => "unet.whole.onnx";

    /// <summary>The file name of a cut part rewritten with fp16 cut tensors, in the bundle folder.</summary>
    public static string Fp16CutFile(string part) => part.Replace("unet.", "unet.cut16.", StringComparison.Ordinal) + ".onnx";

    /// <summary>The names of the tensors that cross a cut: every UNet part's input or output that is not the plan's own.</summary>
    public static IReadOnlySet<string> CutTensors(StepPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var own = plan.Inputs.Concat(plan.Outputs).ToHashSet(StringComparer.Ordinal);
        return plan.Steps.Where(s => s.StepKind == PlanStepKind.RunPart).SelectMany(s => s.Inputs.Concat(s.Outputs)).Where(n => !own.Contains(n)).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The UNet of <paramref name="manifest"/> in <paramref name="form"/>, for FP16 or FP32 plans.</summary>
    public static UNetLayout For(BundleManifest manifest, UNetForm form, bool fp16)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var plan = manifest.UNetPlan;
        var unetParts = plan.Steps.Where(s => s.StepKind == PlanStepKind.RunPart).Select(s => s.Part!).ToList();
        foreach (string name in unetParts.Where(p => !manifest.Parts.ContainsKey(p)))
            throw new BundleException($"the UNet plan runs part '{name}', which the bundle does not have.");
        if (form == UNetForm.Cut && !fp16)
            return new UNetLayout(form, fp16, plan, unetParts.ToDictionary(p => p, p => manifest.Parts[p], StringComparer.Ordinal));

        if (form == UNetForm.Cut)
        {
            var cut = CutTensors(plan);
            TensorContract Half(TensorContract c) => cut.Contains(c.Name) && c.DType == "float32" ? c with { DType = "float16" } : c;
            var parts = unetParts.ToDictionary(p => p, p =>
            {
                var source = manifest.Parts[p];
                return new PartManifest
                {
                    File = Fp16CutFile(p),
                    Sha256 = Derived("cut-fp16", [source]),
                    Inputs = [.. source.Inputs.Select(Half)],
                    Outputs = [.. source.Outputs.Select(Half)],
                };
            }, StringComparer.Ordinal);
            return new UNetLayout(form, fp16, plan, parts);
        }

        // Whole: one engine whose inputs and outputs are the plan's, with the contracts of the parts that read and write them.
        var readers = unetParts.SelectMany(p => manifest.Parts[p].Inputs).GroupBy(c => c.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var writers = unetParts.SelectMany(p => manifest.Parts[p].Outputs).GroupBy(c => c.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var whole = new PartManifest
        {
            File = WholeFile,
            Sha256 = Derived("whole", [.. unetParts.Select(p => manifest.Parts[p])]),
            Inputs = [.. plan.Inputs.Select(n => readers.TryGetValue(n, out var c) ? c : throw new BundleException($"the UNet plan's input '{n}' is read by no part."))],
            Outputs = [.. plan.Outputs.Select(n => writers.TryGetValue(n, out var c) ? c : throw new BundleException($"the UNet plan's output '{n}' is written by no part."))],
        };
        var wholePlan = new StepPlan
        {
            Network = plan.Network, Inputs = plan.Inputs, Outputs = plan.Outputs,
            Steps = [new PlanStep { Kind = PlanStep.RunPart, Part = WholePart, Inputs = plan.Inputs, Outputs = plan.Outputs }],
        };
        return new UNetLayout(form, fp16, wholePlan, new Dictionary<string, PartManifest>(StringComparer.Ordinal) { [WholePart] = whole });
    }

    /// <summary>
    /// Every engine a plan folder of this form holds: the bundle's non-UNet parts and this form's UNet engines, with the
    /// ONNX file each is built from.
    /// </summary>
    public IEnumerable<(string Part, PartManifest Contract)> Engines(BundleManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var unet = manifest.UNetPlan.Steps.Where(s => s.StepKind == PlanStepKind.RunPart).Select(s => s.Part!).ToHashSet(StringComparer.Ordinal);
        return manifest.Parts.Where(p => !unet.Contains(p.Key)).Select(p => (p.Key, p.Value)).Concat(Parts.Select(p => (p.Key, p.Value)))
            .OrderBy(p => p.Item1, StringComparer.Ordinal);
    }

    // The content hash of a rewritten model: its sources' hashes, the rewrite and its version (the rewrite is deterministic).
    private static string Derived(string rewrite, IEnumerable<PartManifest> sources)
    {
        var text = new StringBuilder($"rewrite={rewrite};v={RewriteVersion}");
        foreach (var s in sources)
            text.Append(";model=").Append(s.Sha256).Append(";data=").Append(s.DataSha256 ?? "-");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}

using System.Reflection;

namespace Rain.Kernels;

/// <summary>How a kernel image is loaded: a CUBIN runs as is on its SM, PTX is compiled by the driver's JIT.</summary>
public enum KernelImageKind
{
    /// <summary>Machine code for one SM (<c>sm_XX</c>).</summary>
    Cubin,

    /// <summary>PTX for a virtual architecture (<c>compute_XX</c>), JIT-compiled by the driver for newer SMs too.</summary>
    Ptx,
}

/// <summary>One compiled kernel module embedded in this assembly.</summary>
/// <param name="Op">The op (<c>kernels/&lt;op&gt;.cu</c>).</param>
/// <param name="Sm">The SM number of the target (80 for sm_80 or compute_80).</param>
/// <param name="Kind">CUBIN or PTX.</param>
/// <param name="Bytes">The image (PTX is NUL-terminated, as the driver wants it).</param>
public sealed record KernelImage(string Op, int Sm, KernelImageKind Kind, byte[] Bytes);

/// <summary>
/// The kernel images compiled ahead of time by the build (tools/kernelc → embedded resources) and the CUDA sources
/// for run-time compilation. An assembly built without NVRTC holds sources only.
/// </summary>
public static class KernelImages
{
    private static readonly Assembly Self = typeof(KernelImages).Assembly;

    /// <summary>The ops of the engine and the bench (one module each).</summary>
    public static IReadOnlyList<string> Ops => KernelBuild.Ops;

    /// <summary>The SMs compiled ahead of time (a build without NVRTC embeds none of them).</summary>
    public static IReadOnlyList<int> TargetSms => KernelBuild.Sms;

    /// <summary>Every embedded image name (<c>&lt;op&gt;.&lt;target&gt;.&lt;ptx|cubin&gt;</c>).</summary>
    public static IReadOnlyList<string> EmbeddedNames() =>
        [.. Self.GetManifestResourceNames()
            .Where(n => n.StartsWith(KernelBuild.ImageResourcePrefix, StringComparison.Ordinal))
            .Select(n => n[KernelBuild.ImageResourcePrefix.Length..])
            .Order(StringComparer.Ordinal)];

    /// <summary>
    /// The best embedded image of <paramref name="op"/> for a device of SM <paramref name="sm"/> (e.g. 89): the CUBIN
    /// for exactly that SM, else the PTX of the newest virtual architecture not above it (the driver JIT-compiles
    /// it), else null (then compile the source at run time, or the device is too old).
    /// </summary>
    public static KernelImage? Best(string op, int sm)
    {
        CheckOp(op);
        byte[]? cubin = Read(KernelBuild.ImageResourcePrefix + KernelBuild.ImageName(op, $"sm_{sm}"));
        if (cubin is not null)
            return new KernelImage(op, sm, KernelImageKind.Cubin, cubin);
        foreach (int target in KernelBuild.Sms.Where(s => s <= sm).OrderDescending())
        {
            byte[]? ptx = Read(KernelBuild.ImageResourcePrefix + KernelBuild.ImageName(op, $"compute_{target}"));
            if (ptx is not null)
                return new KernelImage(op, target, KernelImageKind.Ptx, ptx);
        }

        return null;
    }

    /// <summary>The CUDA source of <paramref name="op"/>.</summary>
    public static string Source(string op)
    {
        CheckOp(op);
        return ReadText(KernelBuild.SourceResourcePrefix + op + ".cu");
    }

    /// <summary>The shared headers by include name (<c>common/half.cuh</c> …), for NVRTC.</summary>
    public static IReadOnlyDictionary<string, string> Headers() =>
        KernelBuild.Headers.ToDictionary(h => h, h => ReadText(KernelBuild.SourceResourcePrefix + h), StringComparer.Ordinal);

    /// <summary>The NVRTC options the build uses for <paramref name="op"/> at <paramref name="target"/> (<c>sm_XX</c> or <c>compute_XX</c>).</summary>
    public static IReadOnlyList<string> CompileOptions(string op, string target)
    {
        CheckOp(op);
        return KernelBuild.Options(op, target);
    }

    private static void CheckOp(string op)
    {
        if (!KernelBuild.Ops.Contains(op))
            throw new ArgumentException($"Unknown kernel op '{op}'; the ops are {string.Join(", ", KernelBuild.Ops)}.", nameof(op));
    }

    private static byte[]? Read(string name)
    {
        using var stream = Self.GetManifestResourceStream(name);
        if (stream is null)
            return null;
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static string ReadText(string name) =>
        Read(name) is { } bytes ? System.Text.Encoding.UTF8.GetString(bytes)
            : throw new InvalidOperationException($"The kernel source {name} is not embedded in {Self.GetName().Name}; the build is broken.");
}

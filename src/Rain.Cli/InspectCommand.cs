using System.CommandLine;
using System.Globalization;
using Rain.Engine.Tensors;
using Rain.Models.Checkpoints;
using Rain.Models.Onnx;

namespace Rain.Cli;

/// <summary>
/// <c>rain inspect</c>: lists a checkpoint's tensors and optionally checks them against a full-size RAIN key set; with
/// <c>--onnx</c>, describes an exported ONNX model instead (opset, inputs, outputs, operator counts).
/// </summary>
internal static class InspectCommand
{
    private const int ListLimit = 20;

    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "a .pth/.bin (torch.save zip) or .safetensors file, or a Hugging Face model folder" };
        var expect = new Option<string?>("--expect") { Description = $"compare with the full-size RAIN key set of a module: {string.Join(", ", RainKeySets.Modules)}" };
        var summary = new Option<bool>("--summary") { Description = "print only the totals, not every tensor" };
        var onnx = new Option<bool>("--onnx") { Description = "the path is an exported ONNX model: print its opset, inputs, outputs and operators (external data is not read)" };
        var command = new Command("inspect", "List a checkpoint's tensors (dtype, shape, bytes) and totals, checking every stored byte (zip CRC-32, NaN/inf values); with --expect, report missing, unexpected and mis-shaped keys against RAIN's full-size modules (exit code 1 on a mismatch or non-finite values).")
        {
            path, expect, summary, onnx,
        };
        command.SetAction(result => result.GetValue(onnx)
            ? RunOnnx(result.GetValue(path)!, Console.Out, Console.Error)
            : Run(result.GetValue(path)!, result.GetValue(expect), result.GetValue(summary), Console.Out, Console.Error));
        return command;
    }

    /// <summary>
    /// Runs the command: 0 when listed (and matching), 1 on a key-set mismatch or tensors holding NaN/∞, 2 when the input
    /// cannot be read (a CRC-32 mismatch included).
    /// </summary>
    internal static int Run(string path, string? expect, bool summary, TextWriter o, TextWriter err)
    {
        return CliErrors.Run("inspect", err, () =>
        {
            RainKeySet? expected = null;
            if (expect is not null)
                expected = RainKeySets.Get(expect);
            using var checkpoint = Checkpoint.Open(path);
            PrintTensors(checkpoint, summary, o);
            bool sound = PrintIntegrity(checkpoint, o);
            if (expected is null)
                return sound ? 0 : 1;
            var comparison = KeySetComparison.Compare(checkpoint.Tensors, expected);
            PrintComparison(comparison, o);
            return comparison.IsMatch && sound ? 0 : 1;
        });
    }

    /// <summary>Describes an ONNX model: 0 when printed, 2 when the file cannot be read as ONNX.</summary>
    internal static int RunOnnx(string path, TextWriter o, TextWriter err)
    {
        return CliErrors.Run("inspect", err, () =>
        {
            o.WriteLine(OnnxReport.Read(path).ToString());
            return 0;
        });
    }

    private static void PrintTensors(ICheckpoint c, bool summary, TextWriter o)
    {
        var ci = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(ci, $"{c.Path} ({c.Format}, {c.Tensors.Count} tensors)"));
        foreach (var (key, value) in c.Metadata)
            o.WriteLine($"  metadata {key} = {value}");
        if (!summary)
        {
            int width = Math.Clamp(c.Tensors.Select(t => t.Name.Length).DefaultIfEmpty(4).Max(), 4, 96);
            o.WriteLine($"  {"name".PadRight(width)}  dtype  {"shape",-22}  bytes");
            foreach (var t in c.Tensors)
                o.WriteLine(string.Create(ci, $"  {t.Name.PadRight(width)}  {t.DType.ToSafetensorsName(),-5}  {t.ShapeText,-22}  {t.ByteLength,12:N0}"));
        }

        o.WriteLine(string.Create(ci, $"total: {c.Tensors.Count} tensors, {c.Tensors.Sum(t => t.ElementCount):N0} elements, {c.Tensors.Sum(t => t.ByteLength):N0} bytes"));
        foreach (var g in c.Tensors.GroupBy(t => t.DType).OrderBy(g => g.Key))
            o.WriteLine(string.Create(ci, $"  {g.Key.ToSafetensorsName(),-5} {g.Count(),6} tensors  {g.Sum(t => t.ElementCount),16:N0} elements  {g.Sum(t => t.ByteLength),16:N0} bytes"));
    }

    // Reads every tensor: the zip's CRC-32s are checked (a mismatch throws, exit 2) and non-finite values are listed.
    private static bool PrintIntegrity(ICheckpoint c, TextWriter o)
    {
        var bad = CheckpointScan.NonFiniteTensors(c);
        string crc = c.Format == "torch-zip" ? "every storage's CRC-32 verified, " : "";
        if (bad.Count == 0)
        {
            o.WriteLine($"integrity: {crc}all values finite");
            return true;
        }

        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"integrity: {crc}{bad.Count} tensor(s) hold NaN or infinite values (the weights are corrupt; `rain export` refuses them):"));
        List(o, "non-finite", bad, t => string.Create(CultureInfo.InvariantCulture, $"{t.Name}: {t.Count} value(s), the first {t.FirstValue} at element {t.FirstIndex}"));
        return false;
    }

    private static void PrintComparison(KeySetComparison r, TextWriter o)
    {
        var ci = CultureInfo.InvariantCulture;
        o.WriteLine();
        o.WriteLine(string.Create(ci, $"expected: full-size RAIN {r.Expected.Module} ({r.Expected.Tensors.Count} tensors, {r.Expected.Tensors.Count(t => t.IsBuffer)} of them buffers)"));
        o.WriteLine(string.Create(ci, $"  matched {r.Matched}, missing {r.Missing.Count}, unexpected {r.Unexpected.Count}, shape mismatches {r.ShapeMismatches.Count}; dtype differences {r.DTypeDifferences.Count} (reported only)"));
        List(o, "missing", r.Missing, m => $"{m.Name} {m.ShapeText} {m.DType.ToSafetensorsName()}{(m.IsBuffer ? " (buffer)" : string.Empty)}");
        List(o, "unexpected", r.Unexpected, u => $"{u.Name} {u.ShapeText} {u.DType.ToSafetensorsName()}");
        List(o, "shape mismatch", r.ShapeMismatches, d => $"{d.Expected.Name}: expected {d.Expected.ShapeText}, found {d.Actual.ShapeText}");
        List(o, "dtype differs", r.DTypeDifferences, d => $"{d.Expected.Name}: key set {d.Expected.DType.ToSafetensorsName()}, file {d.Actual.DType.ToSafetensorsName()}");
        o.WriteLine(Verdict(r));
    }

    private static string Verdict(KeySetComparison r)
    {
        if (r.IsMatch)
            return r.DTypeDifferences.Count == 0 ? "result: MATCH" : "result: MATCH (keys and shapes; the stored dtype differs, which the exporter converts)";
        if (r.Missing.Count == 0 && r.Unexpected.Count == 0)
            return "result: MISMATCH: every key is present, but shapes differ from the full-size model (a smaller configuration, such as the golden test weights?)";
        if (r.Missing.All(m => m.IsBuffer) && r.Unexpected.Count == 0 && r.ShapeMismatches.Count == 0)
            return "result: MISMATCH: only buffers are missing (deterministic tables such as pos_encoder.pe and position_ids)";
        return "result: MISMATCH";
    }

    private static void List<T>(TextWriter o, string label, IReadOnlyList<T> items, Func<T, string> describe)
    {
        foreach (var item in items.Take(ListLimit))
            o.WriteLine($"  {label}: {describe(item)}");
        if (items.Count > ListLimit)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {label}: ... and {items.Count - ListLimit} more"));
    }
}

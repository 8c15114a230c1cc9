using Rain.Models.Onnx.Proto;

namespace Rain.Models.Onnx;

/// <summary>What an exported ONNX file contains: opsets, operator counts, inputs and outputs.</summary>
/// <param name="Path">File.</param>
/// <param name="IrVersion">IR version.</param>
/// <param name="Opsets">(domain, version) imports; domain "" is the default ONNX domain.</param>
/// <param name="OperatorCounts">Operator type → node count, sorted by type.</param>
/// <param name="Inputs">Graph inputs with shapes.</param>
/// <param name="Outputs">Graph outputs with shapes.</param>
/// <param name="InitializerCount">Number of initializers.</param>
/// <param name="ExternalInitializerCount">How many of them are stored as external data.</param>
public sealed record OnnxReport(
    string Path,
    long IrVersion,
    IReadOnlyList<(string Domain, long Version)> Opsets,
    IReadOnlyList<KeyValuePair<string, int>> OperatorCounts,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    int InitializerCount,
    int ExternalInitializerCount)
{
    /// <summary>Reads the model file (not its external data) and summarises it.</summary>
    public static OnnxReport Read(string path)
    {
        var model = ReadModel(path);

        var g = model.Graph;
        return new OnnxReport(
            path,
            model.IrVersion,
            model.OpsetImport.Select(o => (o.Domain, o.Version)).ToList(),
            g.Node.GroupBy(n => n.OpType, StringComparer.Ordinal).OrderBy(x => x.Key, StringComparer.Ordinal).Select(x => new KeyValuePair<string, int>(x.Key, x.Count())).ToList(),
            g.Input.Select(Describe).ToList(),
            g.Output.Select(Describe).ToList(),
            g.Initializer.Count,
            g.Initializer.Count(t => t.DataLocation == TensorProto.Types.DataLocation.External));
    }

    /// <summary>A multi-line human-readable summary.</summary>
    public override string ToString()
    {
        var lines = new List<string>
        {
            $"{System.IO.Path.GetFileName(Path)}: IR {IrVersion}, opset {string.Join(", ", Opsets.Select(o => $"{(o.Domain.Length == 0 ? "ai.onnx" : o.Domain)}:{o.Version}"))}",
            $"  inputs:  {string.Join("; ", Inputs)}",
            $"  outputs: {string.Join("; ", Outputs)}",
            $"  initializers: {InitializerCount} ({ExternalInitializerCount} external)",
            $"  operators: {string.Join(", ", OperatorCounts.Select(kv => $"{kv.Key}×{kv.Value}"))}",
        };
        return string.Join(Environment.NewLine, lines);
    }

    private static string Describe(ValueInfoProto v) =>
        $"{v.Name} [{string.Join(", ", v.Type?.TensorType?.Shape?.Dim.Select(d => d.DimValue) ?? [])}]";

    /// <summary>Parses an ONNX model file (not its external data); a file that is not one is an <see cref="InvalidDataException"/> naming it.</summary>
    internal static ModelProto ReadModel(string path)
    {
        using var stream = File.OpenRead(path);
        try
        {
            return ModelProto.Parser.ParseFrom(stream);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{path}: not an ONNX model ({e.Message})", e);
        }
    }
}

using Google.Protobuf;
using Rain.Models.Onnx.Proto;

namespace Rain.Models.Onnx;

/// <summary>
/// Writes a <see cref="GraphPart"/> as an ONNX model (IR 8, opset 17). Initializers of at least
/// <c>externalThreshold</c> bytes go to <c>&lt;file&gt;.data</c> beside the model, referenced through TensorProto
/// external_data (location, offset, length), each 64-byte aligned; smaller ones are stored inline.
/// </summary>
public static class OnnxModelWriter
{
    /// <summary>ONNX opset the builders target.</summary>
    public const int Opset = 17;

    /// <summary>IR version matching opset 17.</summary>
    public const int IrVersion = 8;

    /// <summary>Default size from which an initializer is stored externally.</summary>
    public const long DefaultExternalThreshold = 1024;

    private const int Alignment = 64;

    /// <summary>Writes the model to <paramref name="path"/> (and its external data file when needed).</summary>
    public static void Write(GraphPart part, string path, long externalThreshold = DefaultExternalThreshold)
    {
        ArgumentNullException.ThrowIfNull(part);
        string dataName = Path.GetFileName(path) + ".data";
        string dataPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, dataName);
        var graph = new GraphProto { Name = part.Name };
        graph.Node.AddRange(part.Nodes);
        graph.Input.AddRange(part.Inputs.Select(ValueInfo));
        graph.Output.AddRange(part.Outputs.Select(ValueInfo));
        FileStream? data = null;
        try
        {
            foreach (var init in part.Initializers)
            {
                byte[] bytes = init.Bytes();
                var tensor = new TensorProto { Name = init.Name, DataType = (int)init.Type };
                tensor.Dims.AddRange(init.Shape);
                if (bytes.Length >= externalThreshold)
                {
                    data ??= new FileStream(dataPath, FileMode.Create, FileAccess.Write);
                    long pad = (Alignment - (data.Position % Alignment)) % Alignment;
                    data.Write(new byte[pad]);
                    long offset = data.Position;
                    data.Write(bytes);
                    tensor.DataLocation = TensorProto.Types.DataLocation.External;
                    tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
                    tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                    tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                }
                else
                {
                    tensor.RawData = ByteString.CopyFrom(bytes);
                }

                graph.Initializer.Add(tensor);
            }
        }
        finally
        {
            data?.Dispose();
        }

        if (data is null && File.Exists(dataPath))
            File.Delete(dataPath);
        var model = new ModelProto { IrVersion = IrVersion, ProducerName = "Rain.Models", ProducerVersion = "1", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        model.WriteTo(file);
    }

    private static ValueInfoProto ValueInfo(TensorInfo info)
    {
        var shape = new TensorShapeProto();
        shape.Dim.AddRange(info.Shape.Select(d => new TensorShapeProto.Types.Dimension { DimValue = d }));
        return new ValueInfoProto
        {
            Name = info.Name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)info.Type, Shape = shape } },
        };
    }
}

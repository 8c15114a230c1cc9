namespace Rain.Models.Onnx;

/// <summary>ONNX tensor element types the builder uses (values are the ONNX <c>TensorProto.DataType</c> codes).</summary>
public enum OnnxDataType
{
    /// <summary>float32.</summary>
    F32 = 1,

    /// <summary>uint8.</summary>
    U8 = 2,

    /// <summary>int64.</summary>
    I64 = 7,
}

/// <summary>A named tensor with a static shape.</summary>
/// <param name="Name">Tensor name in the graph.</param>
/// <param name="Type">Element type.</param>
/// <param name="Shape">Static shape.</param>
public sealed record TensorInfo(string Name, OnnxDataType Type, long[] Shape)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// A temporal attention core left out of the graph: the builder ends a part with its q, k, v (<c>[F, N, C]</c>) and
/// the next part starts from <see cref="Output"/>, which the cross-noise attention kernel computes between parts.
/// </summary>
/// <param name="Name">Readable name of the attention (module path).</param>
/// <param name="Q">Query tensor name.</param>
/// <param name="K">Key tensor name.</param>
/// <param name="V">Value tensor name.</param>
/// <param name="Output">Output tensor name.</param>
/// <param name="Frames">F.</param>
/// <param name="Tokens">N = h·w.</param>
/// <param name="Channels">C.</param>
/// <param name="Heads">Number of heads.</param>
public sealed record CrossNoiseCut(string Name, string Q, string K, string V, string Output, int Frames, int Tokens, int Channels, int Heads);

/// <summary>A constant tensor of a graph whose bytes are produced only when the model is written.</summary>
/// <param name="Name">Initializer name (the checkpoint key for weights).</param>
/// <param name="Type">Element type.</param>
/// <param name="Shape">Shape as stored in the ONNX file.</param>
/// <param name="Bytes">Produces the little-endian bytes.</param>
public sealed record InitializerEntry(string Name, OnnxDataType Type, long[] Shape, Func<byte[]> Bytes);

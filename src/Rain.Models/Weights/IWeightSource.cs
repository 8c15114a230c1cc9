namespace Rain.Models.Weights;

/// <summary>
/// Named tensors of one checkpoint, read as float32. The network builders first bind keys and shapes (no data is
/// read), and read a tensor only when its ONNX initializer is written, so a key set alone is enough to check that a
/// checkpoint fits a configuration.
/// </summary>
public interface IWeightSource
{
    /// <summary>The file (or folder) the tensors come from, used in error messages.</summary>
    string Origin { get; }

    /// <summary>Every tensor name in the source.</summary>
    IReadOnlyCollection<string> Keys { get; }

    /// <summary>The stored shape of a tensor, or false when the key is absent.</summary>
    bool TryGetShape(string key, out long[] shape);

    /// <summary>Reads a tensor converted to float32, row-major in its stored shape.</summary>
    float[] Read(string key);
}

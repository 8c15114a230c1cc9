using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Rain.Models.Onnx;

namespace Rain.Models.Tests;

/// <summary>Writes a graph to a temporary folder and runs it with ONNX Runtime's CPU provider (float32).</summary>
internal sealed class OrtHarness : IDisposable
{
    public OrtHarness()
    {
        Folder = Directory.CreateTempSubdirectory("rain-onnx-").FullName;
    }

    public string Folder { get; }

    public string Write(GraphPart part, long externalThreshold = OnnxModelWriter.DefaultExternalThreshold)
    {
        string path = Path.Combine(Folder, part.Name + ".onnx");
        OnnxModelWriter.Write(part, path, externalThreshold);
        return path;
    }

    public static Dictionary<string, float[]> Run(string modelPath, IReadOnlyList<NamedOnnxValue> inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(modelPath, options);
        using var results = session.Run(inputs);
        return results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
    }

    public static NamedOnnxValue Float(string name, float[] data, params int[] shape) => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(data, shape));

    public static NamedOnnxValue Bytes(string name, float[] data, params int[] shape) =>
        NamedOnnxValue.CreateFromTensor(name, new DenseTensor<byte>(data.Select(v => (byte)v).ToArray(), shape));

    public static NamedOnnxValue Longs(string name, long[] data, params int[] shape) => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(data, shape));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Rain.Engine.Backends.Cpu;
using Rain.Engine.Bundle;

namespace Rain.Engine.Pose;

/// <summary>A pose model file (YOLOX detector or DWPose/RTMPose estimator) is missing, unreadable or has the wrong interface.</summary>
public sealed class PoseModelException : RainException
{
    /// <summary>Creates the exception (<see cref="RainErrorCategory.InvalidInput"/>: a file the user brought).</summary>
    public PoseModelException(string message)
        : base(RainErrorCategory.InvalidInput, message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public PoseModelException(string message, Exception inner)
        : base(RainErrorCategory.InvalidInput, message, inner)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public PoseModelException()
        : base(RainErrorCategory.InvalidInput, "A pose model cannot be used.")
    {
    }
}

/// <summary>
/// One pose ONNX model in ONNX Runtime, run through an I/O binding over preallocated pinned buffers (the first input,
/// and the first <c>outputs</c> outputs, as RAIN takes them), so a frame allocates nothing. Not thread-safe.
/// </summary>
internal sealed class PoseModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _run = new();

    private PoseModel(string path, InferenceSession session, CpuTensor input, CpuTensor[] outputs, TensorContract[] inputs, TensorContract[] declaredOutputs)
    {
        Path = path;
        DeclaredInputs = inputs;
        DeclaredOutputs = declaredOutputs;
        _session = session;
        Input = input;
        Outputs = outputs;
        _binding = session.CreateIoBinding();
        _binding.BindInput(input.Contract.Name, input.Value);
        foreach (var o in outputs)
            _binding.BindOutput(o.Contract.Name, o.Value);
    }

    public string Path { get; }

    public CpuTensor Input { get; }

    public CpuTensor[] Outputs { get; }

    /// <summary>Every input as the model declares it (−1 for a symbolic dimension).</summary>
    public TensorContract[] DeclaredInputs { get; }

    /// <summary>Every output as the model declares it.</summary>
    public TensorContract[] DeclaredOutputs { get; }

    /// <summary>
    /// Loads <paramref name="path"/> and binds its first input and first <paramref name="outputs"/> outputs.
    /// <paramref name="resolve"/> turns the model's declared shapes (−1 for a symbolic dimension) into the concrete
    /// shapes to allocate, or throws <see cref="PoseModelException"/> with what is wrong.
    /// </summary>
    public static PoseModel Open(string path, string role, int outputs, SessionOptions options, Func<TensorContract, TensorContract[], (long[] Input, long[][] Outputs)> resolve)
    {
        if (!File.Exists(path))
            throw new PoseModelException($"{path}: the {role} model does not exist.");
        using var owned = new Owned();
        InferenceSession session;
        try
        {
            session = owned.Own(new InferenceSession(path, options));
        }
        catch (OnnxRuntimeException e)
        {
            throw new PoseModelException($"{path}: ONNX Runtime cannot load the {role} model: {e.Message}", e);
        }

        var (inputs, outs) = Contracts(session, path);
        if (inputs.Length < 1 || outs.Length < outputs)
            throw new PoseModelException($"{path}: the {role} model has {inputs.Length} inputs and {outs.Length} outputs; it needs 1 input and {outputs} output(s).");
        foreach (var c in outs.Take(outputs).Prepend(inputs[0]))
        {
            if (c.DType != "float32")
                throw new PoseModelException($"{path}: {role} tensor {c} must be float32.");
        }

        var (inShape, outShapes) = resolve(inputs[0], outs[..outputs]);
        var input = owned.Own(new CpuTensor(inputs[0] with { Shape = inShape }));
        var bound = new CpuTensor[outputs];
        for (int i = 0; i < outputs; i++)
            bound[i] = owned.Own(new CpuTensor(outs[i] with { Shape = outShapes[i] }));
        return owned.Commit(new PoseModel(path, session, input, bound, inputs, outs));
    }

    /// <summary>The model's inputs and outputs in session order (name, element type, shape with −1 for symbolic dimensions).</summary>
    public static (TensorContract[] Inputs, TensorContract[] Outputs) Contracts(InferenceSession session, string path)
    {
        return (Of(session.InputNames, session.InputMetadata), Of(session.OutputNames, session.OutputMetadata));

        TensorContract[] Of(IReadOnlyList<string> names, IReadOnlyDictionary<string, NodeMetadata> metadata) =>
            [.. names.Select(n =>
            {
                var m = metadata[n];
                if (!m.IsTensor)
                    throw new PoseModelException($"{path}: '{n}' is not a tensor.");
                string dtype = m.ElementDataType switch
                {
                    TensorElementType.Float => "float32",
                    TensorElementType.UInt8 => "uint8",
                    TensorElementType.Int64 => "int64",
                    TensorElementType.Float16 => "float16",
                    var other => other.ToString().ToLowerInvariant(),
                };
                return new TensorContract(n, dtype, [.. m.Dimensions.Select(d => d < 0 ? -1L : d)]);
            })];
    }

    /// <summary>Runs the model on the bound buffers.</summary>
    public void Run()
    {
        try
        {
            _session.RunWithBinding(_run, _binding);
        }
        catch (OnnxRuntimeException e)
        {
            throw new PoseModelException($"{Path}: ONNX Runtime failed to run the model: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        _binding.Dispose();
        _run.Dispose();
        Input.Dispose();
        foreach (var o in Outputs)
            o.Dispose();
        _session.Dispose();
    }
}

/// <summary>Reading a pose model's interface without running it (for <c>rain export</c>'s bundle contracts and for checks).</summary>
public static class PoseModelFiles
{
    /// <summary>The inputs and outputs of <paramref name="path"/>, in session order; symbolic dimensions are −1.</summary>
    /// <exception cref="PoseModelException">The file is missing or ONNX Runtime cannot load it.</exception>
    public static (TensorContract[] Inputs, TensorContract[] Outputs) Inspect(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new PoseModelException($"{path}: the model does not exist.");
        try
        {
            using var session = new InferenceSession(path);
            return PoseModel.Contracts(session, path);
        }
        catch (OnnxRuntimeException e)
        {
            throw new PoseModelException($"{path}: ONNX Runtime cannot load the model: {e.Message}", e);
        }
    }
}

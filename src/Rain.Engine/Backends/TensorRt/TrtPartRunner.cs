using Rain.Engine.Backends.Cuda;
using Rain.Engine.Bundle;
using Rain.Engine.Interop.TensorRt;

namespace Rain.Engine.Backends.TensorRt;

/// <summary>
/// One bundle part as a TensorRT engine on the step stream: an execution context with user-managed scratch memory,
/// checked against the part's contract when it is made, its tensor addresses bound once to stable device buffers,
/// its scratch taken from the activation arena that every part shares (parts run one after another on one stream).
/// </summary>
/// <remarks>
/// <para>Enqueue never synchronises, so the step it belongs to can be captured into a CUDA graph. When
/// <c>enqueueV3</c> refuses (TensorRT returns false, e.g. for an engine that cannot be captured), <see cref="Enqueue"/>
/// throws a <see cref="TrtException"/> naming the part and its plan, with the errors TensorRT logged; during capture the step driver then ends the
/// capture and runs the step uncaptured from then on (as trtexec does when a graph cannot be captured).</para>
/// <para>Not thread-safe; disposed with its <see cref="TrtEngineSet"/>.</para>
/// </remarks>
internal sealed class TrtPartRunner : IPartRunner
{
    private readonly TrtExecutionContext _context;
    private readonly HashSet<string> _bound = new(StringComparer.Ordinal);
    private readonly Func<string> _takeErrors;
    private bool _hasArena;

    /// <summary>Checks <paramref name="engine"/>'s tensors against <paramref name="contract"/> and creates its context.</summary>
    /// <param name="name">The part.</param>
    /// <param name="planPath">The plan file (for messages).</param>
    /// <param name="engine">The deserialized engine.</param>
    /// <param name="contract">The tensors the engine must have.</param>
    /// <param name="takeErrors">TensorRT's logged errors since the last call ("" when none), attached to a refused enqueue.</param>
    /// <exception cref="TrtException">A tensor is missing, extra, or differs in role, element type or shape; the message names the plan and the tensor.</exception>
    public TrtPartRunner(string name, string planPath, TrtEngine engine, PartManifest contract, Func<string>? takeErrors = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(contract);
        Name = name;
        PlanPath = planPath;
        _takeErrors = takeErrors ?? (() => "");
        CheckContract(name, planPath, engine.IOTensors(), contract);
        Tensors = [.. contract.Inputs, .. contract.Outputs];
        DeviceMemorySize = engine.DeviceMemorySize;
        if (DeviceMemorySize < 0)
            throw new TrtException($"{planPath} (part {name}): the engine reports {DeviceMemorySize} bytes of device memory.");
        _context = engine.CreateExecutionContext();
        foreach (var input in contract.Inputs)
            _context.SetInputShape(input.Name, input.Shape);
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>The plan file the engine was deserialized from.</summary>
    public string PlanPath { get; }

    /// <summary>Every input and output of the part (the bundle's contract, which the engine matched).</summary>
    public IReadOnlyList<TensorContract> Tensors { get; }

    /// <summary>Scratch bytes the context needs (<c>getDeviceMemorySizeV2</c>).</summary>
    public long DeviceMemorySize { get; }

    /// <summary>Whether every tensor has an address and the context has scratch memory.</summary>
    public bool IsReady => _hasArena && _bound.Count == Tensors.Count;

    /// <summary>
    /// Binds each of the part's tensors to the device address <paramref name="addresses"/> gives for its name (stable
    /// buffers: bound once, read at every enqueue and every graph replay).
    /// </summary>
    /// <exception cref="TrtException">A tensor has no address, or TensorRT refused one.</exception>
    public void Bind(IReadOnlyDictionary<string, ulong> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var missing = Tensors.Where(t => !addresses.ContainsKey(t.Name)).Select(t => t.ToString()).ToList();
        if (missing.Count > 0)
            throw new TrtException($"{PlanPath} (part {Name}): no device buffer for tensor(s) {string.Join(", ", missing)}.");
        foreach (var tensor in Tensors)
        {
            ulong address = addresses[tensor.Name];
            if (address == 0)
                throw new TrtException($"{PlanPath} (part {Name}): tensor {tensor} is bound to a null address.");
            _context.SetTensorAddress(tensor.Name, (nint)address);
            _bound.Add(tensor.Name);
        }
    }

    /// <summary>Gives the context its scratch memory: <paramref name="bytes"/> at <paramref name="address"/>, at least <see cref="DeviceMemorySize"/>.</summary>
    public void UseArena(ulong address, long bytes)
    {
        if (bytes < DeviceMemorySize)
            throw new TrtException($"{PlanPath} (part {Name}): the activation arena has {bytes} bytes, the engine needs {DeviceMemorySize}.");
        if (address == 0 && DeviceMemorySize > 0)
            throw new TrtException($"{PlanPath} (part {Name}): the activation arena is a null address.");
        _context.SetDeviceMemory((nint)address, bytes);
        _hasArena = true;
    }

    /// <inheritdoc/>
    public void Enqueue(CudaStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        EnqueueOn(stream.Handle);
    }

    /// <summary>Enqueues on a raw CUstream (what <see cref="Enqueue"/> does; tests call it with the fake's host memory).</summary>
    internal void EnqueueOn(nint stream)
    {
        if (!IsReady)
        {
            var unbound = Tensors.Where(t => !_bound.Contains(t.Name)).Select(t => t.Name);
            throw new InvalidOperationException($"Part {Name} ({PlanPath}) is not ready to run: {(_hasArena ? "" : "no activation arena; ")}unbound tensors: [{string.Join(", ", unbound)}].");
        }

        _ = _takeErrors(); // errors logged before this enqueue belong to someone else
        if (!_context.Enqueue(stream))
        {
            string log = _takeErrors();
            throw new TrtException($"{PlanPath} (part {Name}): enqueueV3 failed: {(log.Length > 0 ? log : "TensorRT logged no error")}.");
        }
    }

    private static void CheckContract(string name, string planPath, IReadOnlyList<TrtTensorInfo> io, PartManifest contract)
    {
        var problems = new List<string>();
        var byName = io.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var (expected, isInput) in contract.Inputs.Select(t => (t, true)).Concat(contract.Outputs.Select(t => (t, false))))
        {
            if (!byName.Remove(expected.Name, out var found))
            {
                problems.Add($"{(isInput ? "input" : "output")} {expected} is missing");
                continue;
            }

            var type = ElementType(found.DataType);
            if (found.IsInput != isInput || type != expected.DType || !found.Shape.AsSpan().SequenceEqual(expected.Shape))
            {
                problems.Add($"{(isInput ? "input" : "output")} {expected.Name}: expected {(isInput ? "input" : "output")} {expected.DType} [{string.Join(", ", expected.Shape)}], " +
                    $"found {(found.IsInput ? "input" : "output")} {type} [{string.Join(", ", found.Shape)}]");
            }
        }

        problems.AddRange(byName.Values.Select(t => $"{(t.IsInput ? "input" : "output")} {t.Name} is not in the bundle's contract"));
        if (problems.Count > 0)
        {
            throw new TrtException($"{planPath}: the engine of part {name} does not match the bundle's contract: {string.Join("; ", problems)}. " +
                "The plan was built from another bundle or version of the part; rebuild it with onnx2trt.");
        }
    }

    private static string ElementType(TrtDataType type) => type switch
    {
        TrtDataType.Float => "float32",
        TrtDataType.Half => "float16",
        TrtDataType.UInt8 => "uint8",
        TrtDataType.Int64 => "int64",
        TrtDataType.Int32 => "int32",
        TrtDataType.BFloat16 => "bfloat16",
        TrtDataType.Bool => "bool",
        _ => type.ToString().ToLowerInvariant(),
    };
}

namespace Rain.Engine.Interop.TensorRt;

/// <summary><c>IRuntime</c>: deserializes engines.</summary>
internal sealed unsafe class TrtRuntime : TrtObject
{
    public TrtRuntime(TrtLibrary library, TrtLogger logger)
        : base(library, library.CreateRuntime(logger), "IRuntime", hasImpl: true, owned: true, parent: null)
    {
        CheckPImpl();
    }

    public TrtEngine DeserializeEngine(ReadOnlySpan<byte> plan)
    {
        if (plan.IsEmpty)
            throw new ArgumentException("The TensorRT plan is empty.", nameof(plan));
        nint engine;
        fixed (byte* p = plan)
            engine = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, byte*, nuint, nint>)Slot(Slots.RuntimeDeserializeCudaEngine))(Impl, p, (nuint)plan.Length);
        if (engine == 0)
            throw new TrtException($"TensorRT {Library.VersionText} could not deserialize the plan ({plan.Length} bytes): it was built by another TensorRT version or for another GPU, or is damaged. Rebuild it with onnx2trt.");
        return new TrtEngine(Library, engine, this);
    }
}

/// <summary>One input or output of an engine.</summary>
internal readonly record struct TrtTensorInfo(string Name, bool IsInput, TrtDataType DataType, long[] Shape);

/// <summary><c>ICudaEngine</c>.</summary>
internal sealed unsafe class TrtEngine : TrtObject
{
    public TrtEngine(TrtLibrary library, nint engine, TrtRuntime runtime)
        : base(library, engine, "ICudaEngine", hasImpl: true, owned: true, parent: runtime)
    {
        CheckPImpl();
    }

    public int IOTensorCount => ((delegate* unmanaged[Cdecl, MemberFunction]<nint, int>)Slot(Slots.EngineGetNbIOTensors))(Impl);

    /// <summary>Scratch memory a context created with user-managed allocation needs.</summary>
    public long DeviceMemorySize => ((delegate* unmanaged[Cdecl, MemberFunction]<nint, long>)Slot(Slots.EngineGetDeviceMemorySizeV2))(Impl);

    public IReadOnlyList<TrtTensorInfo> IOTensors()
    {
        int n = IOTensorCount;
        if (n < 0 || n > 4096)
            throw new TrtException($"ICudaEngine reported {n} I/O tensors; the slot table does not fit this libnvinfer.");
        var result = new List<TrtTensorInfo>(n);
        for (int i = 0; i < n; i++)
        {
            nint namePtr = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, int, nint>)Slot(Slots.EngineGetIOTensorName))(Impl, i);
            string name = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(namePtr)
                ?? throw new TrtException($"ICudaEngine returned no name for I/O tensor {i}.");
            nint nameArg = Utf8(name);
            try
            {
                int mode = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint, int>)Slot(Slots.EngineGetTensorIOMode))(Impl, nameArg);
                int dtype = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint, int>)Slot(Slots.EngineGetTensorDataType))(Impl, nameArg);
                Dims64 dims = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint, Dims64>)Slot(Slots.EngineGetTensorShape))(Impl, nameArg);
                if (mode != Library.Enums.IOModeInput && mode != Library.Enums.IOModeOutput)
                    throw new TrtException($"ICudaEngine: tensor '{name}' has I/O mode {mode} (expected input {Library.Enums.IOModeInput} or output {Library.Enums.IOModeOutput}).");
                result.Add(new TrtTensorInfo(name, mode == Library.Enums.IOModeInput, (TrtDataType)dtype, dims.ToArray()));
            }
            finally
            {
                Free(nameArg);
            }
        }

        return result;
    }

    /// <summary>A context whose scratch memory the caller supplies (<c>kUSER_MANAGED</c>), so parts can share one arena.</summary>
    public TrtExecutionContext CreateExecutionContext()
    {
        nint ctx = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, int, nint>)Slot(Slots.EngineCreateExecutionContext))(Impl, Library.Enums.AllocationStrategyUserManaged);
        return new TrtExecutionContext(Library, ctx, this);
    }
}

/// <summary><c>IExecutionContext</c>.</summary>
internal sealed unsafe class TrtExecutionContext : TrtObject
{
    public TrtExecutionContext(TrtLibrary library, nint context, TrtEngine engine)
        : base(library, context, "IExecutionContext", hasImpl: true, owned: true, parent: engine)
    {
        CheckPImpl();
        nint back = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint>)Slot(Slots.ContextGetEngine))(Impl);
        if (back != engine.Public)
            throw new TrtException($"IExecutionContext.getEngine() returned 0x{back:X} instead of the engine 0x{engine.Public:X}; the slot table does not fit TensorRT {library.VersionText}.");
    }

    public void SetInputShape(string name, ReadOnlySpan<long> shape)
    {
        var dims = Dims64.From(shape);
        nint n = Utf8(name);
        try
        {
            byte ok = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint, Dims64*, byte>)Slot(Slots.ContextSetInputShape))(Impl, n, &dims);
            if (ok == 0)
                throw new TrtException($"IExecutionContext.setInputShape('{name}', [{string.Join(", ", shape.ToArray())}]) was refused; see the TensorRT log.");
        }
        finally
        {
            Free(n);
        }
    }

    public long[] GetTensorShape(string name)
    {
        nint n = Utf8(name);
        try
        {
            return ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint, Dims64>)Slot(Slots.ContextGetTensorShape))(Impl, n).ToArray();
        }
        finally
        {
            Free(n);
        }
    }

    public void SetTensorAddress(string name, nint address)
    {
        nint n = Utf8(name);
        try
        {
            byte ok = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint, nint, byte>)Slot(Slots.ContextSetTensorAddress))(Impl, n, address);
            if (ok == 0)
                throw new TrtException($"IExecutionContext.setTensorAddress('{name}', 0x{address:X}) was refused (unknown name or misaligned address).");
        }
        finally
        {
            Free(n);
        }
    }

    public void SetDeviceMemory(nint memory, long size) =>
        ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint, long, void>)Slot(Slots.ContextSetDeviceMemoryV2))(Impl, memory, size);

    /// <summary>Enqueues the engine on <paramref name="stream"/> (a CUstream / cudaStream_t). False when TensorRT refused (e.g. under capture).</summary>
    public bool Enqueue(nint stream) =>
        ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint, byte>)Slot(Slots.ContextEnqueueV3))(Impl, stream) != 0;
}

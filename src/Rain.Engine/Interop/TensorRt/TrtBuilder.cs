using System.Runtime.InteropServices;

namespace Rain.Engine.Interop.TensorRt;

/// <summary><c>IBuilder</c>: builds serialized plans from a parsed network.</summary>
internal sealed unsafe class TrtBuilder : TrtObject
{
    public TrtBuilder(TrtLibrary library, TrtLogger logger)
        : base(library, library.CreateBuilder(logger), "IBuilder", hasImpl: true, owned: true, parent: null)
    {
    }

    /// <summary>A network definition; <paramref name="stronglyTyped"/> sets <c>kSTRONGLY_TYPED</c> (flag bit 1).</summary>
    public TrtNetwork CreateNetwork(bool stronglyTyped = false)
    {
        uint flags = stronglyTyped ? 1u << 1 : 0u;
        nint net = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, uint, nint>)Slot(Slots.BuilderCreateNetworkV2))(Impl, flags);
        return new TrtNetwork(Library, net, this);
    }

    public TrtBuilderConfig CreateConfig() =>
        new(Library, ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint>)Slot(Slots.BuilderCreateBuilderConfig))(Impl), this);

    /// <summary>An optimization profile; owned by the builder (never deleted by us).</summary>
    public TrtOptimizationProfile CreateOptimizationProfile() =>
        new(Library, ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint>)Slot(Slots.BuilderCreateOptimizationProfile))(Impl), this);

    /// <summary>Builds and serializes; returns the plan bytes.</summary>
    public byte[] BuildSerializedNetwork(TrtNetwork network, TrtBuilderConfig config)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(config);
        nint memory = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint, nint, nint>)Slot(Slots.BuilderBuildSerializedNetwork))(Impl, network.Public, config.Public);
        if (memory == 0)
            throw new TrtException("IBuilder.buildSerializedNetwork failed; the TensorRT log above says why.");
        using var host = new TrtHostMemory(Library, memory);
        return host.ToArray();
    }
}

/// <summary><c>INetworkDefinition</c> (filled by the ONNX parser).</summary>
internal sealed class TrtNetwork(TrtLibrary library, nint network, TrtBuilder builder)
    : TrtObject(library, network, "INetworkDefinition", hasImpl: true, owned: true, parent: builder);

/// <summary><c>IBuilderConfig</c>.</summary>
internal sealed unsafe class TrtBuilderConfig(TrtLibrary library, nint config, TrtBuilder builder)
    : TrtObject(library, config, "IBuilderConfig", hasImpl: true, owned: true, parent: builder)
{
    public void SetFlag(int flag) => ((delegate* unmanaged[Cdecl, MemberFunction]<nint, int, void>)Slot(Slots.ConfigSetFlag))(Impl, flag);

    public void SetWorkspaceLimit(ulong bytes) =>
        ((delegate* unmanaged[Cdecl, MemberFunction]<nint, int, nuint, void>)Slot(Slots.ConfigSetMemoryPoolLimit))(Impl, Library.Enums.MemoryPoolWorkspace, (nuint)bytes);

    /// <summary>
    /// A timing cache holding <paramref name="serialized"/> (empty = a new cache). Owned by the caller, not by this
    /// config: it must outlive every build that uses it, and is deleted through its own wrapper.
    /// </summary>
    public TrtTimingCache CreateTimingCache(ReadOnlySpan<byte> serialized)
    {
        nint cache;
        fixed (byte* p = serialized)
            cache = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, byte*, nuint, nint>)Slot(Slots.ConfigCreateTimingCache))(Impl, p, (nuint)serialized.Length);
        return new TrtTimingCache(Library, cache);
    }

    /// <summary>Lets the builds of this config read and extend <paramref name="cache"/>; false when TensorRT refused it (e.g. a cache from another GPU).</summary>
    public bool UseTimingCache(TrtTimingCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        // ITimingCache const& takes the public wrapper, not its implementation (trt-abi README §11.4).
        return ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint, byte, byte>)Slot(Slots.ConfigSetTimingCache))(Impl, cache.Public, 0) != 0;
    }

    public int AddOptimizationProfile(TrtOptimizationProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        int index = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint, int>)Slot(Slots.ConfigAddOptimizationProfile))(Impl, profile.Public);
        if (index < 0)
            throw new TrtException("IBuilderConfig.addOptimizationProfile refused the profile (it is invalid: min ≤ opt ≤ max must hold for every input).");
        return index;
    }
}

/// <summary><c>IOptimizationProfile</c>: owned by its builder.</summary>
internal sealed unsafe class TrtOptimizationProfile(TrtLibrary library, nint profile, TrtBuilder builder)
    : TrtObject(library, profile, "IOptimizationProfile", hasImpl: true, owned: false, parent: builder)
{
    /// <summary>Sets min, opt and max to the same static shape.</summary>
    public void SetStaticShape(string name, ReadOnlySpan<long> shape)
    {
        var dims = Dims64.From(shape);
        nint n = Utf8(name);
        try
        {
            foreach (int selector in new[] { Library.Enums.OptProfileMin, Library.Enums.OptProfileOpt, Library.Enums.OptProfileMax })
            {
                byte ok = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint, int, Dims64*, byte>)Slot(Slots.ProfileSetDimensions))(Impl, n, selector, &dims);
                if (ok == 0)
                    throw new TrtException($"IOptimizationProfile.setDimensions('{name}', {selector}, [{string.Join(", ", shape.ToArray())}]) was refused.");
            }
        }
        finally
        {
            Free(n);
        }
    }
}

/// <summary><c>ITimingCache</c>: the builder's measured tactic timings, reused across builds and persisted between runs.</summary>
internal sealed unsafe class TrtTimingCache(TrtLibrary library, nint cache)
    : TrtObject(library, cache, "ITimingCache", hasImpl: true, owned: true, parent: null)
{
    /// <summary>The cache's serialized bytes (to be written to disk and given to <see cref="TrtBuilderConfig.CreateTimingCache"/> next time).</summary>
    public byte[] Serialize()
    {
        nint memory = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint>)Slot(Slots.TimingCacheSerialize))(Impl);
        if (memory == 0)
            throw new TrtException("ITimingCache.serialize returned null; see the TensorRT log.");
        using var host = new TrtHostMemory(Library, memory);
        return host.ToArray();
    }
}

/// <summary><c>IHostMemory</c>: a serialized plan or timing cache; copied out and deleted.</summary>
internal sealed unsafe class TrtHostMemory(TrtLibrary library, nint memory)
    : TrtObject(library, memory, "IHostMemory", hasImpl: true, owned: true, parent: null)
{
    public byte[] ToArray()
    {
        nint data = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint>)Slot(Slots.HostMemoryData))(Impl);
        nuint size = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nuint>)Slot(Slots.HostMemorySize))(Impl);
        if (size > int.MaxValue)
            throw new TrtException($"The serialized plan is {size} bytes; plans over 2 GiB are not supported.");
        if (data == 0 && size > 0)
            throw new TrtException("IHostMemory returned a null data pointer.");
        var result = new byte[(int)size];
        new ReadOnlySpan<byte>((void*)data, (int)size).CopyTo(result);
        return result;
    }
}

/// <summary>One ONNX parser error.</summary>
internal readonly record struct TrtParserError(string Description, string? NodeName);

/// <summary><c>nvonnxparser::IParser</c>: no impl pointer, its own vtable, its destructor in the middle of it.</summary>
internal sealed unsafe class TrtOnnxParser : TrtObject
{
    public TrtOnnxParser(TrtLibrary library, TrtNetwork network, TrtLogger logger)
        : base(library, library.CreateParser(network.Public, logger), "nvonnxparser::IParser", hasImpl: false, owned: true, parent: network)
    {
    }

    /// <summary>Parses an ONNX model; <paramref name="modelPath"/> lets the parser find external weight files.</summary>
    public bool Parse(ReadOnlySpan<byte> model, string? modelPath)
    {
        nint path = modelPath is null ? 0 : Utf8(modelPath);
        try
        {
            fixed (byte* p = model)
                return ((delegate* unmanaged[Cdecl, MemberFunction]<nint, byte*, nuint, nint, byte>)Slot(Slots.ParserParse))(Impl, p, (nuint)model.Length, path) != 0;
        }
        finally
        {
            if (path != 0)
                Free(path);
        }
    }

    public IReadOnlyList<TrtParserError> Errors()
    {
        int n = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, int>)Slot(Slots.ParserGetNbErrors))(Impl);
        var result = new List<TrtParserError>();
        for (int i = 0; i < Math.Min(n, 1000); i++)
        {
            nint error = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, int, nint>)Slot(Slots.ParserGetError))(Impl, i);
            if (error == 0)
                continue;
            nint* vtable = *(nint**)error;
            nint desc = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint>)vtable[Slots.ParserErrorDesc])(error);
            nint node = ((delegate* unmanaged[Cdecl, MemberFunction]<nint, nint>)vtable[Slots.ParserErrorNodeName])(error);
            result.Add(new TrtParserError(Marshal.PtrToStringUTF8(desc) ?? "(no description)", Marshal.PtrToStringUTF8(node)));
        }

        return result;
    }

    protected override void Delete()
    {
        nint fn = (*(nint**)Public)[Slots.ParserDelete];
        if (Slots.Abi == TrtAbiKind.Msvc)
            ((delegate* unmanaged[Cdecl, MemberFunction]<nint, uint, nint>)fn)(Public, 1);
        else
            ((delegate* unmanaged[Cdecl, MemberFunction]<nint, void>)fn)(Public);
    }
}

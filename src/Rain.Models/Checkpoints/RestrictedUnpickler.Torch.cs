namespace Rain.Models.Checkpoints;

// The torch half: allowed globals, what "calling" them builds, and storages named by persistent ids.
internal sealed unsafe partial class RestrictedUnpickler
{
    private PickleGlobal ResolveGlobal(string module, string name) =>
        PickleGlobals.Find(module, name)
        ?? throw Error($"the pickle names the global '{module}.{name}', which a state dict never needs; refusing to load it (a pickle is a program, and only tensor-rebuilding globals are allowed).");

    private object Reduce(object callable, object arguments)
    {
        if (callable is not PickleGlobal g)
            throw Error($"REDUCE calls a {Describe(callable)}, expected an allowed global.");
        if (arguments is not PickleTuple args)
            throw Error($"REDUCE passes a {Describe(arguments)} to {g.FullName}, expected an argument tuple.");
        switch (g.Kind)
        {
            case PickleGlobalKind.OrderedDict when args.Count == 0:
                return new PickleDict();
            case PickleGlobalKind.RebuildTensorV2 when args.Count is 6 or 7:
            case PickleGlobalKind.RebuildTensor when args.Count == 4:
                return RebuildTensor(g, args);
            case PickleGlobalKind.RebuildParameter when args.Count == 3:
            case PickleGlobalKind.RebuildParameterWithState when args.Count == 4:
                return args[0] as TensorRef ?? throw Error($"{g.FullName} wraps a {Describe(args[0])}, expected a tensor.");
            default:
                throw Error($"{g.FullName} called with {args.Count} arguments; not a call a state dict makes.");
        }
    }

    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
    private TensorRef RebuildTensor(PickleGlobal g, PickleTuple args)
    {
        var storage = args[0] as StorageRef ?? throw Error($"{g.FullName}: argument 0 is a {Describe(args[0])}, expected a storage.");
        if (args[1] is not long offset || offset < 0)
            throw Error($"{g.FullName}: storage offset {args[1]} is not a non-negative integer.");
        long[] size = Integers(g, args[2], "size");
        long[] stride = Integers(g, args[3], "stride");
        if (size.Length != stride.Length)
            throw Error($"{g.FullName}: size has {size.Length} dimensions, stride {stride.Length}.");
        return new TensorRef(storage, offset, size, stride);
    }

    private long[] Integers(PickleGlobal g, object value, string what)
    {
        if (value is not PickleTuple t || t.Count > 64)
            throw Error($"{g.FullName}: {what} is a {Describe(value)}, expected a tuple of at most 64 integers.");
        var result = new long[t.Count];
        for (int i = 0; i < t.Count; i++)
            result[i] = t[i] is long v && v >= 0 ? v : throw Error($"{g.FullName}: {what}[{i}] = {t[i]} is not a non-negative integer.");
        return result;
    }

    // BUILD sets attributes; on a state dict that is only the `_metadata` (version) table, which readers ignore.
    private void Build(object state, object target)
    {
        if (target is not PickleDict)
            throw Error($"BUILD on a {Describe(target)} (with state {Describe(state)}); only dict state is accepted.");
    }

    // torch.save writes each storage as ('storage', <Typed>Storage, key, location, numel); the legacy format
    // appends view metadata, None for every storage torch ≥ 1.0 wrote (views are refused).
    private StorageRef PersistentLoad(object pid)
    {
        int expected = _legacy ? 6 : 5;
        if (pid is not PickleTuple t || t.Count != expected || t[0] is not "storage")
            throw Error($"persistent id is a {Describe(pid)}, expected ('storage', type, key, location, numel{(_legacy ? ", view" : string.Empty)}).");
        if (_legacy && t[5] is not PickleNone)
            throw Error("the legacy file stores a storage view (torch < 1.0); re-save it with a current PyTorch: `torch.save(torch.load(f), f2)`.");
        if (t[1] is not PickleGlobal { Kind: PickleGlobalKind.StorageType } type)
            throw Error($"persistent id names storage type {Describe(t[1])}, expected a typed storage such as torch.FloatStorage.");
        if (t[2] is not string key || key.Length is 0 or > 64)
            throw Error($"persistent id key {t[2]} is not a short string.");
        if (t[4] is not long numel || numel < 0)
            throw Error($"storage '{key}' has element count {t[4]}, expected a non-negative integer.");
        string location = t[3] as string ?? "?";
        if (_storages.TryGetValue(key, out var known))
        {
            if (known.DType != type.DType || known.ElementCount != numel)
                throw Error($"storage '{key}' is named as {type.DType}×{numel} after {known.DType}×{known.ElementCount}.");
            return known;
        }

        var storage = new StorageRef(key, type.DType, numel, location);
        _storages.Add(key, storage);
        return storage;
    }

    private static string OpcodeName(byte op) => op switch
    {
        (byte)'i' => "INST",
        (byte)'o' => "OBJ",
        0x81 => "NEWOBJ",
        0x92 => "NEWOBJ_EX",
        (byte)'P' => "PERSID",
        0x82 or 0x83 or 0x84 => "EXT",
        (byte)'S' => "STRING",
        (byte)'T' => "BINSTRING",
        (byte)'U' => "SHORT_BINSTRING",
        (byte)'V' => "UNICODE",
        (byte)'I' => "INT",
        (byte)'L' => "LONG",
        0x8b => "LONG4",
        (byte)'F' => "FLOAT",
        (byte)'g' => "GET",
        (byte)'p' => "PUT",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        0x8e => "BINBYTES8",
        _ => "not a pickle opcode",
    };
}

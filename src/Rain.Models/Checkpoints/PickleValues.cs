using Rain.Engine.Tensors;

namespace Rain.Models.Checkpoints;

// The only values the restricted unpickler ever builds. Python ints are long, floats double, str string,
// bytes byte[], True/False bool; containers and torch objects are the records below. Nothing here can run code.

/// <summary>Names of pickle values in messages: Python's names, never .NET's.</summary>
internal static class PickleValues
{
    /// <summary>"dict", "list", "tuple of 3", "int 7", "global torch.FloatStorage", … as a Python user would say it.</summary>
    public static string Describe(object value) => value switch
    {
        PickleGlobal g => $"global {g.FullName}",
        PickleTuple t => $"tuple of {t.Count}",
        PickleDict => "dict",
        List<object> => "list",
        TensorRef => "tensor",
        StorageRef => "storage",
        PickleNone => "None",
        bool b => b ? "bool True" : "bool False",
        long n => $"int {n}",
        double d => $"float {d.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
        string s => s.Length <= 40 ? $"str '{s}'" : $"str of {s.Length} characters",
        byte[] b => $"bytes of length {b.Length}",
        _ => "value of an unexpected kind",
    };
}

/// <summary>Python None (a singleton, so dictionaries never see a null key).</summary>
internal sealed class PickleNone
{
    public static readonly PickleNone Value = new();

    private PickleNone()
    {
    }

    public override string ToString() => "None";
}

/// <summary>A Python tuple.</summary>
internal sealed class PickleTuple(object[] items)
{
    public object[] Items { get; } = items;

    public int Count => Items.Length;

    public object this[int index] => Items[index];
}

/// <summary>A Python dict or collections.OrderedDict: insertion-ordered, a repeated key keeps its first position.</summary>
internal sealed class PickleDict
{
    public OrderedDictionary<object, object> Items { get; } = [];
}

/// <summary>An allowed global, resolved by name only (never imported).</summary>
internal sealed record PickleGlobal(string Module, string Name, PickleGlobalKind Kind, TensorDType DType = default)
{
    public string FullName => $"{Module}.{Name}";
}

/// <summary>What an allowed global is for.</summary>
internal enum PickleGlobalKind
{
    OrderedDict,
    RebuildTensorV2,
    RebuildTensor,
    RebuildParameter,
    RebuildParameterWithState,
    StorageType,
    DType,
}

/// <summary>A storage named by a persistent id ('storage', type, key, location, numel): the zip entry data/&lt;key&gt;.</summary>
internal sealed record StorageRef(string Key, TensorDType DType, long ElementCount, string Location);

/// <summary>A tensor view of a storage as _rebuild_tensor_v2 describes it.</summary>
internal sealed record TensorRef(StorageRef Storage, long StorageOffset, long[] Size, long[] Stride);

using Rain.Engine.Tensors;

namespace Rain.Models.Checkpoints;

/// <summary>
/// The allow-list of globals a torch state dict pickle may name. Anything else (os.system, builtins.eval,
/// posix.system, torch.load, ...) is refused by name before anything is built.
/// </summary>
internal static class PickleGlobals
{
    private static readonly Dictionary<(string Module, string Name), PickleGlobal> Allowed = Build();

    public static PickleGlobal? Find(string module, string name) => Allowed.GetValueOrDefault((module, name));

    private static Dictionary<(string, string), PickleGlobal> Build()
    {
        var all = new List<PickleGlobal>
        {
            new("collections", "OrderedDict", PickleGlobalKind.OrderedDict),
            new("torch._utils", "_rebuild_tensor_v2", PickleGlobalKind.RebuildTensorV2),
            new("torch._utils", "_rebuild_tensor", PickleGlobalKind.RebuildTensor),
            new("torch._utils", "_rebuild_parameter", PickleGlobalKind.RebuildParameter),
            new("torch._utils", "_rebuild_parameter_with_state", PickleGlobalKind.RebuildParameterWithState),
        };
        (string Storage, string DTypeName, TensorDType DType)[] types =
        [
            ("DoubleStorage", "float64", TensorDType.F64),
            ("FloatStorage", "float32", TensorDType.F32),
            ("HalfStorage", "float16", TensorDType.F16),
            ("BFloat16Storage", "bfloat16", TensorDType.BF16),
            ("LongStorage", "int64", TensorDType.I64),
            ("IntStorage", "int32", TensorDType.I32),
            ("ShortStorage", "int16", TensorDType.I16),
            ("CharStorage", "int8", TensorDType.I8),
            ("ByteStorage", "uint8", TensorDType.U8),
            ("BoolStorage", "bool", TensorDType.Bool),
        ];
        foreach (var (storage, dtypeName, dtype) in types)
        {
            all.Add(new("torch", storage, PickleGlobalKind.StorageType, dtype));
            all.Add(new("torch", dtypeName, PickleGlobalKind.DType, dtype));
        }

        return all.ToDictionary(g => (g.Module, g.Name));
    }
}

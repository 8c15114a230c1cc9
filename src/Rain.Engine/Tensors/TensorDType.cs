namespace Rain.Engine.Tensors;

/// <summary>Element types a checkpoint tensor can be stored in (the safetensors set that state dicts use).</summary>
public enum TensorDType
{
    /// <summary>IEEE 754 binary64.</summary>
    F64,

    /// <summary>IEEE 754 binary32.</summary>
    F32,

    /// <summary>IEEE 754 binary16.</summary>
    F16,

    /// <summary>bfloat16: the upper 16 bits of a binary32.</summary>
    BF16,

    /// <summary>Signed 64-bit integer.</summary>
    I64,

    /// <summary>Signed 32-bit integer.</summary>
    I32,

    /// <summary>Signed 16-bit integer.</summary>
    I16,

    /// <summary>Signed 8-bit integer.</summary>
    I8,

    /// <summary>Unsigned 8-bit integer.</summary>
    U8,

    /// <summary>Boolean, one byte per element (0 or 1).</summary>
    Bool,
}

/// <summary>Sizes and names of <see cref="TensorDType"/> values.</summary>
public static class TensorDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(this TensorDType dtype) => dtype switch
    {
        TensorDType.F64 or TensorDType.I64 => 8,
        TensorDType.F32 or TensorDType.I32 => 4,
        TensorDType.F16 or TensorDType.BF16 or TensorDType.I16 => 2,
        TensorDType.I8 or TensorDType.U8 or TensorDType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>The safetensors spelling ("F32", "BOOL", ...).</summary>
    public static string ToSafetensorsName(this TensorDType dtype) => dtype == TensorDType.Bool ? "BOOL" : dtype.ToString();

    /// <summary>Parses a safetensors dtype name; false for anything outside <see cref="TensorDType"/>.</summary>
    public static bool TryParseSafetensorsName(string name, out TensorDType dtype)
    {
        switch (name)
        {
            case "F64": dtype = TensorDType.F64; return true;
            case "F32": dtype = TensorDType.F32; return true;
            case "F16": dtype = TensorDType.F16; return true;
            case "BF16": dtype = TensorDType.BF16; return true;
            case "I64": dtype = TensorDType.I64; return true;
            case "I32": dtype = TensorDType.I32; return true;
            case "I16": dtype = TensorDType.I16; return true;
            case "I8": dtype = TensorDType.I8; return true;
            case "U8": dtype = TensorDType.U8; return true;
            case "BOOL": dtype = TensorDType.Bool; return true;
            default: dtype = default; return false;
        }
    }

    /// <summary>The ONNX / bundle-contract spelling ("float32", "int64", "bool", ...).</summary>
    public static string ToOnnxName(this TensorDType dtype) => dtype switch
    {
        TensorDType.F64 => "float64",
        TensorDType.F32 => "float32",
        TensorDType.F16 => "float16",
        TensorDType.BF16 => "bfloat16",
        TensorDType.I64 => "int64",
        TensorDType.I32 => "int32",
        TensorDType.I16 => "int16",
        TensorDType.I8 => "int8",
        TensorDType.U8 => "uint8",
        TensorDType.Bool => "bool",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>Parses a bundle contract's element type ("float32", ...); false for anything outside <see cref="TensorDType"/>.</summary>
    public static bool TryParseOnnxName(string name, out TensorDType dtype)
    {
        foreach (var t in Enum.GetValues<TensorDType>())
        {
            if (t.ToOnnxName() == name)
            {
                dtype = t;
                return true;
            }
        }

        dtype = default;
        return false;
    }
}

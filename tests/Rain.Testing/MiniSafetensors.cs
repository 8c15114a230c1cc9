using System.Buffers.Binary;
using System.Text.Json;

namespace Rain.Testing;

/// <summary>
/// A deliberately small safetensors reader for test vectors (whole file in memory, trusted input). The product
/// reader with its validation lives in Rain.Models.
/// </summary>
public sealed class MiniSafetensors
{
    private readonly byte[] _data;
    private readonly Dictionary<string, (string DType, long[] Shape, long Begin, long End)> _entries = new(StringComparer.Ordinal);

    private MiniSafetensors(string path)
    {
        _data = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(_data);
        using var doc = JsonDocument.Parse(_data.AsMemory(8, (int)headerLength));
        foreach (var property in doc.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__")
                continue;
            var v = property.Value;
            var shape = v.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = v.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            _entries[property.Name] = (v.GetProperty("dtype").GetString()!, shape, 8 + headerLength + offsets[0], 8 + headerLength + offsets[1]);
            Names.Add(property.Name);
        }
    }

    /// <summary>Tensor names in header order.</summary>
    public List<string> Names { get; } = [];

    public static MiniSafetensors Read(string path) => new(path);

    public bool Contains(string name) => _entries.ContainsKey(name);

    public long[] Shape(string name) => _entries[name].Shape;

    public string DType(string name) => _entries[name].DType;

    /// <summary>The tensor converted to float32 (F32, F16, BF16, F64, I64, I32, U8 accepted).</summary>
    public float[] Floats(string name)
    {
        var (dtype, _, begin, end) = Entry(name);
        var bytes = _data.AsMemory((int)begin, (int)(end - begin));
        return dtype switch
        {
            "F32" => Enumerable.Range(0, bytes.Length / 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(bytes.Span[(4 * i)..])).ToArray(),
            "F64" => Enumerable.Range(0, bytes.Length / 8).Select(i => (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes.Span[(8 * i)..])).ToArray(),
            "F16" => Enumerable.Range(0, bytes.Length / 2).Select(i => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.Span[(2 * i)..])).ToArray(),
            "BF16" => Enumerable.Range(0, bytes.Length / 2).Select(i => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.Span[(2 * i)..]) << 16)).ToArray(),
            "I64" => Enumerable.Range(0, bytes.Length / 8).Select(i => (float)BinaryPrimitives.ReadInt64LittleEndian(bytes.Span[(8 * i)..])).ToArray(),
            "I32" => Enumerable.Range(0, bytes.Length / 4).Select(i => (float)BinaryPrimitives.ReadInt32LittleEndian(bytes.Span[(4 * i)..])).ToArray(),
            "U8" => bytes.ToArray().Select(b => (float)b).ToArray(),
            _ => throw new NotSupportedException($"{name}: dtype {dtype} is not handled by the test reader."),
        };
    }

    /// <summary>A float64 tensor, exactly (F64; F32 widened).</summary>
    public double[] Doubles(string name)
    {
        var (dtype, _, begin, end) = Entry(name);
        var bytes = _data.AsSpan((int)begin, (int)(end - begin));
        var result = new double[bytes.Length / (dtype == "F64" ? 8 : 4)];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = dtype switch
            {
                "F64" => BinaryPrimitives.ReadDoubleLittleEndian(bytes[(8 * i)..]),
                "F32" => BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]),
                _ => throw new NotSupportedException($"{name}: dtype {dtype} is not a float type."),
            };
        }

        return result;
    }

    /// <summary>An integer tensor (I64, I32).</summary>
    public long[] Longs(string name)
    {
        var (dtype, _, begin, end) = Entry(name);
        var bytes = _data.AsMemory((int)begin, (int)(end - begin));
        return dtype switch
        {
            "I64" => Enumerable.Range(0, bytes.Length / 8).Select(i => BinaryPrimitives.ReadInt64LittleEndian(bytes.Span[(8 * i)..])).ToArray(),
            "I32" => Enumerable.Range(0, bytes.Length / 4).Select(i => (long)BinaryPrimitives.ReadInt32LittleEndian(bytes.Span[(4 * i)..])).ToArray(),
            _ => throw new NotSupportedException($"{name}: dtype {dtype} is not an integer type."),
        };
    }

    /// <summary>The raw little-endian bytes of a tensor.</summary>
    public ReadOnlySpan<byte> Bytes(string name)
    {
        var (_, _, begin, end) = Entry(name);
        return _data.AsSpan((int)begin, (int)(end - begin));
    }

    private (string DType, long[] Shape, long Begin, long End) Entry(string name) =>
        _entries.TryGetValue(name, out var e) ? e : throw new KeyNotFoundException($"Tensor '{name}' is not in the file.");
}

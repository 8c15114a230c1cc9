using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Rain.Engine.Tensors;

/// <summary>
/// Writes float32 or float64 tensors as a safetensors file (8-byte little-endian header length, JSON header with dtype, shape and
/// data_offsets, the data in order), the format <see cref="SafetensorsReader"/> reads. Names must be unique and each
/// shape must match its data length.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> (name, shape, data) to <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">A duplicate name, or a shape that does not match its data.</exception>
    public static void Write(string path, IReadOnlyList<(string Name, long[] Shape, float[] Data)> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        Write(path, tensors, "F32");
    }

    /// <summary>Writes float64 tensors (dtype F64) to <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">A duplicate name, or a shape that does not match its data.</exception>
    public static void Write(string path, IReadOnlyList<(string Name, long[] Shape, double[] Data)> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        Write(path, tensors, "F64");
    }

    private static void Write<T>(string path, IReadOnlyList<(string Name, long[] Shape, T[] Data)> tensors, string dtype)
        where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors data is little-endian; this writer runs on little-endian machines only.");
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            long offset = 0;
            foreach (var (name, shape, data) in tensors)
            {
                long values = data.LongLength, bytes = values * Unsafe.SizeOf<T>();
                if (!names.Add(name) || name == "__metadata__")
                    throw new ArgumentException($"{path}: tensor name '{name}' is used twice or reserved.", nameof(tensors));
                long count = shape.Aggregate(1L, (a, b) => a * b);
                if (count != values)
                    throw new ArgumentException($"{path}: tensor '{name}' has shape [{string.Join(", ", shape)}] ({count} elements) but {values} values.", nameof(tensors));
                w.WriteStartObject(name);
                w.WriteString("dtype", dtype);
                w.WriteStartArray("shape");
                foreach (long d in shape)
                    w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }

            w.WriteEndObject();
        }

        string json = Encoding.UTF8.GetString(ms.ToArray());
        byte[] header = Encoding.UTF8.GetBytes(json.PadRight((json.Length + 7) / 8 * 8));
        using var file = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        file.Write(length);
        file.Write(header);
        foreach (var (_, _, data) in tensors)
            file.Write(MemoryMarshal.AsBytes(data.AsSpan()));
    }
}

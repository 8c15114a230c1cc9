using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Rain.Testing.Checkpoints;

/// <summary>Writes safetensors files from the format description (independent of the product reader).</summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IReadOnlyList<WriterTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var stream = File.Create(path);
        Write(stream, tensors, metadata);
    }

    public static void Write(Stream stream, IReadOnlyList<WriterTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        byte[] header = Header(tensors, metadata);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var t in tensors)
            stream.Write(t.Data.Span);
    }

    /// <summary>The JSON header, space-padded to a multiple of 8 as the reference writer does.</summary>
    public static byte[] Header(IReadOnlyList<WriterTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is not null)
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata)
                    w.WriteString(k, v);
                w.WriteEndObject();
            }

            long offset = 0;
            foreach (var t in tensors)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType);
                w.WriteStartArray("shape");
                foreach (long d in t.Shape)
                    w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + t.Data.Length);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += t.Data.Length;
            }

            w.WriteEndObject();
        }

        var json = Encoding.UTF8.GetString(ms.ToArray());
        return Encoding.UTF8.GetBytes(json.PadRight((json.Length + 7) / 8 * 8));
    }

    /// <summary>A whole file in memory with a hand-written header (for malformed-header tests).</summary>
    public static byte[] WithRawHeader(string json, byte[] data, ulong? declaredLength = null)
    {
        byte[] header = Encoding.UTF8.GetBytes(json);
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, declaredLength ?? (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }
}

using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;

namespace Rain.Engine.Tensors;

/// <summary>
/// Reads a safetensors file: an 8-byte little-endian header length, a JSON header mapping each tensor name to
/// <c>dtype</c>, <c>shape</c> and <c>data_offsets</c> (relative to the end of the header), optional
/// <c>__metadata__</c> (string → string), then the data. Tensors must tile the data exactly: no gaps, no overlap.
/// </summary>
public static class SafetensorsReader
{
    /// <summary>Largest header accepted; the format's own reference implementation uses the same 100 MB cap.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>
    /// Most tensors accepted in one file. Parsing costs roughly a kilobyte per tensor, so a 100 MB header of empty tensors
    /// would take gigabytes; real checkpoints hold thousands (SD-1.5's UNet 1,700; a large language-model shard tens of thousands).
    /// </summary>
    public const int MaxTensors = 1 << 17;

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 8 };

    /// <summary>True when <paramref name="prefix"/> (the first bytes of a file) looks like a safetensors header.</summary>
    public static bool LooksLikeSafetensors(ReadOnlySpan<byte> prefix) =>
        prefix.Length >= 9 && BinaryPrimitives.ReadUInt64LittleEndian(prefix) is > 1 and <= MaxHeaderBytes && prefix[8] == (byte)'{';

    /// <summary>Opens and validates a safetensors file.</summary>
    /// <exception cref="CheckpointFormatException">The file is not valid safetensors.</exception>
    public static ICheckpoint Open(string path)
    {
        using var owned = new Owned();
        var file = owned.Own(MappedFile.Open(path, 8));
        var (tensors, metadata) = ParseHeader(file);
        return owned.Commit(new MappedCheckpoint(file, "safetensors", tensors, metadata));
    }

    private static (List<TensorInfo> Tensors, Dictionary<string, string> Metadata) ParseHeader(MappedFile file)
    {
        string path = file.Path;
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file.Span(0, 8));
        if (headerLength > MaxHeaderBytes)
            throw new CheckpointFormatException(path, "header", $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit.");
        if ((long)headerLength > file.Length - 8)
            throw new CheckpointFormatException(path, "header", $"header length {headerLength} runs past the end of the file ({file.Length} bytes, so at most {file.Length - 8}).");
        long dataStart = 8 + (long)headerLength;
        long dataLength = file.Length - dataStart;

        byte[] json = file.Span(8, (int)headerLength).ToArray();

        // JsonDocument accepts invalid UTF-8 inside names and only fails when they are read: check it here.
        if (!Utf8.IsValid(json))
            throw new CheckpointFormatException(path, "header", "the JSON header is not valid UTF-8.");
        CountEntries(path, json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(path, "header", $"the JSON header is malformed: {e.Message}", e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(path, "header", $"the JSON header is a {doc.RootElement.ValueKind}, expected an object.");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<(TensorInfo Info, long Begin, long End)>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name))
                    throw new CheckpointFormatException(path, property.Name, "the key occurs twice in the header.");
                if (property.Name == "__metadata__")
                {
                    ReadMetadata(path, property.Value, metadata);
                    continue;
                }

                if (entries.Count == MaxTensors)
                    throw new CheckpointFormatException(path, "header", $"more than {MaxTensors} tensors; a checkpoint holds thousands, and parsing this many would take memory out of proportion.");
                entries.Add(ReadEntry(path, property.Name, property.Value, dataStart, dataLength));
            }

            CheckTiling(path, entries, dataLength);
            return (entries.ConvertAll(e => e.Info), metadata);
        }
    }

    // A streaming pass over the top-level keys (no allocation) refuses a header of too many entries before JsonDocument
    // builds its index of every token, which for a 100 MB header of empty tensors would take hundreds of megabytes.
    private static void CountEntries(string path, byte[] json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = JsonOptions.MaxDepth });
        int entries = 0;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return; // JsonDocument says what is wrong
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (++entries > MaxTensors + 1)
                    throw new CheckpointFormatException(path, "header", $"more than {MaxTensors} tensors; a checkpoint holds thousands, and parsing this many would take memory out of proportion.");
                reader.Read();
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Malformed: JsonDocument reports it with its position.
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new CheckpointFormatException(path, "__metadata__", $"found a {value.ValueKind}, expected an object of strings.");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new CheckpointFormatException(path, "__metadata__." + item.Name, $"found a {item.Value.ValueKind}, expected a string.");
            if (metadata.Count == MaxTensors)
                throw new CheckpointFormatException(path, "__metadata__", $"more than {MaxTensors} entries.");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static (TensorInfo Info, long Begin, long End) ReadEntry(string path, string name, JsonElement value, long dataStart, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new CheckpointFormatException(path, name, $"found a {value.ValueKind}, expected an object with dtype, shape and data_offsets.");
        if (!value.TryGetProperty("dtype", out var dtypeValue) || dtypeValue.ValueKind != JsonValueKind.String)
            throw new CheckpointFormatException(path, name, "'dtype' is missing or not a string.");
        string dtypeName = dtypeValue.GetString()!;
        if (!TensorDTypes.TryParseSafetensorsName(dtypeName, out var dtype))
            throw new CheckpointFormatException(path, name, $"unknown dtype '{dtypeName}' (expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL).");
        long[] shape = ReadIntegers(path, name, value, "shape", maxCount: 64);
        long[] offsets = ReadIntegers(path, name, value, "data_offsets", maxCount: 2);
        if (offsets.Length != 2)
            throw new CheckpointFormatException(path, name, $"'data_offsets' has {offsets.Length} numbers, expected 2.");
        long begin = offsets[0], end = offsets[1];
        if (begin > end || end > dataLength)
            throw new CheckpointFormatException(path, name, $"data_offsets [{begin}, {end}] lie outside the {dataLength}-byte data section.");
        var (elements, bytes) = Shapes.Measure(path, name, shape, dtype);
        if (bytes != end - begin)
            throw new CheckpointFormatException(path, name, $"shape [{string.Join(", ", shape)}] of {dtypeName} needs {bytes} bytes, data_offsets span {end - begin}.");
        return (new TensorInfo(name, dtype, shape, elements, dataStart + begin), begin, end);
    }

    private static long[] ReadIntegers(string path, string name, JsonElement value, string field, int maxCount)
    {
        if (!value.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw new CheckpointFormatException(path, name, $"'{field}' is missing or not an array.");
        int count = array.GetArrayLength();
        if (count > maxCount)
            throw new CheckpointFormatException(path, name, $"'{field}' has {count} numbers, at most {maxCount} expected.");
        var result = new long[count];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out result[i]) || result[i] < 0)
                throw new CheckpointFormatException(path, name, $"'{field}'[{i}] is {item.GetRawText()}, expected a non-negative integer.");
            i++;
        }

        return result;
    }

    // The data section must be covered exactly once: sorted by start, each tensor begins where the previous ended.
    private static void CheckTiling(string path, List<(TensorInfo Info, long Begin, long End)> entries, long dataLength)
    {
        var sorted = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long expected = 0;
        string previous = "(start of data)";
        foreach (var (info, begin, end) in sorted)
        {
            if (begin < expected)
                throw new CheckpointFormatException(path, info.Name, $"data_offsets begin at {begin}, overlapping {previous}, which ends at {expected}.");
            if (begin > expected)
                throw new CheckpointFormatException(path, info.Name, $"data_offsets begin at {begin}, leaving a gap after {previous}, which ends at {expected}.");
            expected = end;
            previous = info.Name;
        }

        if (expected != dataLength)
            throw new CheckpointFormatException(path, "data", $"tensors cover {expected} bytes of the {dataLength}-byte data section.");
    }
}

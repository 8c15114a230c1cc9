using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text;
using Rain.Engine.Tensors;

namespace Rain.Models.Checkpoints;

/// <summary>One zip entry as its central directory record describes it (the CRC-32 of its uncompressed bytes included).</summary>
internal sealed record ZipEntry(string Name, int Method, long CompressedSize, long UncompressedSize, long LocalHeaderOffset, uint Crc32);

/// <summary>
/// The central directory of a zip file (ZIP64 included, as torch.save writes it for files over 4 GB), read from a
/// mapped file with every offset checked against the file. Entry data is located through the local header so
/// STORED entries can be mapped in place. Every entry read is checked against its CRC-32 (<see cref="VerifyStored"/>
/// for mapped entries, inside <see cref="ReadSmall"/> for the rest), so bytes changed after the file was written are
/// refused instead of turning into plausible weights.
/// </summary>
internal sealed class ZipDirectory
{
    private const uint EndSignature = 0x06054b50;
    private const uint Zip64EndSignature = 0x06064b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const uint CentralSignature = 0x02014b50;
    private const uint LocalSignature = 0x04034b50;
    private const int MaxEntries = 10_000_000;

    private readonly MappedFile _file;
    private readonly Dictionary<string, ZipEntry> _entries = new(StringComparer.Ordinal);

    private ZipDirectory(MappedFile file) => _file = file;

    public IReadOnlyCollection<ZipEntry> Entries => _entries.Values;

    public static ZipDirectory Read(MappedFile file)
    {
        var zip = new ZipDirectory(file);
        var (count, offset, size) = zip.FindCentralDirectory();
        zip.ReadCentralDirectory(count, offset, size);
        return zip;
    }

    public ZipEntry? Find(string name) => _entries.GetValueOrDefault(name);

    /// <summary>The absolute offset of the entry's data, after checking its local header and that the data lies in the file.</summary>
    public long DataOffset(ZipEntry e)
    {
        if (!_file.Contains(e.LocalHeaderOffset, 30))
            throw Bad(e.Name, $"local header at {e.LocalHeaderOffset} lies outside the file ({_file.Length} bytes).");
        var header = _file.Span(e.LocalHeaderOffset, 30);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != LocalSignature)
            throw Bad(e.Name, $"no local header signature at {e.LocalHeaderOffset}.");
        int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(header[26..]);
        int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(header[28..]);
        long data = e.LocalHeaderOffset + 30 + nameLength + extraLength;
        if (!_file.Contains(e.LocalHeaderOffset + 30, nameLength) || !_file.Span(e.LocalHeaderOffset + 30, nameLength).SequenceEqual(Encoding.UTF8.GetBytes(e.Name)))
            throw Bad(e.Name, "the local header names a different entry than the central directory.");
        if (!_file.Contains(data, e.CompressedSize))
            throw Bad(e.Name, $"data [{data}, +{e.CompressedSize}) lies outside the file ({_file.Length} bytes).");
        return data;
    }

    /// <summary>A small entry's bytes (STORED or DEFLATE), refusing anything larger than <paramref name="maxBytes"/>.</summary>
    public byte[] ReadSmall(ZipEntry e, int maxBytes)
    {
        if (e.UncompressedSize > maxBytes)
            throw Bad(e.Name, $"{e.UncompressedSize} bytes, more than the {maxBytes} accepted for this entry.");
        if (e.Method == 0 && e.CompressedSize != e.UncompressedSize)
            throw Bad(e.Name, $"a STORED entry of {e.UncompressedSize} bytes occupies {e.CompressedSize}.");

        // DEFLATE never grows data by more than a few bytes per 16 KB block; anything larger is not this entry.
        if (e.CompressedSize > maxBytes + (maxBytes / 8) + 1024)
            throw Bad(e.Name, $"{e.CompressedSize} compressed bytes, more than an entry of at most {maxBytes} bytes needs.");
        long data = DataOffset(e);
        var stored = _file.Span(data, (int)e.CompressedSize);
        if (e.Method == 0)
            return stored.ToArray();
        if (e.Method != 8)
            throw Bad(e.Name, $"compression method {e.Method}; only STORED (0) and DEFLATE (8) are read.");
        var result = new byte[e.UncompressedSize];
        try
        {
            using var inflate = new DeflateStream(new MemoryStream(stored.ToArray()), CompressionMode.Decompress);
            inflate.ReadExactly(result);
            if (inflate.ReadByte() >= 0)
                throw Bad(e.Name, $"inflates to more than the {e.UncompressedSize} bytes the directory states.");
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException)
        {
            throw new CheckpointFormatException(_file.Path, e.Name, $"the deflated data is corrupt: {ex.Message}", ex);
        }

        CheckCrc(e, result);
        return result;
    }

    /// <summary>Checks a STORED entry's data in place against its CRC-32 (hardware-accelerated; a storage of any size).</summary>
    public void VerifyStored(ZipEntry e)
    {
        long data = DataOffset(e);
        var crc = new Crc32();
        const int Chunk = 1 << 30;
        for (long done = 0; done < e.CompressedSize; done += Chunk)
            crc.Append(_file.Span(data + done, (int)Math.Min(Chunk, e.CompressedSize - done)));
        Compare(e, crc.GetCurrentHashAsUInt32());
    }

    private void CheckCrc(ZipEntry e, ReadOnlySpan<byte> uncompressed) => Compare(e, Crc32.HashToUInt32(uncompressed));

    private void Compare(ZipEntry e, uint actual)
    {
        if (actual != e.Crc32)
            throw Bad(e.Name, $"CRC-32 mismatch: the zip directory records 0x{e.Crc32:x8}, the data hashes to 0x{actual:x8}; the file was damaged or altered after it was written.");
    }

    private (long Count, long Offset, long Size) FindCentralDirectory()
    {
        // The end record is 22 bytes plus a comment of at most 65535: search that tail backwards.
        long tail = Math.Min(_file.Length, 22 + 65535);
        var span = _file.Span(_file.Length - tail, (int)tail);
        for (int i = span.Length - 22; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(span[i..]) != EndSignature)
                continue;
            var end = span[i..];
            long endOffset = _file.Length - tail + i;
            long count = BinaryPrimitives.ReadUInt16LittleEndian(end[10..]);
            long size = BinaryPrimitives.ReadUInt32LittleEndian(end[12..]);
            long offset = BinaryPrimitives.ReadUInt32LittleEndian(end[16..]);
            if (count == 0xFFFF || size == 0xFFFFFFFF || offset == 0xFFFFFFFF)
                return ReadZip64End(endOffset);
            return (count, offset, size);
        }

        throw Bad("central directory", "no end-of-central-directory record; the zip is truncated or not a zip.");
    }

    private (long Count, long Offset, long Size) ReadZip64End(long endOffset)
    {
        long locator = endOffset - 20;
        if (locator < 0 || BinaryPrimitives.ReadUInt32LittleEndian(_file.Span(locator, 4)) != Zip64LocatorSignature)
            throw Bad("central directory", "the end record defers to ZIP64, but there is no ZIP64 locator before it.");
        long recordOffset = BinaryPrimitives.ReadInt64LittleEndian(_file.Span(locator + 8, 8));
        if (!_file.Contains(recordOffset, 56) || BinaryPrimitives.ReadUInt32LittleEndian(_file.Span(recordOffset, 4)) != Zip64EndSignature)
            throw Bad("central directory", $"no ZIP64 end record at {recordOffset}.");
        var record = _file.Span(recordOffset, 56);
        return (BinaryPrimitives.ReadInt64LittleEndian(record[32..]), BinaryPrimitives.ReadInt64LittleEndian(record[48..]), BinaryPrimitives.ReadInt64LittleEndian(record[40..]));
    }

    private void ReadCentralDirectory(long count, long offset, long size)
    {
        if (!_file.Contains(offset, size) || size > int.MaxValue)
            throw Bad("central directory", $"[{offset}, +{size}) lies outside the file ({_file.Length} bytes).");
        if (count < 0 || count > MaxEntries || count > size / 46)
            throw Bad("central directory", $"{count} entries cannot fit in {size} bytes (46 bytes each at least).");
        var directory = _file.Span(offset, (int)size);
        int pos = 0;
        for (long i = 0; i < count; i++)
        {
            if (directory.Length - pos < 46 || BinaryPrimitives.ReadUInt32LittleEndian(directory[pos..]) != CentralSignature)
                throw Bad("central directory", $"record {i} at {offset + pos} has no central directory signature.");
            var r = directory[pos..];
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(r[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(r[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(r[32..]);
            int recordLength = 46 + nameLength + extraLength + commentLength;
            if (directory.Length - pos < recordLength)
                throw Bad("central directory", $"record {i} at {offset + pos} runs past the directory's end.");
            string name = Encoding.UTF8.GetString(r.Slice(46, nameLength));
            var entry = new ZipEntry(
                name,
                BinaryPrimitives.ReadUInt16LittleEndian(r[10..]),
                BinaryPrimitives.ReadUInt32LittleEndian(r[20..]),
                BinaryPrimitives.ReadUInt32LittleEndian(r[24..]),
                BinaryPrimitives.ReadUInt32LittleEndian(r[42..]),
                BinaryPrimitives.ReadUInt32LittleEndian(r[16..]));
            entry = ApplyZip64(entry, r.Slice(46 + nameLength, extraLength));
            if (!_entries.TryAdd(name, entry))
                throw Bad(name, "the entry occurs twice in the central directory.");
            pos += recordLength;
        }
    }

    // ZIP64 extra field (id 1): 8-byte values for exactly those fields whose 32-bit slot holds 0xFFFFFFFF, in order.
    private ZipEntry ApplyZip64(ZipEntry e, ReadOnlySpan<byte> extra)
    {
        const long Sentinel = 0xFFFFFFFF;
        if (e.UncompressedSize != Sentinel && e.CompressedSize != Sentinel && e.LocalHeaderOffset != Sentinel)
            return e;
        while (extra.Length >= 4)
        {
            int id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (length > extra.Length - 4)
                break;
            var field = extra.Slice(4, length);
            if (id == 1)
            {
                long Next(ref ReadOnlySpan<byte> f, long fallback)
                {
                    if (fallback != Sentinel)
                        return fallback;
                    if (f.Length < 8)
                        throw Bad(e.Name, "the ZIP64 extra field is too short.");
                    long v = BinaryPrimitives.ReadInt64LittleEndian(f);
                    f = f[8..];
                    return v < 0 ? throw Bad(e.Name, $"ZIP64 value {v} is negative.") : v;
                }

                long uncompressed = Next(ref field, e.UncompressedSize);
                long compressed = Next(ref field, e.CompressedSize);
                long local = Next(ref field, e.LocalHeaderOffset);
                return e with { UncompressedSize = uncompressed, CompressedSize = compressed, LocalHeaderOffset = local };
            }

            extra = extra[(4 + length)..];
        }

        throw Bad(e.Name, "a size or offset defers to ZIP64, but there is no ZIP64 extra field.");
    }

    private CheckpointFormatException Bad(string entry, string problem) => new(_file.Path, entry, problem);
}

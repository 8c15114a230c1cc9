using System.Buffers.Binary;
using System.Text;

namespace Rain.Testing.Checkpoints;

/// <summary>
/// Writes torch.save-style zip checkpoints from the zip specification (APPNOTE) and torch's layout: STORED
/// entries <c>&lt;archive&gt;/data.pkl</c>, <c>&lt;archive&gt;/data/&lt;key&gt;</c>, <c>&lt;archive&gt;/version</c>, data 64-byte
/// aligned through a padding extra field, optionally ZIP64 records throughout.
/// </summary>
public static class TorchZipWriter
{
    private static readonly uint[] CrcTable = MakeCrcTable();

    /// <summary>A state dict of the tensors (one storage each) written as a torch.save zip.</summary>
    public static void WriteStateDict(string path, IReadOnlyList<WriterTensor> tensors, string archive = "archive", bool zip64 = false)
    {
        using var stream = File.Create(path);
        var storages = tensors.Select((t, i) => (i.ToString(), t.Data)).ToList();
        Write(stream, archive, PickleBuilder.StateDict(tensors), storages, zip64);
    }

    /// <summary>Writes the zip: data.pkl, the storages in order, then version.</summary>
    public static void Write(Stream s, string archive, byte[] pickle, IReadOnlyList<(string Key, ReadOnlyMemory<byte> Data)> storages, bool zip64 = false)
    {
        var central = new List<(string Name, uint Crc, long Size, long Offset)>();
        void Entry(string name, ReadOnlySpan<byte> data)
        {
            long offset = s.Position;
            uint crc = Crc32(data);
            WriteLocalHeader(s, name, crc, data.Length, zip64);
            s.Write(data);
            central.Add((name, crc, data.Length, offset));
        }

        Entry($"{archive}/data.pkl", pickle);
        foreach (var (key, data) in storages)
            Entry($"{archive}/data/{key}", data.Span);
        Entry($"{archive}/version", "3\n"u8);

        long cdOffset = s.Position;
        foreach (var e in central)
            WriteCentralRecord(s, e.Name, e.Crc, e.Size, e.Offset, zip64);
        long cdSize = s.Position - cdOffset;
        WriteEnd(s, central.Count, cdOffset, cdSize, zip64);
    }

    private static void WriteLocalHeader(Stream s, string name, uint crc, long size, bool zip64)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        int zip64Extra = zip64 ? 20 : 0;
        long unpadded = s.Position + 30 + nameBytes.Length + zip64Extra + 4;
        int pad = (int)((64 - (unpadded % 64)) % 64);
        var h = new byte[30];
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(4), (ushort)(zip64 ? 45 : 20));
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(12), 0x21);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(14), crc);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(18), zip64 ? 0xFFFFFFFF : (uint)size);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(22), zip64 ? 0xFFFFFFFF : (uint)size);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(26), (ushort)nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(28), (ushort)(zip64Extra + 4 + pad));
        s.Write(h);
        s.Write(nameBytes);
        if (zip64)
            WriteExtra(s, 1, [size, size]);
        var padding = new byte[4 + pad];
        BinaryPrimitives.WriteUInt16LittleEndian(padding, 0x4650); // "FP": torch's alignment padding record
        BinaryPrimitives.WriteUInt16LittleEndian(padding.AsSpan(2), (ushort)pad);
        s.Write(padding);
    }

    private static void WriteCentralRecord(Stream s, string name, uint crc, long size, long offset, bool zip64)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        var r = new byte[46];
        BinaryPrimitives.WriteUInt32LittleEndian(r, 0x02014b50);
        BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(4), (ushort)(zip64 ? 45 : 20));
        BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(6), (ushort)(zip64 ? 45 : 20));
        BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(14), 0x21);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(16), crc);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(20), zip64 ? 0xFFFFFFFF : (uint)size);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(24), zip64 ? 0xFFFFFFFF : (uint)size);
        BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(28), (ushort)nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(30), (ushort)(zip64 ? 28 : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(42), zip64 ? 0xFFFFFFFF : (uint)offset);
        s.Write(r);
        s.Write(nameBytes);
        if (zip64)
            WriteExtra(s, 1, [size, size, offset]);
    }

    private static void WriteEnd(Stream s, int count, long cdOffset, long cdSize, bool zip64)
    {
        if (zip64)
        {
            long recordOffset = s.Position;
            var z = new byte[56];
            BinaryPrimitives.WriteUInt32LittleEndian(z, 0x06064b50);
            BinaryPrimitives.WriteInt64LittleEndian(z.AsSpan(4), 44);
            BinaryPrimitives.WriteUInt16LittleEndian(z.AsSpan(12), 45);
            BinaryPrimitives.WriteUInt16LittleEndian(z.AsSpan(14), 45);
            BinaryPrimitives.WriteInt64LittleEndian(z.AsSpan(24), count);
            BinaryPrimitives.WriteInt64LittleEndian(z.AsSpan(32), count);
            BinaryPrimitives.WriteInt64LittleEndian(z.AsSpan(40), cdSize);
            BinaryPrimitives.WriteInt64LittleEndian(z.AsSpan(48), cdOffset);
            s.Write(z);
            var locator = new byte[20];
            BinaryPrimitives.WriteUInt32LittleEndian(locator, 0x07064b50);
            BinaryPrimitives.WriteInt64LittleEndian(locator.AsSpan(8), recordOffset);
            BinaryPrimitives.WriteUInt32LittleEndian(locator.AsSpan(16), 1);
            s.Write(locator);
        }

        var e = new byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(e, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(8), (ushort)(zip64 ? 0xFFFF : count));
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(10), (ushort)(zip64 ? 0xFFFF : count));
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(12), zip64 ? 0xFFFFFFFF : (uint)cdSize);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(16), zip64 ? 0xFFFFFFFF : (uint)cdOffset);
        s.Write(e);
    }

    private static void WriteExtra(Stream s, ushort id, long[] values)
    {
        var b = new byte[4 + (8 * values.Length)];
        BinaryPrimitives.WriteUInt16LittleEndian(b, id);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), (ushort)(8 * values.Length));
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(4 + (8 * i)), values[i]);
        s.Write(b);
    }

    /// <summary>CRC-32 (IEEE, reflected), as zip stores it.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
            c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return ~c;
    }

    private static uint[] MakeCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            t[n] = c;
        }

        return t;
    }
}

using System.Buffers.Binary;

namespace Rain.Testing.Checkpoints;

/// <summary>
/// Writes the legacy (pre-1.6) torch.save layout as torch/serialization.py's <c>_legacy_save</c> does: pickles of
/// the magic number, protocol version 1001, sys_info, the state dict (6-element persistent ids), the sorted storage
/// keys, then per key an int64 element count and the storage bytes.
/// </summary>
public static class LegacyTorchWriter
{
    public static byte[] Magic => [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];

    public static byte[] SysInfo(bool littleEndian = true) =>
        new PickleBuilder().Proto().EmptyDict().Mark()
            .Str("protocol_version").Number(1001)
            .Str("little_endian").Op(littleEndian ? (byte)0x88 : (byte)0x89)
            .Str("type_sizes").EmptyDict().Mark().Str("short").Number(2).Str("int").Number(4).Str("long").Number(8).SetItems()
            .SetItems().Stop().ToArray();

    public static byte[] KeyList(IEnumerable<string> keys)
    {
        var p = new PickleBuilder().Proto().Op((byte)']').Mark();
        foreach (string k in keys)
            p.Str(k);
        return p.Op((byte)'e').Stop().ToArray();
    }

    /// <summary>The whole file: storage keys are large numbers (as torch's were, from object addresses), sorted as strings.</summary>
    public static byte[] Write(IReadOnlyList<WriterTensor> tensors, long protocol = 1001, bool littleEndian = true)
    {
        var keys = tensors.Select((_, i) => (94_000_000_000L + (i * 977L)).ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        using var s = new MemoryStream();
        s.Write(Magic);
        s.Write(new PickleBuilder().Proto().Number(protocol).Stop().ToArray());
        s.Write(SysInfo(littleEndian));
        s.Write(PickleBuilder.StateDict(tensors, legacy: true, keys: keys));
        var sorted = keys.Select((k, i) => (Key: k, Tensor: tensors[i])).OrderBy(x => x.Key, StringComparer.Ordinal).ToList();
        s.Write(KeyList(sorted.Select(x => x.Key)));
        Span<byte> count = stackalloc byte[8];
        foreach (var (_, t) in sorted)
        {
            BinaryPrimitives.WriteInt64LittleEndian(count, t.ElementCount);
            s.Write(count);
            s.Write(t.Data.Span);
        }

        return s.ToArray();
    }
}

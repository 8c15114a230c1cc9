using System.Buffers.Binary;
using System.IO.Compression;
using Rain.Engine.Tensors;
using Rain.Models.Checkpoints;
using Rain.Testing;
using Rain.Testing.Checkpoints;

namespace Rain.Models.Tests;

/// <summary>The torch.save zip reader on hand-built archives: layouts torch writes, and broken or hostile containers.</summary>
public sealed class TorchZipReaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Bytes(int count, int seed) => Enumerable.Range(0, count).Select(i => (byte)((i * 31) + seed)).ToArray();

    private string WriteZip(byte[] pickle, params (string Key, byte[] Data)[] storages)
    {
        string path = _dir.File($"{Guid.NewGuid():N}.pth");
        using var s = File.Create(path);
        TorchZipWriter.Write(s, "archive", pickle, storages.Select(x => (x.Key, (ReadOnlyMemory<byte>)x.Data)).ToList());
        return path;
    }

    private CheckpointFormatException Refused(string path, string expected)
    {
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path).Dispose());
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        return e;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryDTypeRoundTrips(bool zip64)
    {
        var tensors = new[] { "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL" }
            .Select((d, i) => new WriterTensor($"t.{d}", d, [2, 3], Bytes(6 * WriterTensor.SizeOf(d), i)))
            .ToList();
        string path = _dir.File("all.pth");
        TorchZipWriter.WriteStateDict(path, tensors, zip64: zip64);
        using var c = Checkpoint.Open(path);
        Assert.Equal(tensors.Select(t => t.Name), c.Tensors.Select(t => t.Name));
        foreach (var t in tensors)
        {
            Assert.True(c.TryGet(t.Name, out var info));
            Assert.Equal(t.DType, info.DType.ToSafetensorsName());
            Assert.Equal([2L, 3L], info.Shape);
            Assert.Equal(t.Data.ToArray(), c.ReadRaw(t.Name).ToArray());
        }
    }

    [Fact]
    public void ViewsOfOneStorageHonourTheirOffsets()
    {
        byte[] storage = Bytes(40, 3); // ten float32 elements
        var pickle = new PickleBuilder().Proto().Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark()
            .Str("head").Tensor("FloatStorage", "0", 10, 0, [2, 2], [2, 1])
            .Str("tail").Tensor("FloatStorage", "0", 10, 4, [6], [1])
            .Str("column").Tensor("FloatStorage", "0", 10, 9, [1, 1], [7, 3])
            .SetItems().Stop().ToArray();
        using var c = Checkpoint.Open(WriteZip(pickle, ("0", storage)));
        Assert.Equal(storage[..16], c.ReadRaw("head").ToArray());
        Assert.Equal(storage[16..40], c.ReadRaw("tail").ToArray());
        Assert.Equal(storage[36..40], c.ReadRaw("column").ToArray());
    }

    [Fact]
    public void ParametersAndWrappersAreUnwrapped()
    {
        // {"epoch": 3, "state_dict": {"w": Parameter(tensor)}} as a training script would save it.
        var pickle = new PickleBuilder().Proto().EmptyDict().Mark()
            .Str("epoch").Number(3)
            .Str("state_dict").EmptyDict()
            .Str("w").Global("torch._utils", "_rebuild_parameter")
            .Mark().Tensor("HalfStorage", "7", 2, 0, [2], [1]).False().Global("collections", "OrderedDict").EmptyTuple().Reduce().Tuple().Reduce()
            .SetItem()
            .SetItems().Stop().ToArray();
        using var c = Checkpoint.Open(WriteZip(pickle, ("7", new byte[] { 0x00, 0x3C, 0x00, 0x40 })));
        Assert.Equal(["w"], c.Tensors.Select(t => t.Name));
        Assert.Equal([1f, 2f], c.ReadFloat32("w"));
    }

    [Fact]
    public void ZipFromSystemIOCompressionWithDeflatedPickleReads()
    {
        // An independent zip writer: unaligned entries, the pickle DEFLATE-compressed, storages STORED.
        var golden = MiniSafetensors.Read(GoldenData.PathOf("weights/pose_guider.safetensors"));
        using var source = Checkpoint.Open(GoldenData.PathOf("weights/pose_guider.pth"));
        string path = _dir.File("rezipped.pth");
        using (var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create))
        using (var original = new ZipArchive(File.OpenRead(GoldenData.PathOf("weights/pose_guider.pth"))))
        {
            foreach (var entry in original.Entries)
            {
                var level = entry.Name == "data.pkl" ? CompressionLevel.Optimal : CompressionLevel.NoCompression;
                using var to = zip.CreateEntry("renamed/" + entry.FullName[(entry.FullName.IndexOf('/') + 1)..], level).Open();
                using var from = entry.Open();
                from.CopyTo(to);
            }
        }

        using var c = Checkpoint.Open(path);
        Assert.Equal(golden.Names, c.Tensors.Select(t => t.Name));
        foreach (string name in golden.Names)
            Assert.True(golden.Bytes(name).SequenceEqual(c.ReadRaw(name)), name);
    }

    [Fact]
    public void CompressedStorageIsRefused()
    {
        string path = _dir.File("deflated.pth");
        using (var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create))
        using (var original = new ZipArchive(File.OpenRead(GoldenData.PathOf("weights/pose_guider.pth"))))
        {
            foreach (var entry in original.Entries)
            {
                using var to = zip.CreateEntry(entry.FullName, CompressionLevel.Optimal).Open();
                using var from = entry.Open();
                from.CopyTo(to);
            }
        }

        Refused(path, "storage is compressed (method 8)");
    }

    [Theory]
    [InlineData(10)]
    [InlineData(1000)]
    [InlineData(40000)]
    [InlineData(-1)]
    [InlineData(-22)]
    [InlineData(-100)]
    public void TruncatedFileIsRefused(int keep)
    {
        byte[] full = File.ReadAllBytes(GoldenData.PathOf("weights/pose_guider.pth"));
        string path = _dir.Write("cut.pth", full[..(keep > 0 ? keep : full.Length + keep)]);
        Refused(path, ":");
    }

    [Fact]
    public void BadCentralDirectorySignatureIsRefused()
    {
        byte[] bytes = File.ReadAllBytes(GoldenData.PathOf("weights/pose_guider.pth"));
        int cd = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 22 + 16));
        bytes[cd] ^= 0xFF;
        Refused(_dir.Write("cd.pth", bytes), "has no central directory signature");
    }

    [Fact]
    public void CentralDirectoryOutsideTheFileIsRefused()
    {
        byte[] bytes = File.ReadAllBytes(GoldenData.PathOf("weights/pose_guider.pth"));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(bytes.Length - 22 + 16), 0x7FFFFFF0);
        Refused(_dir.Write("cd.pth", bytes), "central directory: [2147483632");
    }

    [Fact]
    public void EntryWhoseLocalHeaderLiesOutsideTheFileIsRefused()
    {
        string path = WriteZip(PickleBuilder.StateDict([new WriterTensor("w", "F32", [4], Bytes(16, 0))]), ("0", Bytes(16, 0)));
        byte[] bytes = File.ReadAllBytes(path);
        int record = CentralRecord(bytes, "archive/data/0");
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(record + 42), 0x40000000);
        var e = Refused(_dir.Write("moved.pth", bytes), "local header at 1073741824 lies outside the file");
        Assert.Equal("archive/data/0", e.Entry);
    }

    [Fact]
    public void EntryWhoseDataRunsPastTheFileIsRefused()
    {
        string path = WriteZip(PickleBuilder.StateDict([new WriterTensor("w", "F32", [4], Bytes(16, 0))]), ("0", Bytes(16, 0)));
        byte[] bytes = File.ReadAllBytes(path);
        int record = CentralRecord(bytes, "archive/data/0");
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(record + 20), 0x10000000);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(record + 24), 0x10000000);
        Refused(_dir.Write("long.pth", bytes), "lies outside the file");
    }

    [Fact]
    public void OversizedPickleIsRefusedBeforeReading()
    {
        string path = WriteZip(PickleBuilder.StateDict([new WriterTensor("w", "F32", [4], Bytes(16, 0))]), ("0", Bytes(16, 0)));
        byte[] bytes = File.ReadAllBytes(path);
        int record = CentralRecord(bytes, "archive/data.pkl");
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(record + 24), 0x7FFFFFFF);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Refused(_dir.Write("bomb.pth", bytes), "2147483647 bytes, more than the 67108864 accepted");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        Assert.Equal("archive/data.pkl", e.Entry);
    }

    [Fact]
    public void StorageSmallerThanDeclaredIsRefused()
    {
        var pickle = new PickleBuilder().Proto().EmptyDict().Str("w").Tensor("FloatStorage", "0", 100, 0, [100], [1]).SetItem().Stop().ToArray();
        Refused(WriteZip(pickle, ("0", Bytes(8, 0))), "declares 100 F32 elements (400 bytes), the storage holds 8 bytes");
    }

    [Fact]
    public void TensorBeyondItsStorageIsRefused()
    {
        var pickle = new PickleBuilder().Proto().EmptyDict().Str("w").Tensor("FloatStorage", "0", 4, 3, [2], [1]).SetItem().Stop().ToArray();
        var e = Refused(WriteZip(pickle, ("0", Bytes(16, 0))), "storage offset 3 needs 5 elements, storage '0' has 4");
        Assert.Equal("w", e.Entry);
    }

    [Fact]
    public void MissingStorageEntryIsRefused()
    {
        var pickle = new PickleBuilder().Proto().EmptyDict().Str("w").Tensor("FloatStorage", "9", 1, 0, [1], [1]).SetItem().Stop().ToArray();
        Refused(WriteZip(pickle, ("0", Bytes(4, 0))), "storage entry 'archive/data/9' is not in the zip");
    }

    [Fact]
    public void NonContiguousTensorIsRefusedWithAdvice()
    {
        var pickle = new PickleBuilder().Proto().EmptyDict().Str("wt").Tensor("FloatStorage", "0", 6, 0, [3, 2], [1, 3]).SetItem().Stop().ToArray();
        Refused(WriteZip(pickle, ("0", Bytes(24, 0))), "strides [1, 3] of shape [3, 2] are not contiguous");
    }

    [Fact]
    public void ZipWithoutPickleIsNotACheckpoint()
    {
        string path = _dir.File("plain.zip");
        using (var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create))
        using (var w = new StreamWriter(zip.CreateEntry("readme.txt").Open()))
            w.Write("hello");
        Refused(path, "no <archive>/data.pkl");
    }

    [Fact]
    public void BigEndianByteOrderIsRefused()
    {
        string path = _dir.File("big.pth");
        using (var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create))
        using (var original = new ZipArchive(File.OpenRead(GoldenData.PathOf("weights/pose_guider.pth"))))
        {
            foreach (var entry in original.Entries)
            {
                using var to = zip.CreateEntry(entry.FullName, CompressionLevel.NoCompression).Open();
                using var from = entry.Open();
                from.CopyTo(to);
            }

            using var order = new StreamWriter(zip.CreateEntry("pose_guider/byteorder").Open());
            order.Write("big");
        }

        Refused(path, "byte order 'big'");
    }

    [Fact]
    public void UnrecognisedContentIsRefused() =>
        Refused(_dir.Write("x.pth", [0x80, 0x04, 0x95, 0, 0, 0]), "neither a torch.save zip");

    private static int CentralRecord(byte[] zip, string name)
    {
        byte[] needle = [.. "PK\u0001\u0002"u8];
        for (int i = 0; i < zip.Length - 46; i++)
        {
            if (zip.AsSpan(i, 4).SequenceEqual(needle) && System.Text.Encoding.UTF8.GetString(zip, i + 46, BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(i + 28))) == name)
                return i;
        }

        throw new InvalidOperationException($"no central record for {name}");
    }
}

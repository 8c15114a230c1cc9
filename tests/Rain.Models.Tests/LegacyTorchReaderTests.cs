using System.Buffers.Binary;
using Rain.Engine.Tensors;
using Rain.Models.Checkpoints;
using Rain.Testing;
using Rain.Testing.Checkpoints;

namespace Rain.Models.Tests;

/// <summary>The legacy (pre-1.6) torch.save reader on files written from the format description.</summary>
public sealed class LegacyTorchReaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    internal static List<WriterTensor> TensorsOf(string goldenSafetensors)
    {
        var twin = MiniSafetensors.Read(GoldenData.PathOf(goldenSafetensors));
        return twin.Names.Select(n => new WriterTensor(n, twin.DType(n), twin.Shape(n), twin.Bytes(n).ToArray())).ToList();
    }

    [Theory]
    [InlineData("weights/pose_guider.safetensors")]
    [InlineData("weights/taesdv.safetensors")]
    [InlineData("weights/image_encoder/model.safetensors")]
    public void LegacyFileYieldsTheTwinsTensors(string twin)
    {
        var tensors = TensorsOf(twin);
        string path = _dir.Write("legacy.pth", LegacyTorchWriter.Write(tensors));
        using var c = Checkpoint.Open(path);
        Assert.Equal("torch-legacy", c.Format);
        Assert.Equal(tensors.Select(t => t.Name), c.Tensors.Select(t => t.Name));
        var golden = MiniSafetensors.Read(GoldenData.PathOf(twin));
        foreach (var t in c.Tensors)
        {
            Assert.Equal(golden.DType(t.Name), t.DType.ToSafetensorsName());
            Assert.Equal(golden.Shape(t.Name), t.Shape);
            Assert.True(golden.Bytes(t.Name).SequenceEqual(c.ReadRaw(t.Name)), t.Name);
            Assert.Equal(golden.Floats(t.Name), c.ReadFloat32(t.Name));
        }
    }

    private CheckpointFormatException Refused(byte[] file, string expected)
    {
        string path = _dir.Write($"{Guid.NewGuid():N}.pth", file);
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path).Dispose());
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        return e;
    }

    private static List<WriterTensor> Small() =>
        [new("a", "F32", [2], new byte[8]), new("b", "F16", [3], new byte[] { 0, 0x3C, 0, 0x40, 0, 0x42 })];

    [Fact]
    public void WrongProtocolVersionIsRefused() => Refused(LegacyTorchWriter.Write(Small(), protocol: 1000), "found 1000, expected 1001");

    [Fact]
    public void BigEndianFileIsRefused() => Refused(LegacyTorchWriter.Write(Small(), littleEndian: false), "not written little-endian");

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(12)]
    public void TruncatedStorageDataIsRefused(int cut)
    {
        byte[] file = LegacyTorchWriter.Write(Small());
        Refused(file[..^cut], "past the end of the file");
    }

    [Fact]
    public void ElementCountDisagreeingWithThePickleIsRefused()
    {
        byte[] file = LegacyTorchWriter.Write(Small());
        int firstCount = file.Length - (8 + 6) - (8 + 8); // sorted keys: "a" (key ...000) first, then "b"
        BinaryPrimitives.WriteInt64LittleEndian(file.AsSpan(firstCount), 5);
        Refused(file, "the file stores 5 elements, the pickle declares 2");
    }

    [Fact]
    public void StorageViewIsRefusedWithResaveAdvice()
    {
        var pickle = new PickleBuilder().Proto().EmptyDict().Str("w")
            .Global("torch._utils", "_rebuild_tensor_v2").Mark()
            .Mark().Str("storage").Global("torch", "FloatStorage").Str("1").Str("cpu").Number(2).Mark().Str("0").Number(0).Number(8).Tuple().Tuple().PersId()
            .Number(0).IntTuple([2]).IntTuple([1]).False().EmptyDict().Tuple().Reduce()
            .SetItem().Stop().ToArray();
        byte[] file = [.. LegacyTorchWriter.Magic, .. new PickleBuilder().Proto().Number(1001).Stop().ToArray(), .. LegacyTorchWriter.SysInfo(), .. pickle];
        Refused(file, "torch.save(torch.load(f), f2)");
    }

    [Fact]
    public void DangerousGlobalInTheObjectPickleIsRefused()
    {
        var evil = new PickleBuilder().Proto().Global("os", "system").Str("id").Op(0x85).Reduce().Stop().ToArray();
        byte[] file = [.. LegacyTorchWriter.Magic, .. new PickleBuilder().Proto().Number(1001).Stop().ToArray(), .. LegacyTorchWriter.SysInfo(), .. evil];
        var e = Refused(file, "'os.system'");
        Assert.Equal("object", e.Entry);
    }

    [Fact]
    public void KeyListNamingAnUnusedStorageIsRefused()
    {
        var tensors = Small();
        byte[] file = [.. LegacyTorchWriter.Magic, .. new PickleBuilder().Proto().Number(1001).Stop().ToArray(), .. LegacyTorchWriter.SysInfo(),
            .. PickleBuilder.StateDict(tensors, legacy: true), .. LegacyTorchWriter.KeyList(["2", "0", "1"]), .. new byte[64]];
        Refused(file, "names a storage no tensor uses");
    }

    [Fact]
    public void MagicWithAnotherProtocolIsRefused() =>
        Refused([0x80, 0x03, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e, 0, 0], "legacy magic number");
}

using System.Text;
using Rain.Engine.Tensors;
using Rain.Models.Checkpoints;
using Rain.Testing.Checkpoints;

namespace Rain.Models.Tests;

/// <summary>
/// Pickles that are programs rather than state dicts, or that try to exhaust the reader, end in a
/// <see cref="CheckpointFormatException"/> naming the problem; nothing is executed.
/// </summary>
public sealed class HostilePickleTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private CheckpointFormatException Refused(byte[] pickle, string expected)
    {
        string path = _dir.File($"{Guid.NewGuid():N}.pth");
        using (var s = File.Create(path))
            TorchZipWriter.Write(s, "evil", pickle, [("0", new byte[16])]);
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path).Dispose());
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Equal("evil/data.pkl", e.Entry);
        return e;
    }

    private static PickleBuilder P() => new PickleBuilder().Proto();

    [Theory]
    [InlineData("os", "system")]
    [InlineData("posix", "system")]
    [InlineData("builtins", "eval")]
    [InlineData("builtins", "exec")]
    [InlineData("subprocess", "Popen")]
    [InlineData("torch", "load")]
    public void DangerousGlobalIsRefusedByName(string module, string name)
    {
        // The classic payload: GLOBAL os.system, ('touch /tmp/pwned',), REDUCE.
        string marker = _dir.File("pwned");
        var pickle = P().Global(module, name).Str($"touch {marker}").Op(0x85).Reduce().Stop().ToArray();
        Refused(pickle, $"'{module}.{name}'");
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void DangerousStackGlobalIsRefusedByName()
    {
        var pickle = P().Str("builtins").Str("eval").Op(0x93).Str("1+1").Op(0x85).Reduce().Stop().ToArray();
        Refused(pickle, "'builtins.eval'");
    }

    [Fact]
    public void DangerousGlobalInsideAStateDictIsRefused()
    {
        var pickle = P().EmptyDict().Str("w").Tensor("FloatStorage", "0", 4, 0, [4], [1]).SetItem()
            .Str("x").Global("os", "system").Str("id").Op(0x85).Reduce().SetItem().Stop().ToArray();
        Refused(pickle, "'os.system'");
    }

    [Theory]
    [InlineData((byte)'i', "INST")]
    [InlineData((byte)0x81, "NEWOBJ")]
    [InlineData((byte)'o', "OBJ")]
    [InlineData((byte)'P', "PERSID")]
    [InlineData((byte)0xff, "not a pickle opcode")]
    public void UnsupportedOpcodeIsRefused(byte op, string name) =>
        Refused(P().Op(op).Stop().ToArray(), $"unsupported pickle opcode 0x{op:x2} ({name})");

    [Fact]
    public void StateDictStorageTypeIsNotCallable() =>
        Refused(P().Global("torch", "FloatStorage").EmptyTuple().Reduce().Stop().ToArray(), "torch.FloatStorage called with 0 arguments");

    [Fact]
    public void MissingStopIsRefused() => Refused(P().EmptyDict().ToArray(), "without STOP");

    [Fact]
    public void StackUnderflowIsRefused() => Refused(P().Reduce().Stop().ToArray(), "stack underflow");

    [Fact]
    public void ValuesBelowAMarkAreOutOfReach() => Refused(P().EmptyDict().Mark().Str("k").SetItem().Stop().ToArray(), "stack underflow");

    [Fact]
    public void UnwrittenMemoIsRefused() => Refused(P().Get(7).Stop().ToArray(), "memo entry 7 is read before it is written");

    [Fact]
    public void HugeStringLengthIsRefusedWithoutAllocating()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        Refused(P().Op((byte)'X', 0xF0, 0xFF, 0xFF, 0xFF).Stop().ToArray(), "a length of 4294967280 bytes runs past the end");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
    }

    [Fact]
    public void HugeUnicode8LengthIsRefused() =>
        Refused(P().Op(0x8d, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F).Stop().ToArray(), "runs past the end");

    [Fact]
    public void InvalidUtf8IsRefused() => Refused(P().Op(0x8c, 2, 0xC3, 0x28).Stop().ToArray(), "not valid UTF-8");

    [Fact]
    public void MarkBombIsBounded() =>
        Refused(P().Op(Enumerable.Repeat((byte)'(', RestrictedUnpickler.MaxMarks + 1).ToArray()).Stop().ToArray(), "nested marks");

    [Fact]
    public void StackBombIsBounded() =>
        Refused(P().Op(Enumerable.Repeat((byte)'N', RestrictedUnpickler.MaxStack + 1).ToArray()).Stop().ToArray(), "stack grows past");

    [Fact]
    public void MemoBombIsBounded()
    {
        var p = P().Op((byte)'N');
        for (int i = 0; i <= RestrictedUnpickler.MaxMemo; i++)
            p.Op((byte)'r', (byte)i, (byte)(i >> 8), (byte)(i >> 16), (byte)(i >> 24));
        Refused(p.Stop().ToArray(), "memo grows past");
    }

    [Fact]
    public void WideIntegerIsRefused() => Refused(P().Op(0x8a, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9).Stop().ToArray(), "LONG1 of 9 bytes");

    [Fact]
    public void FutureProtocolIsRefused() => Refused(new PickleBuilder().Proto(6).Stop().ToArray(), "protocol 6");

    [Fact]
    public void PickleOfAListIsNotAStateDict() => Refused(P().Op((byte)']').Stop().ToArray(), "expected a dict of tensors");

    [Fact]
    public void DictWithoutTensorsIsNotAStateDict() =>
        Refused(P().EmptyDict().Str("epoch").Number(3).SetItem().Stop().ToArray(), "no state dict found");

    [Fact]
    public void SelfReferentialDictsEndQuickly()
    {
        // d = {}; d["a0"] = d; ... d["a999"] = d: the wrapper search must visit d once, not 1000^depth times.
        var p = P().EmptyDict().Put(0);
        for (int i = 0; i < 1000; i++)
            p.Str($"a{i}").Get(0).SetItem();
        Refused(p.Stop().ToArray(), "no state dict found");
    }

    [Fact]
    public void PersistentIdMustNameATypedStorage()
    {
        var pid = P().Mark().Str("storage").Str("not a type").Str("0").Str("cpu").Number(4).Tuple().PersId().Stop().ToArray();
        Refused(pid, "expected a typed storage");
    }

    [Fact]
    public void StorageNamedTwiceWithDifferentTypesIsRefused()
    {
        var pickle = P().EmptyDict()
            .Str("a").Tensor("FloatStorage", "0", 4, 0, [4], [1]).SetItem()
            .Str("b").Tensor("HalfStorage", "0", 8, 0, [8], [1]).SetItem().Stop().ToArray();
        Refused(pickle, "storage '0' is named as F16×8 after F32×4");
    }

    [Fact]
    public void NonStringTensorKeyIsRefused()
    {
        var pickle = P().EmptyDict().Number(5).Tensor("FloatStorage", "0", 4, 0, [4], [1]).SetItem().Stop().ToArray();
        Refused(pickle, "a tensor's key is not a string but 5");
    }

    [Fact]
    public void GlobalNameWithoutNewlineIsRefused() =>
        Refused(P().Op((byte)'c').Op(Encoding.ASCII.GetBytes(new string('a', 1000))).ToArray(), "not newline-terminated");

    [Fact]
    public void ADeflatedPickleCannotBuildContainersOutOfProportionToTheFile()
    {
        // 15 × (MARK, one int, 999,999 DUPs, APPENDS): a 15 MB program of 15 M list items that deflates to a few KB.
        var program = P().Op((byte)']');
        for (int i = 0; i < 15; i++)
            program.Mark().Number(7).Op(Enumerable.Repeat((byte)'2', 999_999).ToArray()).Op((byte)'e');
        byte[] pickle = program.Stop().ToArray();
        string path = _dir.File("bomb.pth");
        using (var zip = new System.IO.Compression.ZipArchive(File.Create(path), System.IO.Compression.ZipArchiveMode.Create))
        {
            using (var s = zip.CreateEntry("bomb/data.pkl", System.IO.Compression.CompressionLevel.SmallestSize).Open())
                s.Write(pickle);
            using (var s = zip.CreateEntry("bomb/data/0", System.IO.Compression.CompressionLevel.NoCompression).Open())
                s.Write(new byte[16]);
        }

        long size = new FileInfo(path).Length;
        Assert.InRange(size, 1, 64 << 10);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path).Dispose());
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("items in all", e.Message, StringComparison.Ordinal);
        Assert.Contains($"more than {RestrictedUnpickler.ItemLimit(size)}", e.Message, StringComparison.Ordinal);

        // The inflated program (15 MB) and one mark's worth of stack are the cost, not 15 M boxed items (~0.5 GB).
        Assert.True(allocated < 96L << 20, $"refusing a {size}-byte file allocated {allocated >> 20} MB");
    }

    [Fact]
    public void MessagesNamePickleValuesAsPythonDoesNeverAsDotnetTypes()
    {
        var e = Refused(P().Number(5).Number(6).Op((byte)'a').Stop().ToArray(), "APPEND to a int 5, expected a list");
        Assert.DoesNotContain("Int64", e.Message, StringComparison.Ordinal);
        e = Refused(P().Str("x").Str("k").Number(1).Op((byte)'s').Stop().ToArray(), "SETITEM on a str 'x', expected a dict");
        Assert.DoesNotContain("String", e.Message, StringComparison.Ordinal);
        e = Refused(P().Number(3).Stop().ToArray(), "the pickle holds a int 3, expected a dict of tensors");
        Assert.DoesNotContain("`", e.Message, StringComparison.Ordinal);
    }
}

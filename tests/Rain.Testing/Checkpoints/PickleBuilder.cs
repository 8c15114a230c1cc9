using System.Buffers.Binary;
using System.Text;

namespace Rain.Testing.Checkpoints;

/// <summary>
/// Emits pickle opcodes by hand (from Python's pickletools documentation), so tests can build exactly the
/// programs they need, well-formed or hostile.
/// </summary>
public sealed class PickleBuilder
{
    private readonly List<byte> _out = [];

    public PickleBuilder Op(params byte[] bytes)
    {
        _out.AddRange(bytes);
        return this;
    }

    public PickleBuilder Proto(byte version = 2) => Op(0x80, version);

    public PickleBuilder Mark() => Op((byte)'(');

    public PickleBuilder Stop() => Op((byte)'.');

    public PickleBuilder EmptyDict() => Op((byte)'}');

    public PickleBuilder EmptyTuple() => Op((byte)')');

    public PickleBuilder Tuple() => Op((byte)'t');

    public PickleBuilder Reduce() => Op((byte)'R');

    public PickleBuilder SetItem() => Op((byte)'s');

    public PickleBuilder SetItems() => Op((byte)'u');

    public PickleBuilder Build() => Op((byte)'b');

    public PickleBuilder PersId() => Op((byte)'Q');

    public PickleBuilder False() => Op(0x89);

    public PickleBuilder Global(string module, string name) => Op((byte)'c').Op(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));

    public PickleBuilder Put(byte index) => Op((byte)'q', index);

    public PickleBuilder Get(byte index) => Op((byte)'h', index);

    public PickleBuilder Str(string s)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(s);
        var len = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(len, utf8.Length);
        return Op((byte)'X').Op(len).Op(utf8);
    }

    public PickleBuilder Number(long v)
    {
        if (v is >= 0 and < 256)
            return Op((byte)'K', (byte)v);
        if (v is >= 0 and < 65536)
            return Op((byte)'M', (byte)v, (byte)(v >> 8));
        if (v is >= int.MinValue and <= int.MaxValue)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)v);
            return Op((byte)'J').Op(b);
        }

        var l = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(l, v);
        return Op(0x8a, 8).Op(l);
    }

    public PickleBuilder IntTuple(IEnumerable<long> values)
    {
        Mark();
        foreach (long v in values)
            Number(v);
        return Tuple();
    }

    /// <summary>
    /// One <c>_rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())</c> call, as torch.save
    /// writes it; the legacy format's persistent id has a sixth element, the view (None).
    /// </summary>
    public PickleBuilder Tensor(string storageType, string key, long storageNumel, long offset, long[] size, long[] stride, bool legacy = false) =>
        Global("torch._utils", "_rebuild_tensor_v2")
            .Mark()
            .Mark().Str("storage").Global("torch", storageType).Str(key).Str("cpu").Number(storageNumel).Op(legacy ? [(byte)'N'] : []).Tuple().PersId()
            .Number(offset).IntTuple(size).IntTuple(stride).False()
            .Global("collections", "OrderedDict").EmptyTuple().Reduce()
            .Tuple().Reduce();

    public byte[] ToArray() => [.. _out];

    /// <summary>Row-major strides of a shape.</summary>
    public static long[] Contiguous(long[] shape)
    {
        var stride = new long[shape.Length];
        long s = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            stride[d] = s;
            s *= shape[d];
        }

        return stride;
    }

    /// <summary>An OrderedDict state dict of the tensors, one storage per tensor keyed "0", "1", ... (or by <paramref name="keys"/>).</summary>
    public static byte[] StateDict(IReadOnlyList<WriterTensor> tensors, bool legacy = false, IReadOnlyList<string>? keys = null)
    {
        var p = new PickleBuilder().Proto().Global("collections", "OrderedDict").EmptyTuple().Reduce().Mark();
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            p.Str(t.Name).Tensor(WriterTensor.TorchStorage(t.DType), keys?[i] ?? i.ToString(), t.ElementCount, 0, t.Shape, Contiguous(t.Shape), legacy);
        }

        return p.SetItems().Stop().ToArray();
    }
}

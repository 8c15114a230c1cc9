using System.Buffers.Binary;
using System.Text;
using Rain.Engine.Tensors;

namespace Rain.Models.Checkpoints;

/// <summary>
/// A pickle interpreter for torch state dicts that cannot execute code: it knows only the opcodes a state dict
/// needs, resolves only the globals of <see cref="PickleGlobals"/>, and "calls" them by building plain records.
/// Every structure is bounded (stack, memo, marks, container items — the last in proportion to the file's size, since a
/// deflated pickle may inflate a thousandfold), and each opcode consumes at least one input byte, so hostile input ends
/// in a <see cref="CheckpointFormatException"/> in time linear in its size and memory linear in the file's.
/// </summary>
internal sealed unsafe partial class RestrictedUnpickler
{
    public const int MaxStack = 1 << 20;
    public const int MaxMemo = 1 << 20;
    public const int MaxMarks = 1 << 12;
    public const long MaxContainerItems = 1 << 24;

    // A state dict has a few container items per tensor, and every tensor costs a file far more than 16 bytes (its zip
    // entry headers alone take ~100), so this never refuses a real checkpoint while bounding what a small file can build.
    private const long FileBytesPerItem = 16;
    private const long MinItemLimit = 4096;
    private const int MaxGlobalNameLength = 256;

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    private readonly byte* _data; // pinned by Load for the whole run
    private readonly int _length;
    private readonly string _path;
    private readonly string _entry;
    private readonly List<object> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<long, object> _memo = [];
    private readonly Dictionary<string, StorageRef> _storages = new(StringComparer.Ordinal);
    private readonly bool _legacy;
    private readonly long _itemLimit;
    private long _containerItems;
    private int _pos;
    private int _opStart;

    private RestrictedUnpickler(byte* data, int length, int start, string path, string entry, bool legacy, long itemLimit)
    {
        _itemLimit = itemLimit;
        _data = data;
        _length = length;
        _pos = start;
        _path = path;
        _entry = entry;
        _legacy = legacy;
    }

    /// <summary>Container items allowed for a pickle from a file of <paramref name="fileBytes"/> bytes (see <see cref="FileBytesPerItem"/>).</summary>
    public static long ItemLimit(long fileBytes) => Math.Clamp(MinItemLimit + (fileBytes / FileBytesPerItem), MinItemLimit, MaxContainerItems);

    /// <summary>Runs the pickle in <paramref name="data"/> and returns the object STOP leaves on the stack.</summary>
    /// <param name="data">The pickle.</param>
    /// <param name="path">The file, for messages.</param>
    /// <param name="entry">The entry, for messages.</param>
    /// <param name="itemLimit">Container items allowed (<see cref="ItemLimit"/> of the file's size); by default that of <paramref name="data"/>'s.</param>
    public static object Load(ReadOnlySpan<byte> data, string path, string entry, long? itemLimit = null) =>
        Load(data, 0, path, entry, legacy: false, itemLimit ?? ItemLimit(data.Length)).Root;

    /// <summary>
    /// Runs the pickle starting at <paramref name="start"/>; returns its object, the storages its persistent ids
    /// named, and the offset just past its STOP (where the next pickle of a legacy file begins).
    /// <paramref name="legacy"/> accepts the pre-1.6 persistent id with a sixth, view, element; <paramref name="itemLimit"/>
    /// bounds the container items (<see cref="ItemLimit"/>).
    /// </summary>
    public static (object Root, IReadOnlyDictionary<string, StorageRef> Storages, int End) Load(ReadOnlySpan<byte> data, int start, string path, string entry, bool legacy, long itemLimit)
    {
        fixed (byte* p = data)
        {
            var unpickler = new RestrictedUnpickler(p, data.Length, start, path, entry, legacy, itemLimit);
            var root = unpickler.Run();
            return (root, unpickler._storages, unpickler._pos);
        }
    }

    private object Run()
    {
        while (true)
        {
            if (_pos >= _length)
                throw Error($"the pickle ends at byte {_length} without STOP.");
            _opStart = _pos;
            byte op = _data[_pos++];
            if (op == (byte)'.')
            {
                if (_stack.Count != 1 || _marks.Count != 0)
                    throw Error($"STOP with {_stack.Count} values and {_marks.Count} open marks on the stack, expected exactly one value.");
                return _stack[0];
            }

            Execute(op);
        }
    }

    private void Execute(byte op)
    {
        switch (op)
        {
            case 0x80: // PROTO
                byte proto = ReadByte();
                if (proto > 5)
                    throw Error($"pickle protocol {proto}, expected 2 to 5.");
                break;
            case 0x95: // FRAME: framing is only a read-ahead hint
                ReadBytes(8);
                break;
            case (byte)'(': // MARK
                if (_marks.Count >= MaxMarks)
                    throw Error($"more than {MaxMarks} nested marks.");
                _marks.Add(_stack.Count);
                break;
            case (byte)'0': // POP
                Pop();
                break;
            case (byte)'1': // POP_MARK
                PopMark();
                break;
            case (byte)'2': // DUP
                Push(Peek());
                break;
            case (byte)'N':
                Push(PickleNone.Value);
                break;
            case 0x88: // NEWTRUE
                Push(true);
                break;
            case 0x89: // NEWFALSE
                Push(false);
                break;
            case (byte)'J': // BININT
                Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)));
                break;
            case (byte)'K': // BININT1
                Push((long)ReadByte());
                break;
            case (byte)'M': // BININT2
                Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2)));
                break;
            case 0x8a: // LONG1
                Push(ReadLong1());
                break;
            case (byte)'G': // BINFLOAT (big-endian)
                Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8)));
                break;
            case 0x8c: // SHORT_BINUNICODE
                Push(ReadString(ReadByte()));
                break;
            case (byte)'X': // BINUNICODE
                Push(ReadString(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))));
                break;
            case 0x8d: // BINUNICODE8
                Push(ReadString(BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8))));
                break;
            case (byte)'C': // SHORT_BINBYTES
                Push(ReadBytes(ReadByte()).ToArray());
                break;
            case (byte)'B': // BINBYTES
                Push(ReadBytes(Length(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))).ToArray());
                break;
            default:
                ExecuteStructural(op);
                break;
        }
    }

    private void ExecuteStructural(byte op)
    {
        switch (op)
        {
            case (byte)'}': // EMPTY_DICT
                Push(new PickleDict());
                break;
            case (byte)']': // EMPTY_LIST
                Push(new List<object>());
                break;
            case (byte)')': // EMPTY_TUPLE
                Push(new PickleTuple([]));
                break;
            case (byte)'t': // TUPLE
                Push(new PickleTuple(PopMark()));
                break;
            case 0x85: // TUPLE1
            case 0x86: // TUPLE2
            case 0x87: // TUPLE3
                Push(new PickleTuple(PopN(op - 0x84)));
                break;
            case (byte)'l': // LIST
                Push(Grow(new List<object>(), PopMark()));
                break;
            case (byte)'d': // DICT
                var dict = new PickleDict();
                SetItems(dict, PopMark());
                Push(dict);
                break;
            case (byte)'a': // APPEND
                var item = Pop();
                Grow(ExpectList(Peek()), [item]);
                break;
            case (byte)'e': // APPENDS
                var items = PopMark();
                Grow(ExpectList(Peek()), items);
                break;
            case (byte)'s': // SETITEM
                var pair = PopN(2);
                SetItems(ExpectDict(Peek()), pair);
                break;
            case (byte)'u': // SETITEMS
                var pairs = PopMark();
                SetItems(ExpectDict(Peek()), pairs);
                break;
            case (byte)'q': // BINPUT
                Memo(ReadByte());
                break;
            case (byte)'r': // LONG_BINPUT
                Memo(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)));
                break;
            case 0x94: // MEMOIZE
                Memo(_memo.Count);
                break;
            case (byte)'h': // BINGET
                Push(Recall(ReadByte()));
                break;
            case (byte)'j': // LONG_BINGET
                Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))));
                break;
            case (byte)'c': // GLOBAL
                string module = ReadLine();
                Push(ResolveGlobal(module, ReadLine()));
                break;
            case 0x93: // STACK_GLOBAL
                var names = PopN(2);
                if (names[0] is not string m || names[1] is not string n)
                    throw Error("STACK_GLOBAL needs two strings (module, name) on the stack.");
                Push(ResolveGlobal(m, n));
                break;
            case (byte)'R': // REDUCE
                var args = Pop();
                Push(Reduce(Pop(), args));
                break;
            case (byte)'b': // BUILD
                Build(Pop(), Peek());
                break;
            case (byte)'Q': // BINPERSID
                Push(PersistentLoad(Pop()));
                break;
            default:
                throw Error($"unsupported pickle opcode 0x{op:x2} ({OpcodeName(op)}); a torch state dict never needs it.");
        }
    }

    private CheckpointFormatException Error(string problem) =>
        new(_path, _entry, $"byte {_opStart}: {problem}");
}

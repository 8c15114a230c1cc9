using System.Text;
using Rain.Engine.Tensors;

namespace Rain.Models.Checkpoints;

// Input reading and the bounded stack, memo and containers.
internal sealed unsafe partial class RestrictedUnpickler
{
    private byte ReadByte()
    {
        if (_pos >= _length)
            throw Error("the pickle is truncated inside an opcode's argument.");
        return _data[_pos++];
    }

    private ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count > _length - _pos)
            throw Error($"an argument of {count} bytes runs past the end of the pickle ({_length - _pos} bytes left).");
        var span = new ReadOnlySpan<byte>(_data + _pos, count);
        _pos += count;
        return span;
    }

    private int Length(ulong length) =>
        length > (ulong)(_length - _pos)
            ? throw Error($"a length of {length} bytes runs past the end of the pickle ({_length - _pos} bytes left).")
            : (int)length;

    private string ReadString(ulong length)
    {
        var bytes = ReadBytes(Length(length));
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new CheckpointFormatException(_path, _entry, $"byte {_opStart}: a string is not valid UTF-8.", e);
        }
    }

    // GLOBAL's arguments are newline-terminated ASCII names; a state dict's are short.
    private string ReadLine()
    {
        var window = new ReadOnlySpan<byte>(_data + _pos, Math.Min(_length - _pos, MaxGlobalNameLength + 1));
        int end = window.IndexOf((byte)'\n');
        if (end < 0)
            throw Error($"GLOBAL's name is not newline-terminated within {MaxGlobalNameLength} bytes.");
        string line = Encoding.ASCII.GetString(window[..end]);
        _pos += end + 1;
        return line;
    }

    private long ReadLong1()
    {
        int n = ReadByte();
        if (n > 8)
            throw Error($"LONG1 of {n} bytes; integers wider than 64 bits do not occur in state dicts.");
        var bytes = ReadBytes(n);
        long value = 0;
        for (int i = n - 1; i >= 0; i--)
            value = (value << 8) | bytes[i];
        if (n is > 0 and < 8 && (bytes[n - 1] & 0x80) != 0)
            value -= 1L << (8 * n); // two's complement sign of a short encoding
        return value;
    }

    private void Push(object value)
    {
        if (_stack.Count >= MaxStack)
            throw Error($"the stack grows past {MaxStack} values.");
        _stack.Add(value);
    }

    private int Floor => _marks.Count == 0 ? 0 : _marks[^1];

    private object Pop()
    {
        if (_stack.Count <= Floor)
            throw Error("stack underflow (a value was needed above the last mark).");
        var value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object Peek() =>
        _stack.Count > Floor ? _stack[^1] : throw Error("stack underflow (a value was needed above the last mark).");

    private object[] PopN(int count)
    {
        if (_stack.Count - Floor < count)
            throw Error($"stack underflow ({count} values needed above the last mark).");
        var items = _stack.GetRange(_stack.Count - count, count).ToArray();
        _stack.RemoveRange(_stack.Count - count, count);
        return items;
    }

    private object[] PopMark()
    {
        if (_marks.Count == 0)
            throw Error("an opcode needs a MARK, and there is none.");
        int mark = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(mark, _stack.Count - mark).ToArray();
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private void CountItems(int count)
    {
        _containerItems += count;
        if (_containerItems > _itemLimit)
            throw Error($"containers hold more than {_itemLimit} items in all, more than a state dict in a file of this size needs; the pickle would take memory out of proportion to the file.");
    }

    private List<object> Grow(List<object> list, object[] items)
    {
        CountItems(items.Length);
        list.AddRange(items);
        return list;
    }

    private void SetItems(PickleDict dict, object[] keysAndValues)
    {
        if (keysAndValues.Length % 2 != 0)
            throw Error($"SETITEMS with {keysAndValues.Length} values, expected key/value pairs.");
        CountItems(keysAndValues.Length / 2);
        for (int i = 0; i < keysAndValues.Length; i += 2)
        {
            if (keysAndValues[i] is not (string or long or bool or double or PickleNone))
                throw Error($"a dict key is a {Describe(keysAndValues[i])}; only strings, numbers and None are accepted as keys.");
            dict.Items[keysAndValues[i]] = keysAndValues[i + 1];
        }
    }

    private List<object> ExpectList(object value) =>
        value as List<object> ?? throw Error($"APPEND to a {Describe(value)}, expected a list.");

    private PickleDict ExpectDict(object value) =>
        value as PickleDict ?? throw Error($"SETITEM on a {Describe(value)}, expected a dict.");

    private void Memo(long index)
    {
        if (_memo.Count >= MaxMemo && !_memo.ContainsKey(index))
            throw Error($"the memo grows past {MaxMemo} entries.");
        _memo[index] = Peek();
    }

    private object Recall(long index) =>
        _memo.TryGetValue(index, out var value) ? value : throw Error($"memo entry {index} is read before it is written.");

    private static string Describe(object value) => PickleValues.Describe(value);
}

using System.Diagnostics.CodeAnalysis;

namespace Rain.Native;

/// <summary>
/// The objects behind one kind of opaque C handle. A handle is not a pointer: it encodes a kind tag, the slot's
/// generation and the slot index, so a freed handle (generation moved on), a handle of the other kind or any made-up
/// value is recognised and refused instead of dereferenced. Thread-safe. 64-bit processes only (handles are 64 bits).
/// </summary>
internal sealed class HandleTable<T>
    where T : class
{
    private const int IndexBits = 24;
    private const long IndexMask = (1L << IndexBits) - 1;
    private readonly Lock _lock = new();
    private readonly List<Slot> _slots = [];
    private readonly Stack<int> _free = new();
    private readonly byte _kind;

    /// <param name="kind">A non-zero tag in the handle's top byte, distinct per table.</param>
    public HandleTable(byte kind)
    {
        ArgumentOutOfRangeException.ThrowIfZero(kind);
        _kind = kind;
    }

    /// <summary>Stores <paramref name="value"/> and returns its new handle (never 0).</summary>
    public nint Add(T value)
    {
        lock (_lock)
        {
            int index;
            if (_free.Count > 0)
            {
                index = _free.Pop();
            }
            else
            {
                if (_slots.Count >= IndexMask)
                    throw new InvalidOperationException($"Too many live handles ({_slots.Count}); free some first.");
                index = _slots.Count;
                _slots.Add(new Slot { Generation = 1 });
            }

            var slot = _slots[index];
            slot.Value = value;
            _slots[index] = slot;
            return Encode(index, slot.Generation);
        }
    }

    /// <summary>The object behind <paramref name="handle"/>, if it is a live handle of this table.</summary>
    public bool TryGet(nint handle, [NotNullWhen(true)] out T? value)
    {
        lock (_lock)
        {
            value = Find(handle, out _);
            return value is not null;
        }
    }

    /// <summary>Invalidates <paramref name="handle"/> and returns its object; null if it was not live (double free, foreign).</summary>
    public T? Remove(nint handle)
    {
        lock (_lock)
        {
            var value = Find(handle, out int index);
            if (value is null)
                return null;
            var slot = _slots[index];
            slot.Value = null;
            slot.Generation = slot.Generation == uint.MaxValue ? 1 : slot.Generation + 1;
            _slots[index] = slot;
            _free.Push(index);
            return value;
        }
    }

    private T? Find(nint handle, out int index)
    {
        long h = handle;
        index = (int)(h & IndexMask) - 1;
        uint generation = (uint)((ulong)h >> IndexBits);
        if ((byte)((ulong)h >> 56) != _kind || index < 0 || index >= _slots.Count)
            return null;
        var slot = _slots[index];
        return (slot.Generation & 0xFFFFFFFF) == generation && slot.Value is not null ? slot.Value : null;
    }

    private nint Encode(int index, uint generation) =>
        (nint)(((long)_kind << 56) | (((long)generation & 0xFFFFFFFF) << IndexBits) | (index + 1L));

    private struct Slot
    {
        public T? Value;
        public uint Generation;
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Rain.Kernels;

/// <summary>A CUDA grid or block size.</summary>
/// <param name="X">Extent along x.</param>
/// <param name="Y">Extent along y.</param>
/// <param name="Z">Extent along z.</param>
public readonly record struct Dim3(uint X, uint Y = 1, uint Z = 1);

/// <summary>
/// One kernel launch, fully described and validated on the host: the op (module), the entry point, the grid, the
/// block, the dynamic shared memory and the packed arguments. A launcher of this assembly builds it; a CUDA backend
/// enqueues it (cuLaunchKernel) without knowing anything about the op.
/// </summary>
public sealed class KernelLaunch
{
    internal KernelLaunch(string op, string entryPoint, Dim3 grid, Dim3 block, uint sharedBytes, KernelArguments arguments)
    {
        Op = op;
        EntryPoint = entryPoint;
        Grid = grid;
        Block = block;
        SharedBytes = sharedBytes;
        Arguments = arguments;
    }

    /// <summary>The module (<c>kernels/&lt;op&gt;.cu</c>).</summary>
    public string Op { get; }

    /// <summary>The <c>extern "C"</c> kernel name.</summary>
    public string EntryPoint { get; }

    /// <summary>The grid.</summary>
    public Dim3 Grid { get; }

    /// <summary>The block.</summary>
    public Dim3 Block { get; }

    /// <summary>Dynamic shared memory per block, in bytes.</summary>
    public uint SharedBytes { get; }

    /// <summary>The kernel's arguments in declaration order.</summary>
    public KernelArguments Arguments { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Op}/{EntryPoint}<<<({Grid.X},{Grid.Y},{Grid.Z}), ({Block.X},{Block.Y},{Block.Z}), {SharedBytes}>>>";

    internal static Dim3 Blocks(long threads, uint blockSize, string op)
    {
        long blocks = (threads + blockSize - 1) / blockSize;
        if (blocks > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, $"{op}: {threads} threads need {blocks} blocks, more than a grid holds ({int.MaxValue}).");
        return new Dim3((uint)Math.Max(1, blocks));
    }
}

/// <summary>
/// Kernel arguments packed by value, each at an offset aligned to its size (the layout cuLaunchKernel reads through
/// its array of argument pointers). Device pointers are 64-bit addresses.
/// </summary>
public sealed class KernelArguments
{
    private readonly List<(int Offset, int Size)> _slots = [];
    private byte[] _data = new byte[64];
    private int _length;

    /// <summary>Number of arguments.</summary>
    public int Count => _slots.Count;

    /// <summary>The bytes of argument <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> this[int index] => _data.AsSpan(_slots[index].Offset, _slots[index].Size);

    /// <summary>Appends a 64-bit value (a device pointer, a 64-bit integer).</summary>
    public KernelArguments Add(ulong value) => Append(value);

    /// <summary>Appends a signed 64-bit integer.</summary>
    public KernelArguments Add(long value) => Append(value);

    /// <summary>Appends a 32-bit signed integer.</summary>
    public KernelArguments Add(int value) => Append(value);

    /// <summary>Appends a 32-bit unsigned integer.</summary>
    public KernelArguments Add(uint value) => Append(value);

    /// <summary>Appends a float.</summary>
    public KernelArguments Add(float value) => Append(value);

    private KernelArguments Append<T>(T value)
        where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        int offset = (_length + size - 1) / size * size;
        if (offset + size > _data.Length)
            Array.Resize(ref _data, Math.Max(_data.Length * 2, offset + size));
        MemoryMarshal.Write(_data.AsSpan(offset), in value);
        _slots.Add((offset, size));
        _length = offset + size;
        return this;
    }
}

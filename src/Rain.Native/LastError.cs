using System.Runtime.InteropServices;
using System.Text;

namespace Rain.Native;

/// <summary>
/// Each thread's last failure message as a NUL-terminated UTF-8 string that C can hold on to until the thread's next
/// failing call. The buffer belongs to the thread: when the thread ends, its buffer object becomes unreachable and its
/// finalizer frees the native memory, so threads that come and go leak nothing.
/// </summary>
internal static unsafe class LastError
{
    [ThreadStatic]
    private static Buffer? t_buffer;

    private static readonly byte* Empty = (byte*)NativeMemory.AllocZeroed(1);

    /// <summary>The message (never null; "" before the first failure on this thread).</summary>
    public static byte* Pointer => t_buffer is { } b ? b.Data : Empty;

    /// <summary>Replaces this thread's message.</summary>
    public static void Set(string message)
    {
        // One line for C hosts' logs (.NET messages sometimes carry a second line, e.g. "Actual value was -1.").
        message = message.ReplaceLineEndings(" ");
        int length = Encoding.UTF8.GetByteCount(message);
        var buffer = t_buffer ??= new Buffer();
        buffer.Ensure(length + 1);
        int written = Encoding.UTF8.GetBytes(message, new Span<byte>(buffer.Data, length));
        buffer.Data[written] = 0;
    }

    private sealed class Buffer
    {
        private nuint _capacity;

        public byte* Data { get; private set; }

        public void Ensure(int bytes)
        {
            if ((nuint)bytes <= _capacity)
                return;
            nuint capacity = Math.Max((nuint)bytes, 256);
            Data = (byte*)NativeMemory.Realloc(Data, capacity);
            _capacity = capacity;
        }

        ~Buffer() => NativeMemory.Free(Data);
    }
}

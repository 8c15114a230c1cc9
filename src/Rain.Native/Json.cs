using System.Buffers;
using System.Text.Json;

namespace Rain.Native;

/// <summary>JSON answers into a caller's buffer: the length is always reported, the text only when it fits with its NUL.</summary>
internal static unsafe class Json
{
    public static RainStatus Write(byte* buffer, nuint capacity, nuint* needed, Action<Utf8JsonWriter> body)
    {
        if (needed is null)
            return Failure.Report(RainStatus.Argument, "needed is NULL.");
        var output = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        *needed = (nuint)output.WrittenCount;
        if (capacity <= (nuint)output.WrittenCount)
            return Failure.Report(RainStatus.Argument, $"buffer too small: {output.WrittenCount + 1} bytes needed with the NUL, capacity {capacity}.");
        if (buffer is null)
            return Failure.Report(RainStatus.Argument, "buffer is NULL but capacity is not 0.");
        output.WrittenSpan.CopyTo(new Span<byte>(buffer, output.WrittenCount));
        buffer[output.WrittenCount] = 0;
        return RainStatus.Ok;
    }
}

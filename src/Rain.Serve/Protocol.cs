using System.Buffers.Binary;

namespace Rain.Serve;

/// <summary>
/// The WebSocket protocol of <c>rain serve</c> (README "In the browser" documents it for other clients). Binary messages
/// carry images behind a small little-endian header; text messages are JSON objects with a <c>"type"</c>.
/// </summary>
internal static class Protocol
{
    /// <summary>The WebSocket's path.</summary>
    public const string Path = "/ws";

    /// <summary>Client → server, binary: a camera frame (JPEG, or any image format the engine decodes).</summary>
    public const byte CameraFrame = 0x01;

    /// <summary>Client → server, binary: a reference image to upload (PNG, JPEG, BMP, GIF, WebP).</summary>
    public const byte ReferenceImage = 0x02;

    /// <summary>Server → client, binary: an animated frame (JPEG) and the pose image it was made from (PNG).</summary>
    public const byte AnimatedFrame = 0x81;

    /// <summary>Bytes of a client message's header: kind u8, 3 zero bytes, sequence u32, capture time f64 (ms, the client's clock).</summary>
    public const int ClientHeaderBytes = 16;

    /// <summary>Bytes of an animated frame's header (see <see cref="WriteFrameHeader"/>).</summary>
    public const int FrameHeaderBytes = 32;

    /// <summary>Close status of a second client while a stream runs (1013, "try again later").</summary>
    public const int BusyCloseStatus = 1013;

    /// <summary>A client message's header, or why it is not one.</summary>
    public static bool TryReadClientHeader(ReadOnlySpan<byte> message, out byte kind, out uint sequence, out double captureMs, out string? error)
    {
        (kind, sequence, captureMs, error) = (0, 0, 0, null);
        if (message.Length < ClientHeaderBytes)
        {
            error = $"a binary message must start with the {ClientHeaderBytes}-byte header (kind, 3 zero bytes, sequence u32 LE, capture time f64 LE); got {message.Length} bytes";
            return false;
        }

        kind = message[0];
        if (kind is not (CameraFrame or ReferenceImage))
        {
            error = $"unknown binary message kind 0x{kind:x2}; expected 0x01 (camera frame) or 0x02 (reference image)";
            return false;
        }

        if (message[1] != 0 || message[2] != 0 || message[3] != 0)
        {
            error = "bytes 1-3 of a binary message's header must be zero";
            return false;
        }

        sequence = BinaryPrimitives.ReadUInt32LittleEndian(message[4..]);
        captureMs = BinaryPrimitives.ReadDoubleLittleEndian(message[8..]);
        if (!double.IsFinite(captureMs))
        {
            error = "the capture time (bytes 8-15) must be a finite number";
            return false;
        }

        return true;
    }

    /// <summary>
    /// An animated frame's header: kind 0x81, 3 zero bytes, the camera frame's sequence u32, its capture time f64 (echoed),
    /// the frame's JPEG length u32, the pose PNG's length u32, the server's latency f64 (ms, camera frame received → frame
    /// ready); the JPEG and the PNG follow.
    /// </summary>
    public static void WriteFrameHeader(Span<byte> header, uint sequence, double captureMs, int frameBytes, int poseBytes, double serverMs)
    {
        header[..FrameHeaderBytes].Clear();
        header[0] = AnimatedFrame;
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], sequence);
        BinaryPrimitives.WriteDoubleLittleEndian(header[8..], captureMs);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)frameBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], (uint)poseBytes);
        BinaryPrimitives.WriteDoubleLittleEndian(header[24..], serverMs);
    }
}

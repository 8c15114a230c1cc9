using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Rain.Testing;

/// <summary>A decompression bomb: a valid PNG of a few hundred bytes whose header claims an image of any size.</summary>
public static class PngBomb
{
    /// <summary>An 8-bit RGB PNG claiming <paramref name="width"/>×<paramref name="height"/>, its IDAT one deflated row of zeros.</summary>
    public static byte[] Create(int width, int height)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        Chunk(png, "IHDR", ihdr);
        using (var data = new MemoryStream())
        {
            using (var z = new ZLibStream(data, CompressionLevel.SmallestSize, leaveOpen: true))
                z.Write(new byte[1 + Math.Min(width, 4096) * 3]);
            Chunk(png, "IDAT", data.ToArray());
        }

        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        s.Write(length);
        byte[] typed = [.. System.Text.Encoding.ASCII.GetBytes(type), .. data];
        s.Write(typed);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.HashToUInt32(typed));
        s.Write(crc);
    }
}

using System.Buffers.Binary;
using Rain.Engine.Tensors;
using Rain.Models.Checkpoints;
using Rain.Testing.Checkpoints;
using SafetensorsWriter = Rain.Testing.Checkpoints.SafetensorsWriter;

namespace Rain.Models.Tests;

/// <summary>The safetensors reader on hand-built files: every dtype, and each way a header can be wrong.</summary>
public sealed class SafetensorsReaderTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ReadsEveryDTypeToFloat32()
    {
        var f64 = new byte[16];
        BinaryPrimitives.WriteDoubleLittleEndian(f64, 1.5);
        BinaryPrimitives.WriteDoubleLittleEndian(f64.AsSpan(8), -2.25);
        WriterTensor[] tensors =
        [
            new("f64", "F64", [2], f64),
            new("f32", "F32", [1], BitConverter.GetBytes(3.25f)),
            new("f16", "F16", [2], new byte[] { 0x00, 0x38, 0x00, 0xC0 }), // 0.5, -2
            new("bf16", "BF16", [2], new byte[] { 0xC0, 0x3F, 0x80, 0xBF }), // 1.5, -1
            new("i64", "I64", [1], BitConverter.GetBytes(-7L)),
            new("i32", "I32", [1], BitConverter.GetBytes(123456)),
            new("i16", "I16", [1], BitConverter.GetBytes((short)-3)),
            new("i8", "I8", [2], new byte[] { 0xFB, 0x05 }), // -5, 5
            new("u8", "U8", [1, 1], new byte[] { 200 }),
            new("bool", "BOOL", [2], new byte[] { 1, 0 }),
            new("scalar", "F32", [], BitConverter.GetBytes(-1f)),
            new("empty", "F32", [0, 4], Array.Empty<byte>()),
        ];
        string path = _dir.File("all.safetensors");
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });

        using var c = Checkpoint.Open(path);
        Assert.Equal(tensors.Select(t => t.Name), c.Tensors.Select(t => t.Name));
        Assert.Equal("pt", c.Metadata["format"]);
        Assert.Equal([1.5f, -2.25f], c.ReadFloat32("f64"));
        Assert.Equal([3.25f], c.ReadFloat32("f32"));
        Assert.Equal([0.5f, -2f], c.ReadFloat32("f16"));
        Assert.Equal([1.5f, -1f], c.ReadFloat32("bf16"));
        Assert.Equal([-7f], c.ReadFloat32("i64"));
        Assert.Equal([123456f], c.ReadFloat32("i32"));
        Assert.Equal([-3f], c.ReadFloat32("i16"));
        Assert.Equal([-5f, 5f], c.ReadFloat32("i8"));
        Assert.Equal([200f], c.ReadFloat32("u8"));
        Assert.Equal([1f, 0f], c.ReadFloat32("bool"));
        Assert.Equal([-1f], c.ReadFloat32("scalar"));
        Assert.Empty(c.ReadFloat32("empty"));
        Assert.True(c.TryGet("bf16", out var bf16));
        Assert.Equal((TensorDType.BF16, 2L, 4L), (bf16.DType, bf16.ElementCount, bf16.ByteLength));
        Assert.Equal([8L, 4L, 2L, 2L], c.Tensors.Where(t => t.Name is "f64" or "f32" or "f16" or "bf16").Select(t => t.ByteLength / t.ElementCount));
        Assert.False(c.TryGet("nope", out _));
        Assert.Throws<KeyNotFoundException>(() => c.ReadFloat32("nope"));
    }

    [Fact]
    public void LongBFloat16TensorConvertsExactly()
    {
        // Long enough for the vector path plus a scalar tail; every bit pattern's float is its bits shifted up.
        var bytes = new byte[2 * 1003];
        for (int i = 0; i < 1003; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), (ushort)(0x3F80 + (i * 7)));
        string path = _dir.File("bf16.safetensors");
        SafetensorsWriter.Write(path, [new WriterTensor("x", "BF16", [1003], bytes)]);
        using var c = Checkpoint.Open(path);
        var values = c.ReadFloat32("x");
        for (int i = 0; i < 1003; i++)
            Assert.Equal(BitConverter.Int32BitsToSingle((0x3F80 + (i * 7)) << 16), values[i]);
    }

    [Fact]
    public void EveryHalfAndBFloat16BitPatternConvertsLikeTheScalarDefinition()
    {
        // All 65536 patterns (subnormals, infinities, NaNs included) through the vectorised paths, checked one by
        // one against .NET's scalar Half conversion and bfloat16's definition (the high half of a float32).
        var bytes = new byte[2 * 65536];
        for (int i = 0; i < 65536; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), (ushort)i);
        string path = _dir.File("patterns.safetensors");
        SafetensorsWriter.Write(path, [new WriterTensor("h", "F16", [65536], bytes), new WriterTensor("b", "BF16", [256, 256], bytes)]);
        using var c = Checkpoint.Open(path);
        var half = c.ReadFloat32("h");
        var bf16 = c.ReadFloat32("b");
        for (int i = 0; i < 65536; i++)
        {
            float h = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            Assert.True(float.IsNaN(h) ? float.IsNaN(half[i]) : BitConverter.SingleToInt32Bits(h) == BitConverter.SingleToInt32Bits(half[i]), $"F16 0x{i:x4}: {half[i]}, expected {h}");
            Assert.Equal(i << 16, BitConverter.SingleToInt32Bits(bf16[i]));
        }
    }

    [Fact]
    public void HeaderOrderIsKeptWhenDataIsLaidOutDifferently()
    {
        const string json = """{"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}""";
        string path = _dir.Write("order.safetensors", SafetensorsWriter.WithRawHeader(json, [10, 20]));
        using var c = Checkpoint.Open(path);
        Assert.Equal(["b", "a"], c.Tensors.Select(t => t.Name));
        Assert.Equal([20f], c.ReadFloat32("b"));
        Assert.Equal([10], c.ReadRaw("a").ToArray());
    }

    public static TheoryData<string, string, int, string> BadHeaders() => new()
    {
        { "malformed json", """{"a":{"dtype":"U8",""", 0, "malformed" },
        { "root not an object", "[1,2]", 0, "expected an object" },
        { "unknown dtype", """{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}""", 1, "unknown dtype 'Q4'" },
        { "missing dtype", """{"a":{"shape":[1],"data_offsets":[0,1]}}""", 1, "'dtype'" },
        { "offsets past data", """{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}""", 2, "outside the 2-byte data section" },
        { "offsets reversed", """{"a":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}}""", 2, "outside" },
        { "overlap", """{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}""", 3, "overlapping" },
        { "gap", """{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}""", 3, "gap" },
        { "trailing data", """{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}""", 4, "cover 1 bytes of the 4-byte" },
        { "shape overflows", """{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}""", 4, "more elements than" },
        { "shape times size overflows", """{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,4]}}""", 4, "more bytes than" },
        { "shape mismatch", """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", 4, "needs 8 bytes, data_offsets span 4" },
        { "negative dim", """{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}""", 1, "non-negative integer" },
        { "fractional dim", """{"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}""", 1, "non-negative integer" },
        { "three offsets", """{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,1]}}""", 1, "at most 2" },
        { "duplicate key", """{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}""", 1, "occurs twice" },
        { "metadata not strings", """{"__metadata__":{"k":1}}""", 0, "expected a string" },
        { "deep nesting", new string('[', 100) + new string(']', 100), 0, "malformed" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void MalformedHeaderIsRefusedWithItsReason(string why, string json, int dataBytes, string expected)
    {
        string path = _dir.Write("bad.safetensors", SafetensorsWriter.WithRawHeader(json, new byte[dataBytes]));
        var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Open(path).Dispose());
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        _ = why;
    }

    [Fact]
    public void HeaderLengthPastEndOfFileIsRefused()
    {
        string path = _dir.Write("past.safetensors", SafetensorsWriter.WithRawHeader("{}", [], declaredLength: 5000));
        var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Open(path).Dispose());
        Assert.Contains("header length 5000 runs past the end of the file (10 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AbsurdHeaderLengthIsRefusedBeforeAnyAllocation()
    {
        string path = _dir.Write("huge.safetensors", SafetensorsWriter.WithRawHeader("{}", [], declaredLength: ulong.MaxValue));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path).Dispose());
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        Assert.Contains("exceeds the 100000000-byte limit", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(7)]
    public void FileShorterThanTheLengthFieldIsRefused(int length)
    {
        string path = _dir.Write("short.safetensors", new byte[length]);
        var e = Assert.Throws<CheckpointFormatException>(() => SafetensorsReader.Open(path).Dispose());
        Assert.Contains("too short", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AHeaderOfMoreTensorsThanAnyCheckpointHoldsIsRefusedWithBoundedMemory()
    {
        // MaxTensors + 2 empty tensors: an 8 MB header whose entries would each cost about a kilobyte to hold; refused by a
        // streaming count before any index of it is built.
        var header = new System.Text.StringBuilder("{");
        for (int i = 0; i <= SafetensorsReader.MaxTensors + 1; i++)
            header.Append(System.Globalization.CultureInfo.InvariantCulture, $"{(i > 0 ? "," : "")}\"t{i}\":{{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}");
        byte[] json = System.Text.Encoding.UTF8.GetBytes(header.Append('}').ToString());
        byte[] file = new byte[8 + json.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        string path = _dir.Write("many.safetensors", file);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path).Dispose());
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains($"more than {SafetensorsReader.MaxTensors} tensors", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < (3L * file.Length) + (16 << 20), $"refusing a {file.Length >> 20} MB header allocated {allocated >> 20} MB");
    }
}

using System.Runtime.InteropServices;

namespace Rain.Kernels.Tests;

/// <summary>The launchers validate before any device work and describe the launch the kernels expect.</summary>
public sealed class LauncherTests
{
    private const ulong A = 0x7f00_0000_0000, B = 0x7f00_0010_0000, C = 0x7f00_0020_0000, D = 0x7f00_0030_0000;

    [Theory]
    [InlineData(0, 10, 320, 8, "F must be between 1 and 32")]
    [InlineData(33, 10, 320, 8, "F must be between 1 and 32")]
    [InlineData(16, 0, 320, 8, "N must be positive")]
    [InlineData(16, 10, 320, 7, "multiple of heads")]
    [InlineData(32, 10, 2048, 8, "shared memory")]   // d = 256 at F = 32 does not fit a warp's 48 KiB
    public void AttentionRejectsBadShapes(int frames, int tokens, int channels, int heads, string message)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => CrossNoiseAttention.Launch(A, B, C, D, frames, tokens, channels, heads));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AttentionRejectsNullMisalignedAndAliasedTensors()
    {
        Assert.Contains("non-null", Assert.Throws<ArgumentException>(() => CrossNoiseAttention.Launch(0, B, C, D, 16, 10, 320, 8)).Message, StringComparison.Ordinal);
        Assert.Contains("2-byte aligned", Assert.Throws<ArgumentException>(() => CrossNoiseAttention.Launch(A + 1, B, C, D, 16, 10, 320, 8)).Message, StringComparison.Ordinal);
        Assert.Contains("must not alias", Assert.Throws<ArgumentException>(() => CrossNoiseAttention.Launch(A, B, C, B, 16, 10, 320, 8)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(16, 4096, 320, 8, 0UL, "cross_noise_attention_vec8", 8u)]   // d = 40, aligned: 16-byte loads
    [InlineData(16, 1024, 1280, 8, 0UL, "cross_noise_attention_vec8", 2u)]  // d = 160: 16 448 bytes per warp, two fit 48 KiB
    [InlineData(16, 256, 320, 8, 2UL, "cross_noise_attention_vec2", 8u)]    // addresses 2 bytes off 4-byte alignment: scalar path
    [InlineData(16, 128, 32, 8, 0UL, "cross_noise_attention_vec2", 8u)]     // golden d = 4
    [InlineData(16, 128, 64, 8, 0UL, "cross_noise_attention_vec8", 8u)]     // golden d = 8
    [InlineData(5, 13, 15, 3, 0UL, "cross_noise_attention_vec1", 8u)]       // odd d
    [InlineData(32, 100, 1280, 8, 0UL, "cross_noise_attention_vec8", 1u)]   // d = 160 at F = 32: one warp per block
    public void V1PicksTheWidestSafeVectorAndOneWarpPerPositionAndHead(int frames, int tokens, int channels, int heads, ulong offset, string entry, uint warpsPerBlock)
    {
        var launch = CrossNoiseAttention.Launch(A + offset, B + offset, C + offset, D + offset, frames, tokens, channels, heads, AttentionKernel.Warp);
        string expectedEntry = offset == 2 ? "cross_noise_attention_vec1" : entry;
        Assert.Equal(("cross_noise_attention", expectedEntry), (launch.Op, launch.EntryPoint));
        Assert.Equal(new Dim3(32 * warpsPerBlock), launch.Block);
        Assert.Equal((uint)(((long)tokens * heads + warpsPerBlock - 1) / warpsPerBlock), launch.Grid.X);
        int d = channels / heads;
        long qkv = ((3L * frames * d * 2) + 15) & ~15L;
        long perWarp = (qkv + (frames * (frames + 1) * 4) + 15) & ~15L;
        Assert.Equal(0, perWarp % 16);
        Assert.Equal((uint)(perWarp * warpsPerBlock), launch.SharedBytes);
        Assert.True(launch.SharedBytes <= CrossNoiseAttention.SharedBytesLimit);
        Assert.Equal(9, launch.Arguments.Count);
        Assert.Equal(1f / MathF.Sqrt(d), MemoryMarshal.Read<float>(launch.Arguments[8]));
    }

    [Theory]
    [InlineData(16, 4096, 320, 8, 4u, 1024u)]  // RAIN d = 40: pitch 56, 10 752 bytes per warp, 4 per block; 32 768 pairs → 4096 warps (8 each)
    [InlineData(16, 1024, 640, 8, 2u, 1024u)]  // d = 80: pitch 88, 16 896 bytes, 2 per block; 8192 pairs → 2048 warps (4 each)
    [InlineData(16, 256, 1280, 8, 1u, 2048u)]  // d = 160: pitch 168, 32 256 bytes, 1 per block; 2048 pairs, one each
    [InlineData(16, 64, 1280, 8, 1u, 512u)]    // d = 160 at 8×8 positions: 512 pairs, one warp each
    [InlineData(7, 5, 64, 8, 4u, 10u)]         // golden d = 8, F = 7 (rows 7–15 of the tile stay zero): 40 pairs
    [InlineData(16, 3, 48, 2, 4u, 2u)]         // d = 24: padded to 32 for the k steps of QKᵀ; 6 pairs
    public void V2TakesRainsShapesOnTensorCoresWithSeveralPairsPerWarp(int frames, int tokens, int channels, int heads, uint warpsPerBlock, uint blocks)
    {
        var launch = CrossNoiseAttention.Launch(A, B, C, D, frames, tokens, channels, heads);
        Assert.Equal(("cross_noise_attention", "cross_noise_attention_mma"), (launch.Op, launch.EntryPoint));
        Assert.Equal(launch.EntryPoint, CrossNoiseAttention.Launch(A, B, C, D, frames, tokens, channels, heads, AttentionKernel.TensorCore).EntryPoint);
        int d = channels / heads, pitch = ((d + 15) & ~15) + 8;
        Assert.Equal(8, pitch % 16); // 8 rows × 4 lanes of fragment loads on 32 distinct banks
        Assert.Equal(new Dim3(32 * warpsPerBlock), launch.Block);
        Assert.Equal(blocks, launch.Grid.X);
        Assert.Equal((uint)(warpsPerBlock * 2 * 3 * 16 * pitch * 2), launch.SharedBytes);
        Assert.True(launch.SharedBytes <= CrossNoiseAttention.SharedBytesLimit);
        Assert.Equal(1f / MathF.Sqrt(d), MemoryMarshal.Read<float>(launch.Arguments[8]));
    }

    [Theory]
    [InlineData(32, 100, 1280, 8, 0UL, "cross_noise_attention_vec8", "more than one 16-row tile")]
    [InlineData(16, 256, 320, 8, 8UL, "cross_noise_attention_vec2", "16-byte aligned")]
    [InlineData(16, 128, 32, 8, 0UL, "cross_noise_attention_vec2", "multiples of 8")]
    [InlineData(16, 10, 2048, 8, 0UL, "cross_noise_attention_vec8", "bytes of shared memory per warp")] // d = 256
    public void V2FallsBackToV1WhereItDoesNotApplyAndSaysWhyWhenAskedFor(int frames, int tokens, int channels, int heads, ulong offset, string entry, string why)
    {
        Assert.Equal(entry, CrossNoiseAttention.Launch(A + offset, B + offset, C + offset, D + offset, frames, tokens, channels, heads).EntryPoint);
        var e = Assert.Throws<ArgumentException>(() => CrossNoiseAttention.Launch(A + offset, B + offset, C + offset, D + offset, frames, tokens, channels, heads, AttentionKernel.TensorCore));
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(16, 4096, 320, 8, 0UL, "cross_noise_attention_f32_vec4", 5u)]   // d = 40: 8 768 bytes per warp, five fit 48 KiB
    [InlineData(16, 1024, 1280, 8, 0UL, "cross_noise_attention_f32_vec4", 1u)]  // d = 160: 31 808 bytes, one warp per block
    [InlineData(16, 256, 320, 8, 4UL, "cross_noise_attention_f32_vec1", 5u)]    // 4 bytes off 16-byte alignment: scalar path
    [InlineData(5, 13, 15, 3, 0UL, "cross_noise_attention_f32_vec1", 8u)]       // odd d
    public void AttentionOnFloat32StorageSizesSharedMemoryForFourByteElements(int frames, int tokens, int channels, int heads, ulong offset, string entry, uint warpsPerBlock)
    {
        var launch = CrossNoiseAttention.Launch(A + offset, B + offset, C + offset, D + offset, frames, tokens, channels, heads, TensorStorage.Fp32);
        Assert.Equal(("cross_noise_attention", entry), (launch.Op, launch.EntryPoint));
        int d = channels / heads;
        long qkv = ((3L * frames * d * 4) + 15) & ~15L;
        long perWarp = (qkv + (frames * (frames + 1) * 4) + 15) & ~15L;
        Assert.Equal(new Dim3(32 * warpsPerBlock), launch.Block);
        Assert.Equal((uint)(perWarp * warpsPerBlock), launch.SharedBytes);
        Assert.Contains("4-byte aligned", Assert.Throws<ArgumentException>(() =>
            CrossNoiseAttention.Launch(A + 2, B, C, D, frames, tokens, channels, heads, TensorStorage.Fp32)).Message, StringComparison.Ordinal);
        // F = 32 at d = 160 fits in fp16 but not in fp32 storage.
        Assert.Contains("shared memory", Assert.Throws<ArgumentException>(() =>
            CrossNoiseAttention.Launch(A, B, C, D, 32, 10, 1280, 8, TensorStorage.Fp32)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ArgumentsArePackedAtTheirNaturalAlignment()
    {
        var arguments = new KernelArguments().Add(1).Add(0x1122334455667788UL).Add(2.5f).Add(-7L);
        Assert.Equal(4, arguments.Count);
        Assert.Equal(1, MemoryMarshal.Read<int>(arguments[0]));
        Assert.Equal(0x1122334455667788UL, MemoryMarshal.Read<ulong>(arguments[1]));
        Assert.Equal(2.5f, MemoryMarshal.Read<float>(arguments[2]));
        Assert.Equal(-7L, MemoryMarshal.Read<long>(arguments[3]));
        Assert.Equal([4, 8, 4, 8], Enumerable.Range(0, 4).Select(i => arguments[i].Length));
    }

    [Fact]
    public void NoiseValidatesAndCoversTheRequestedBlocks()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Noise.Launch(1, A, 0, -1, 0, 16, B, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Noise.Launch(1, A, 0, 0, -1, 16, B, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Noise.Launch(1, A, 0, 0, 0, 0, B, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Noise.Launch(1, A, 0, 0, Noise.MaxStreamElements - 3, 4, B, 0));
        Assert.Contains("chunkBase", Assert.Throws<ArgumentException>(() => Noise.Launch(1, A + 4, 0, 0, 0, 16, B, 0)).Message, StringComparison.Ordinal);
        Assert.Contains("at least one", Assert.Throws<ArgumentException>(() => Noise.Launch(1, A, 0, 0, 0, 16, 0, 0)).Message, StringComparison.Ordinal);
        Assert.Contains("aligned", Assert.Throws<ArgumentException>(() => Noise.Launch(1, A, 0, 0, 0, 16, B + 2, 0)).Message, StringComparison.Ordinal);

        // Elements 5 … 5+1000−1 touch Philox blocks 1 … 251: 251 threads, one block of 256.
        var launch = Noise.Launch(1, A, 0, 0, 5, 1000, B, C);
        Assert.Equal((new Dim3(1), new Dim3(256)), (launch.Grid, launch.Block));
        var big = Noise.Launch(1, A, 0, 0, 0, 4 * 256 * 10 + 1, B, 0);
        Assert.Equal(11u, big.Grid.X);
    }

    [Fact]
    public void LcmStepRollValidates()
    {
        Assert.Contains("multiple of p", Assert.Throws<ArgumentException>(() => LcmStepRoll.Launch(A, B, C, D, A + 64, B + 64, C + 64, 10, 4, 256)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => LcmStepRoll.Launch(A, B, C, D, A + 64, B + 64, C + 64, 16, 4, 0));
        Assert.Contains("4-byte aligned", Assert.Throws<ArgumentException>(() => LcmStepRoll.Launch(A + 2, B, C, D, A + 64, B + 64, C + 64, 16, 4, 256)).Message, StringComparison.Ordinal);
        Assert.Contains("must not be sample", Assert.Throws<ArgumentException>(() => LcmStepRoll.Launch(A, B, C, D, B, B + 64, C + 64, 16, 4, 256)).Message, StringComparison.Ordinal);
        var launch = LcmStepRoll.Launch(A, B, C, D, A + 64, B + 64, C + 64, 16, 4, 4096);
        Assert.Equal((16u * 4096 / 256, 10), (launch.Grid.X, launch.Arguments.Count));
        Assert.Throws<ArgumentException>(() => LcmStepRoll.PackCoefficients([1f, 2f], [1f], [1f, 2f], [1f, 2f], [1f, 2f], [1f, 2f]));
    }

    [Fact]
    public void FrameConversionValidatesAndLaysOutOneImagePerGridRow()
    {
        Assert.Throws<ArgumentException>(() => FrameConversion.Rgb8ToPlanarLaunch(A, B, 0, 64, 64));
        Assert.Throws<ArgumentException>(() => FrameConversion.PlanarToRgb8Launch(A, B, 4, 0, 64));
        Assert.Contains("2-byte aligned", Assert.Throws<ArgumentException>(() => FrameConversion.Rgb8ToPlanarLaunch(A, B + 1, 4, 64, 64)).Message, StringComparison.Ordinal);
        var launch = FrameConversion.Rgb8ToPlanarLaunch(A + 1, B, 4, 7, 13); // RGB8 needs no alignment
        Assert.Equal(new Dim3(1, 4), launch.Grid);
        Assert.Equal(91u, MemoryMarshal.Read<uint>(launch.Arguments[2]));
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Rain.Engine.Streaming;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Kernels.Tests.HostEmulation;

/// <summary>
/// The kernel sources executed on the CPU (see <see cref="HostKernels"/>) through their launchers, against the CPU
/// references: the same checks the GPU tests make, here on every machine with g++. This is where the noise kernel's
/// transcription of CounterNoise (constants, operation order, fused multiply-adds) is proven bit for bit, and where
/// the launchers' grids, shared-memory sizes and argument order are proven to fit the kernels.
/// </summary>
public sealed class HostEmulatedKernelTests(ITestOutputHelper output)
{
    /// <summary>Skips the test (fails it under CI=true) when g++ cannot build the host emulation.</summary>
    private static void RequireHostKernels() => Requires.Tool(HostKernels.IsAvailable(out string problem), problem);

    [SkippableTheory]
    [InlineData(42UL, 0L, 0, 0L, 4096)]
    [InlineData(0xDEADBEEFCAFEUL, -3L, 2, 5L, 1001)]
    [InlineData(7UL, long.MinValue + 3, 31, Noise.MaxStreamElements - 13, 13)]
    [InlineData(1UL, 123456789012L, 1, 3L, 1)]
    [InlineData(ulong.MaxValue, -1L, 3, 2L, 20001)]
    public void NoiseIsBitIdenticalToCounterNoise(ulong seed, long chunk, int level, long first, int count)
    {
        RequireHostKernels();
        const int guard = 8;
        var out32 = GC.AllocateArray<float>(count + guard, pinned: true);
        var out16 = GC.AllocateArray<ushort>(count + guard, pinned: true);
        var chunkSlot = GC.AllocateArray<long>(1, pinned: true);
        out32.AsSpan().Fill(float.NaN);
        out16.AsSpan().Fill(0x7E7E);
        chunkSlot[0] = unchecked(chunk - 5);
        HostKernels.Run(Noise.Launch(seed, Address(chunkSlot), 5, level, first, count, Address(out32), Address(out16)));

        var expected = new float[count];
        new CounterNoise(seed).Fill(chunk, level, first, expected);
        Assert.Equal(MemoryMarshal.Cast<float, uint>(expected).ToArray(), MemoryMarshal.Cast<float, uint>(out32.AsSpan(0, count)).ToArray());
        Assert.Equal(expected.Select(v => BitConverter.HalfToUInt16Bits((Half)v)), out16.Take(count));
        Assert.All(out32.Skip(count), v => Assert.True(float.IsNaN(v)));
        Assert.All(out16.Skip(count), v => Assert.Equal(0x7E7E, v));
    }

    [SkippableTheory]
    [InlineData(16, 5, 320, 8, 0, AttentionKernel.Warp, "vec8")]      // v1 at RAIN d = 40, 16-byte vectors
    [InlineData(16, 3, 640, 8, 0, AttentionKernel.Warp, "vec8")]      // v1, d = 80
    [InlineData(16, 3, 1280, 8, 0, AttentionKernel.Warp, "vec8")]     // v1, d = 160, two warps per block
    [InlineData(32, 2, 1280, 8, 0, AttentionKernel.Auto, "vec8")]     // F = 32, d = 160: v1 (more than one MMA tile), one warp per block
    [InlineData(16, 5, 320, 8, 2, AttentionKernel.Auto, "vec1")]      // misaligned: v1's scalar path
    [InlineData(3, 7, 32, 8, 0, AttentionKernel.Auto, "vec2")]        // golden d = 4: v1, 4-byte vectors
    [InlineData(5, 13, 15, 3, 0, AttentionKernel.Auto, "vec1")]       // odd d: v1
    [InlineData(16, 5, 320, 8, 0, AttentionKernel.Auto, "mma")]       // v2 at RAIN d = 40 (k padded to 48)
    [InlineData(16, 3, 640, 8, 0, AttentionKernel.Auto, "mma")]       // v2, d = 80
    [InlineData(16, 3, 1280, 8, 0, AttentionKernel.Auto, "mma")]      // v2, d = 160
    [InlineData(7, 5, 64, 8, 0, AttentionKernel.Auto, "mma")]         // v2, golden d = 8, F = 7 (masked key frames)
    [InlineData(1, 9, 320, 8, 0, AttentionKernel.Auto, "mma")]        // v2, a single frame: the output is v
    [InlineData(13, 300, 64, 8, 16, AttentionKernel.Auto, "mma")]     // v2, 2400 pairs on 2048 warps: some loop twice (double buffer)
    public void CrossNoiseAttentionMatchesTheReference(int frames, int tokens, int channels, int heads, int offsetBytes, AttentionKernel kernel, string entry)
    {
        RequireHostKernels();
        var (q, k, v, expected) = AttentionInputs(frames, tokens, channels, heads);
        int count = q.Length;
        // Tensors start 16-byte aligned (as cuMemAlloc's do) plus the offset under test.
        var (dq, iq) = Aligned(q, offsetBytes);
        var (dk, ik) = Aligned(k, offsetBytes);
        var (dv, iv) = Aligned(v, offsetBytes);
        var (dout, io) = Aligned(new ushort[count], offsetBytes);
        dout.AsSpan().Fill(0x7E7E);
        var launch = CrossNoiseAttention.Launch(Address(dq, iq), Address(dk, ik), Address(dv, iv), Address(dout, io), frames, tokens, channels, heads, kernel);
        output.WriteLine(launch.ToString());
        Assert.Equal($"cross_noise_attention_{entry}", launch.EntryPoint);
        HostKernels.Run(launch);
        AssertClose(expected, dout.AsSpan(io, count).ToArray());
        Assert.All(dout.Skip(io + count), x => Assert.Equal(0x7E7E, x));
        Assert.All(dout.Take(io), x => Assert.Equal(0x7E7E, x));
    }

    [SkippableTheory]
    [InlineData(16, 5, 320, 8, 0, "cross_noise_attention_f32_vec4")]   // RAIN d = 40, 16-byte vectors of 4 floats
    [InlineData(16, 3, 1280, 8, 0, "cross_noise_attention_f32_vec4")]  // d = 160: one warp per block (fp32 doubles the q, k, v tiles)
    [InlineData(16, 5, 320, 8, 4, "cross_noise_attention_f32_vec1")]   // 4 bytes off 16-byte alignment: the scalar path
    [InlineData(3, 7, 32, 8, 0, "cross_noise_attention_f32_vec4")]     // golden d = 4
    [InlineData(5, 13, 15, 3, 0, "cross_noise_attention_f32_vec1")]    // odd d
    [InlineData(1, 9, 320, 8, 0, "cross_noise_attention_f32_vec4")]    // a single frame: the output is v
    public void CrossNoiseAttentionOnFloat32StorageMatchesTheReference(int frames, int tokens, int channels, int heads, int offsetBytes, string entry)
    {
        RequireHostKernels();
        int count = frames * tokens * channels;
        var random = new Random((frames * 37) + channels);
        float[] Floats() => [.. Enumerable.Range(0, count).Select(_ => (random.NextSingle() * 4) - 2)];
        float[] q = Floats(), k = Floats(), v = Floats();
        var expected = new float[count];
        CrossNoiseAttention.Reference(q, k, v, expected, frames, tokens, channels, heads);
        var (dq, iq) = AlignedFloats(q, offsetBytes);
        var (dk, ik) = AlignedFloats(k, offsetBytes);
        var (dv, iv) = AlignedFloats(v, offsetBytes);
        var (dout, io) = AlignedFloats(new float[count], offsetBytes);
        dout.AsSpan().Fill(float.NaN);
        var launch = CrossNoiseAttention.Launch(FloatAddress(dq, iq), FloatAddress(dk, ik), FloatAddress(dv, iv), FloatAddress(dout, io), frames, tokens, channels, heads, TensorStorage.Fp32);
        output.WriteLine(launch.ToString());
        Assert.Equal(entry, launch.EntryPoint);
        HostKernels.Run(launch);
        for (int i = 0; i < count; i++)
        {
            // fp32 storage: only the summation order (d ≤ 160 products, F ≤ 32 weights) and exp's last bits differ.
            double bound = 1e-5 + (1e-4 * Math.Abs(expected[i]));
            Assert.True(Math.Abs(dout[io + i] - expected[i]) <= bound, $"[{i}]: {dout[io + i]} vs {expected[i]}");
        }

        Assert.All(dout.Take(io).Concat(dout.Skip(io + count)), x => Assert.True(float.IsNaN(x)));
    }

    [SkippableTheory]
    [InlineData(16, 5, 320, 8)]
    [InlineData(5, 13, 15, 3)]
    public void BaselineAttentionMatchesTheReference(int frames, int tokens, int channels, int heads)
    {
        RequireHostKernels();
        var (q, k, v, expected) = AttentionInputs(frames, tokens, channels, heads);
        int count = q.Length;
        var buffers = Enumerable.Range(0, 8).Select(_ => GC.AllocateArray<ushort>(count, pinned: true)).ToArray();
        q.CopyTo(buffers[0], 0);
        k.CopyTo(buffers[1], 0);
        v.CopyTo(buffers[2], 0);
        buffers[7].AsSpan().Fill(0x7E7E);
        HostKernels.Run(BenchBaseline.ToBatched(Address(buffers[0]), Address(buffers[3]), frames, tokens, channels, heads));
        HostKernels.Run(BenchBaseline.ToBatched(Address(buffers[1]), Address(buffers[4]), frames, tokens, channels, heads));
        HostKernels.Run(BenchBaseline.ToBatched(Address(buffers[2]), Address(buffers[5]), frames, tokens, channels, heads));
        HostKernels.Run(BenchBaseline.BatchedAttention(Address(buffers[3]), Address(buffers[4]), Address(buffers[5]), Address(buffers[6]), frames, tokens, channels, heads));
        HostKernels.Run(BenchBaseline.FromBatched(Address(buffers[6]), Address(buffers[7]), frames, tokens, channels, heads));
        AssertClose(expected, buffers[7]);
    }

    [SkippableTheory]
    [InlineData(3, 4, 257)]
    [InlineData(4, 4, 64)]
    [InlineData(1, 6, 5)]
    public void LcmStepRollMatchesStepRoll(int p, int levels, int e)
    {
        RequireHostKernels();
        var schedule = new LcmSchedule(new StreamConfig { FramesPerLevel = p, Levels = levels, Height = 64, Width = 64 });
        int frames = p * levels;
        var random = new Random(99);
        float[] Rand(int n)
        {
            var a = GC.AllocateArray<float>(n, pinned: true);
            for (int i = 0; i < n; i++)
                a[i] = (float)((random.NextDouble() * 4) - 2);
            return a;
        }

        float[] model = Rand(frames * e), sample = Rand(frames * e), noise = Rand(frames * e), fresh = Rand(p * e);
        var expectedNext = new float[frames * e];
        var expectedDecode = new float[p * e];
        LcmStep.StepRoll(schedule, model, sample, noise, fresh, expectedNext, expectedDecode, e);
        var table = LcmStepRoll.PackCoefficients(schedule.SqrtAlphaProd, schedule.SqrtOneMinusAlphaProd, schedule.COut, schedule.CSkip, schedule.SqrtAlphaProdPrev, schedule.SqrtOneMinusAlphaProdPrev);
        var coefficients = GC.AllocateArray<float>(table.Length, pinned: true);
        table.CopyTo(coefficients, 0);
        var next = GC.AllocateArray<float>(frames * e, pinned: true);
        var decode = GC.AllocateArray<float>(p * e, pinned: true);
        next.AsSpan().Fill(float.NaN);
        decode.AsSpan().Fill(float.NaN);
        HostKernels.Run(LcmStepRoll.Launch(Address(model), Address(sample), Address(noise), Address(fresh), Address(next), Address(decode), Address(coefficients), frames, p, e));
        for (int i = 0; i < next.Length; i++)
            Assert.True(Math.Abs(next[i] - expectedNext[i]) <= 1e-6 + (1e-5 * Math.Abs(expectedNext[i])), $"next[{i}]: {next[i]} vs {expectedNext[i]}");
        for (int i = 0; i < decode.Length; i++)
            Assert.True(Math.Abs(decode[i] - expectedDecode[i]) <= 1e-6 + (1e-5 * Math.Abs(expectedDecode[i])), $"decode[{i}]: {decode[i]} vs {expectedDecode[i]}");
        Assert.Equal(fresh, next.Skip((frames - p) * e));
    }

    [SkippableFact]
    public void FrameConversionIsBitIdenticalBothWays()
    {
        RequireHostKernels();
        const int images = 3, height = 7, width = 13;
        int count = images * height * width * 3;
        var random = new Random(5);
        var rgb = GC.AllocateArray<byte>(count, pinned: true);
        random.NextBytes(rgb);
        var expectedPlanar = new Half[count];
        FrameConversion.Rgb8ToPlanar(rgb, expectedPlanar, images, height, width);
        Half[] specials = [(Half)(-1f), (Half)2f, Half.NaN, Half.NegativeZero, (Half)(127.5f / 255f), (Half)(0.5f / 255f), Half.One, Half.Zero];
        var planar = GC.AllocateArray<Half>(count, pinned: true);
        for (int i = 0; i < count; i++)
            planar[i] = i % 5 == 0 ? specials[i / 5 % specials.Length] : (Half)random.NextSingle();
        var expectedRgb = new byte[count];
        FrameConversion.PlanarToRgb8(planar, expectedRgb, images, height, width);

        var gotPlanar = GC.AllocateArray<ushort>(count, pinned: true);
        var gotRgb = GC.AllocateArray<byte>(count, pinned: true);
        gotPlanar.AsSpan().Fill(0x7E7E);
        gotRgb.AsSpan().Fill(0xA5);
        HostKernels.Run(FrameConversion.Rgb8ToPlanarLaunch(Address(rgb), Address(gotPlanar), images, height, width));
        HostKernels.Run(FrameConversion.PlanarToRgb8Launch(Address(planar), Address(gotRgb), images, height, width));
        Assert.Equal(expectedPlanar.Select(BitConverter.HalfToUInt16Bits), gotPlanar);
        Assert.Equal(expectedRgb, gotRgb);
    }

    [SkippableFact]
    public void FrameConversionForTensorRtIoIsBitIdenticalToTheCpuEngine()
    {
        RequireHostKernels();
        const int images = 3, height = 7, width = 13;
        int plane = height * width, count = images * plane * 3;
        var random = new Random(8);
        var rgb = GC.AllocateArray<byte>(count, pinned: true);
        random.NextBytes(rgb);
        // The pose guider's uint8 planar input: the transpose the CPU engine does in CpuStreamer.
        var expectedU8 = new byte[count];
        for (int i = 0; i < images; i++)
        {
            for (int p = 0; p < plane; p++)
            {
                for (int c = 0; c < 3; c++)
                    expectedU8[(i * 3 * plane) + (c * plane) + p] = rgb[(((i * plane) + p) * 3) + c];
            }
        }

        var gotU8 = GC.AllocateArray<byte>(count, pinned: true);
        gotU8.AsSpan().Fill(0xA5);
        HostKernels.Run(FrameConversion.Rgb8ToPlanarU8Launch(Address(rgb), Address(gotU8), images, height, width));
        Assert.Equal(expectedU8, gotU8);
        var referenceU8 = new byte[count];
        FrameConversion.Rgb8ToPlanar(rgb, referenceU8, images, height, width);
        Assert.Equal(expectedU8, referenceU8);

        // The decoder's float32 planar frames to RGB8: the CPU engine's Preprocess.FrameToRgb per frame is the oracle.
        float[] specials = [-1f, 2f, float.NaN, -0f, 127.5f / 255f, 0.5f / 255f, 1f, 0f, float.PositiveInfinity, float.NegativeInfinity, 254.5f / 255f];
        var planar = GC.AllocateArray<float>(count, pinned: true);
        for (int i = 0; i < count; i++)
            planar[i] = i % 4 == 0 ? specials[i / 4 % specials.Length] : (random.NextSingle() * 1.2f) - 0.1f;
        var expectedRgb = new byte[count];
        for (int i = 0; i < images; i++)
            Rain.Engine.Media.Preprocess.FrameToRgb(planar.AsSpan(i * 3 * plane, 3 * plane), width, height, expectedRgb.AsSpan(i * 3 * plane, 3 * plane));
        var gotRgb = GC.AllocateArray<byte>(count, pinned: true);
        gotRgb.AsSpan().Fill(0xA5);
        HostKernels.Run(FrameConversion.PlanarF32ToRgb8Launch(Address(planar), Address(gotRgb), images, height, width));
        Assert.Equal(expectedRgb, gotRgb);
        var referenceRgb = new byte[count];
        FrameConversion.PlanarToRgb8((ReadOnlySpan<float>)planar, referenceRgb, images, height, width);
        Assert.Equal(expectedRgb, referenceRgb);
    }

    private static (ushort[] Q, ushort[] K, ushort[] V, float[] Expected) AttentionInputs(int frames, int tokens, int channels, int heads)
    {
        int count = frames * tokens * channels;
        var random = new Random((frames * 31) + channels);
        ushort[] Halves() => [.. Enumerable.Range(0, count).Select(_ => BitConverter.HalfToUInt16Bits((Half)((random.NextSingle() * 4) - 2)))];
        ushort[] q = Halves(), k = Halves(), v = Halves();
        var expected = new float[count];
        CrossNoiseAttention.Reference(ToFloats(q), ToFloats(k), ToFloats(v), expected, frames, tokens, channels, heads);
        return (q, k, v, expected);
    }

    private static void AssertClose(float[] expected, ushort[] actualHalves)
    {
        var actual = ToFloats(actualHalves);
        for (int i = 0; i < expected.Length; i++)
        {
            // fp16 output rounding (2^-11 relative), a different summation order and, for v2, the probabilities rounded to
            // fp16 before P·V (2^-11 relative on each weight: at most 2^-11·Σ|p·v| ≤ 1e-3 for |v| ≤ 2).
            double bound = 2e-3 + (2e-3 * Math.Abs(expected[i]));
            Assert.True(Math.Abs(actual[i] - expected[i]) <= bound, $"[{i}]: {actual[i]} vs {expected[i]}");
        }
    }

    private static float[] ToFloats(ushort[] halves) => [.. halves.Select(h => (float)BitConverter.UInt16BitsToHalf(h))];

    /// <summary>A pinned copy of <paramref name="values"/> whose element <c>start</c> sits <paramref name="offsetBytes"/> past a 16-byte boundary.</summary>
    private static (ushort[] Array, int Start) Aligned(ushort[] values, int offsetBytes)
    {
        var a = GC.AllocateArray<ushort>(values.Length + 16, pinned: true);
        ulong address = Address(a);
        int start = (int)((16 - (address % 16)) % 16 / 2) + (offsetBytes / 2);
        values.CopyTo(a, start);
        return (a, start);
    }

    /// <summary>A pinned copy of <paramref name="values"/> whose element <c>start</c> sits <paramref name="offsetBytes"/> past a 16-byte boundary.</summary>
    private static (float[] Array, int Start) AlignedFloats(float[] values, int offsetBytes)
    {
        var a = GC.AllocateArray<float>(values.Length + 8, pinned: true);
        a.AsSpan().Fill(float.NaN);
        ulong address = Address(a);
        int start = (int)((16 - (address % 16)) % 16 / 4) + (offsetBytes / 4);
        values.CopyTo(a, start);
        return (a, start);
    }

    private static ulong FloatAddress(float[] pinnedArray, int index) => Address(pinnedArray) + ((ulong)index * 4);

    private static ulong Address(ushort[] pinnedArray, int index) => Address(pinnedArray) + ((ulong)index * 2);

    private static unsafe ulong Address<T>(T[] pinnedArray)
        where T : unmanaged => (ulong)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinnedArray));
}

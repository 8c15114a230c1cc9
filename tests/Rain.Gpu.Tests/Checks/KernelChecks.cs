using System.Runtime.InteropServices;
using Rain.Engine.Backends.Cuda;
using Rain.Engine.Streaming;
using Rain.Kernels;

namespace Rain.Gpu.Checks;

/// <summary>
/// Every kernel against its CPU reference on random inputs, odd sizes and poisoned outputs (filled with NaN first, so
/// an element the kernel forgot shows). Each check throws <see cref="CheckFailedException"/> and returns a one-line summary.
/// </summary>
public static class KernelChecks
{
    private const uint NaN32 = 0x7FC00000;
    private const ushort NaN16 = 0x7E00;

    /// <summary>The attention shapes checked: (F, N, C, heads). RAIN's head sizes 40/80/160 and the golden d = 4, 8, plus odd ones.</summary>
    public static readonly (int F, int N, int C, int Heads)[] AttentionShapes =
    [
        (16, 37, 320, 8), (16, 19, 640, 8), (16, 11, 1280, 8), (16, 300, 320, 8), (32, 5, 320, 8), (1, 9, 320, 8), (3, 33, 32, 8), (7, 21, 64, 8), (5, 13, 15, 3), (32, 3, 1280, 8),
    ];

    public static string Noise(CudaDevice device)
    {
        using var kernels = new CudaKernels(device);
        using var stream = device.CreateStream();
        using var chunkSlot = device.Allocate(sizeof(long));
        (ulong Seed, long Chunk, int Level, long First, int Count)[] cases =
        [
            (42, 0, 0, 0, 4096), (0xDEADBEEFCAFEUL, -3, 2, 5, 1001), (7, long.MinValue + 3, 31, Noise.MaxStreamElements - 13, 13),
            (1, 123456789012, 1, 3, 1), (ulong.MaxValue, -1, 3, 2, 70001),
        ];
        long total = 0;
        foreach (var (seed, chunk, level, first, count) in cases)
        {
            const int guard = 8;
            using var out32 = device.Allocate((count + guard) * 4L);
            using var out16 = device.Allocate((count + guard) * 2L);
            out32.Fill32(NaN32);
            out16.Fill(0x7E);
            // The chunk is base + offset: exercise the addition with a base other than the chunk itself.
            chunkSlot.Upload<long>([unchecked(chunk - 5)]);
            kernels.Launch(stream, Noise.Launch(seed, chunkSlot.Address, 5, level, first, count, out32.Address, out16.Address));
            stream.Synchronize();

            var expected = new float[count];
            new CounterNoise(seed).Fill(chunk, level, first, expected);
            var got32 = new float[count + guard];
            var got16 = new ushort[count + guard];
            out32.Download<float>(got32);
            out16.Download<ushort>(got16);
            string what = $"noise(seed {seed}, chunk {chunk}, level {level}, first {first}, count {count})";
            Compare.Bits(what + " fp32", expected, got32.AsSpan(0, count));
            var expected16 = expected.Select(v => BitConverter.HalfToUInt16Bits((Half)v)).ToArray();
            Compare.Identical(what + " fp16", expected16, got16.AsSpan(0, count));
            if (MemoryMarshal.Cast<float, uint>(got32.AsSpan(count)).ContainsAnyExcept(NaN32) || got16.AsSpan(count).ContainsAnyExcept((ushort)0x7E7E))
                throw new CheckFailedException(what + ": wrote past the requested elements.");
            total += count;
        }

        return $"noise: {total} values in {cases.Length} streams bit-identical to CounterNoise (fp32 and fp16)";
    }

    public static string Attention(CudaDevice device, bool baseline = false)
    {
        using var kernels = new CudaKernels(device);
        using var stream = device.CreateStream();
        var random = new Random(1234);
        double worst = 0;
        var entries = new List<string>();
        foreach (var (frames, tokens, channels, heads) in AttentionShapes)
        {
            int count = frames * tokens * channels;
            var q = RandomHalves(random, count);
            var k = RandomHalves(random, count);
            var v = RandomHalves(random, count);
            var expected = new float[count];
            CrossNoiseAttention.Reference(ToFloats(q), ToFloats(k), ToFloats(v), expected, frames, tokens, channels, heads);

            // offset 0: v2 (tensor cores) where the shape allows, and v1's widest vector path; offset 2 bytes: misaligned,
            // v1's scalar path.
            foreach (var (offset, kernel) in baseline ? [(0, AttentionKernel.Auto)] : new[] { (0, AttentionKernel.Auto), (0, AttentionKernel.Warp), (2, AttentionKernel.Auto) })
            {
                long bytes = (count * 2L) + 16;
                using var dq = device.Allocate(bytes);
                using var dk = device.Allocate(bytes);
                using var dv = device.Allocate(bytes);
                using var dout = device.Allocate(bytes);
                ulong o = (ulong)offset;
                Upload(dq, o, q);
                Upload(dk, o, k);
                Upload(dv, o, v);
                dout.Fill(0x7E); // 0x7E7E is a NaN half
                if (baseline)
                {
                    using var bq = device.Allocate(bytes);
                    using var bk = device.Allocate(bytes);
                    using var bv = device.Allocate(bytes);
                    using var bo = device.Allocate(bytes);
                    kernels.Launch(stream, BenchBaseline.ToBatched(dq.Address, bq.Address, frames, tokens, channels, heads));
                    kernels.Launch(stream, BenchBaseline.ToBatched(dk.Address, bk.Address, frames, tokens, channels, heads));
                    kernels.Launch(stream, BenchBaseline.ToBatched(dv.Address, bv.Address, frames, tokens, channels, heads));
                    kernels.Launch(stream, BenchBaseline.BatchedAttention(bq.Address, bk.Address, bv.Address, bo.Address, frames, tokens, channels, heads));
                    kernels.Launch(stream, BenchBaseline.FromBatched(bo.Address, dout.Address, frames, tokens, channels, heads));
                    stream.Synchronize();
                }
                else
                {
                    var launch = CrossNoiseAttention.Launch(dq.Address + o, dk.Address + o, dv.Address + o, dout.Address + o, frames, tokens, channels, heads, kernel);
                    entries.Add(launch.EntryPoint);
                    kernels.Launch(stream, launch);
                    stream.Synchronize();
                }

                var got = new ushort[(bytes / 2)];
                dout.Download<ushort>(got);
                var actual = ToFloats(got.AsSpan(offset / 2, count).ToArray());
                // fp16 inputs are exact in the reference; the output's fp16 rounding (2^-11 relative), the summation order
                // and (v2) the fp16 probabilities of P·V differ.
                string what = $"{(baseline ? "baseline " : "")}attention F={frames} N={tokens} C={channels} heads={heads} offset={offset} {kernel}";
                worst = Math.Max(worst, Compare.Close(what, expected, actual, 2e-3, 2e-3));
                if (got.AsSpan((offset / 2) + count).ContainsAnyExcept((ushort)0x7E7E))
                    throw new CheckFailedException(what + ": wrote past the output.");
            }
        }

        return $"{(baseline ? "baseline attention" : "cross_noise_attention")}: {AttentionShapes.Length} shapes{(baseline ? "" : $" × {{v2, v1 vector, v1 scalar}} ({string.Join(", ", entries.Distinct().Order(StringComparer.Ordinal))})")} within 2e-3 of the CPU reference (max |err| {worst:E2})";
    }

    /// <summary>The fp32-storage attention (TensorRT's float32 I/O) on the shapes that fit its shared memory, vector and scalar paths.</summary>
    public static string AttentionFloat32(CudaDevice device)
    {
        using var kernels = new CudaKernels(device);
        using var stream = device.CreateStream();
        var random = new Random(4321);
        double worst = 0;
        int shapes = 0;
        foreach (var (frames, tokens, channels, heads) in AttentionShapes.Where(s => CrossNoiseAttention.WarpSharedBytes(s.F, s.C / s.Heads, 4) <= CrossNoiseAttention.SharedBytesLimit))
        {
            shapes++;
            int count = frames * tokens * channels;
            float[] Floats() => [.. Enumerable.Range(0, count).Select(_ => (random.NextSingle() * 4) - 2)];
            float[] q = Floats(), k = Floats(), v = Floats();
            var expected = new float[count];
            CrossNoiseAttention.Reference(q, k, v, expected, frames, tokens, channels, heads);
            foreach (int offset in new[] { 0, 4 })
            {
                long bytes = (count * 4L) + 16;
                using var dq = device.Allocate(bytes);
                using var dk = device.Allocate(bytes);
                using var dv = device.Allocate(bytes);
                using var dout = device.Allocate(bytes);
                ulong o = (ulong)offset;
                UploadFloats(dq, o, q);
                UploadFloats(dk, o, k);
                UploadFloats(dv, o, v);
                dout.Fill32(NaN32);
                kernels.Launch(stream, CrossNoiseAttention.Launch(dq.Address + o, dk.Address + o, dv.Address + o, dout.Address + o, frames, tokens, channels, heads, TensorStorage.Fp32));
                stream.Synchronize();
                var got = new float[bytes / 4];
                dout.Download<float>(got);
                // fp32 storage: only the summation order and exp's last bits differ from the reference.
                string what = $"fp32 attention F={frames} N={tokens} C={channels} heads={heads} offset={offset}";
                worst = Math.Max(worst, Compare.Close(what, expected, got.AsSpan(offset / 4, count).ToArray(), 1e-5, 1e-4));
                if (MemoryMarshal.Cast<float, uint>(got.AsSpan((offset / 4) + count)).ContainsAnyExcept(NaN32))
                    throw new CheckFailedException(what + ": wrote past the output.");
            }
        }

        return $"cross_noise_attention (fp32 storage): {shapes} shapes × {{vector, scalar}} paths within 1e-5 + 1e-4·|x| of the CPU reference (max |err| {worst:E2})";
    }

    private static void UploadFloats(DeviceBuffer buffer, ulong offset, float[] values)
    {
        var staging = new byte[buffer.Bytes];
        MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(staging.AsSpan((int)offset));
        buffer.Upload<byte>(staging);
    }

    public static string LcmStepRoll(CudaDevice device)
    {
        using var kernels = new CudaKernels(device);
        using var stream = device.CreateStream();
        var schedule = new LcmSchedule(new StreamConfig { FramesPerLevel = 3, Levels = 4, Height = 64, Width = 64 });
        int frames = schedule.Config.Frames, p = schedule.Config.FramesPerLevel;
        const int e = 257; // odd on purpose: the kernel does not assume the latent shape
        var random = new Random(99);
        float[] Rand(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 4) - 2))];
        var model = Rand(frames * e);
        var sample = Rand(frames * e);
        var noise = Rand(frames * e);
        var newNoise = Rand(p * e);
        var expectedNext = new float[frames * e];
        var expectedDecode = new float[p * e];
        LcmStep.StepRoll(schedule, model, sample, noise, newNoise, expectedNext, expectedDecode, e);

        using var dModel = Up(device, model);
        using var dSample = Up(device, sample);
        using var dNoise = Up(device, noise);
        using var dNew = Up(device, newNoise);
        using var dCoef = Up(device, LcmStepRoll.PackCoefficients(schedule.SqrtAlphaProd, schedule.SqrtOneMinusAlphaProd, schedule.COut, schedule.CSkip, schedule.SqrtAlphaProdPrev, schedule.SqrtOneMinusAlphaProdPrev));
        using var dNext = device.Allocate(frames * e * 4L);
        using var dDecode = device.Allocate(p * e * 4L);
        dNext.Fill32(NaN32);
        dDecode.Fill32(NaN32);
        kernels.Launch(stream, LcmStepRoll.Launch(dModel.Address, dSample.Address, dNoise.Address, dNew.Address, dNext.Address, dDecode.Address, dCoef.Address, frames, p, e));
        stream.Synchronize();
        var next = new float[frames * e];
        var decode = new float[p * e];
        dNext.Download<float>(next);
        dDecode.Download<float>(decode);
        // Separate versus fused rounding of the CPU's vector multiply-add: a few ulp.
        double a = Compare.Close("lcm_step_roll nextSample", expectedNext, next, 1e-6, 1e-5);
        double b = Compare.Close("lcm_step_roll decodeInput", expectedDecode, decode, 1e-6, 1e-5);
        Compare.Bits("lcm_step_roll new noise slots", newNoise, next.AsSpan((frames - p) * e));
        return $"lcm_step_roll: F={frames} p={p} E={e} matches LcmStep.StepRoll (max |err| {Math.Max(a, b):E2}; new-noise slots exact)";
    }

    public static string FrameConversion(CudaDevice device)
    {
        using var kernels = new CudaKernels(device);
        using var stream = device.CreateStream();
        const int images = 3, height = 7, width = 13;
        int count = images * height * width * 3;
        var random = new Random(5);
        var rgb = new byte[count];
        random.NextBytes(rgb);
        var expectedPlanar = new Half[count];
        Rain.Kernels.FrameConversion.Rgb8ToPlanar(rgb, expectedPlanar, images, height, width);

        // Planar values for the way out: every byte's own value, midpoints, out of range, NaN, ±0.
        Half[] specials = [(Half)(-1f), (Half)2f, Half.NaN, Half.NegativeZero, (Half)(127.5f / 255f), (Half)(0.5f / 255f), Half.One, Half.Zero];
        var planar = Enumerable.Range(0, count).Select(i => i % 5 == 0 ? specials[i / 5 % specials.Length] : (Half)random.NextSingle()).ToArray();
        var expectedRgb = new byte[count];
        Rain.Kernels.FrameConversion.PlanarToRgb8(planar, expectedRgb, images, height, width);

        using var dRgb = device.Allocate(count);
        using var dPlanar = device.Allocate(count * 2L);
        using var dPlanarIn = device.Allocate(count * 2L);
        using var dRgbOut = device.Allocate(count);
        dRgb.Upload<byte>(rgb);
        dPlanarIn.Upload<Half>(planar);
        dPlanar.Fill(0x7E);
        dRgbOut.Fill(0xA5);
        kernels.Launch(stream, Rain.Kernels.FrameConversion.Rgb8ToPlanarLaunch(dRgb.Address, dPlanar.Address, images, height, width));
        kernels.Launch(stream, Rain.Kernels.FrameConversion.PlanarToRgb8Launch(dPlanarIn.Address, dRgbOut.Address, images, height, width));
        stream.Synchronize();
        var gotPlanar = new ushort[count];
        var gotRgb = new byte[count];
        dPlanar.Download<ushort>(gotPlanar);
        dRgbOut.Download<byte>(gotRgb);
        Compare.Identical("rgb8_to_planar_f16", expectedPlanar.Select(BitConverter.HalfToUInt16Bits).ToArray(), gotPlanar);
        Compare.Identical("planar_f16_to_rgb8", expectedRgb, gotRgb);

        // The TensorRT I/O variants: uint8 planar pose images in, float32 planar frames out.
        var expectedU8 = new byte[count];
        Rain.Kernels.FrameConversion.Rgb8ToPlanar(rgb, expectedU8, images, height, width);
        float[] specials32 = [-1f, 2f, float.NaN, -0f, 127.5f / 255f, 0.5f / 255f, 1f, 0f, float.PositiveInfinity];
        var planar32 = Enumerable.Range(0, count).Select(i => i % 5 == 0 ? specials32[i / 5 % specials32.Length] : random.NextSingle()).ToArray();
        var expectedRgb32 = new byte[count];
        Rain.Kernels.FrameConversion.PlanarToRgb8((ReadOnlySpan<float>)planar32, expectedRgb32, images, height, width);
        using var dU8 = device.Allocate(count);
        using var dPlanar32 = device.Allocate(count * 4L);
        dPlanar32.Upload<float>(planar32);
        dU8.Fill(0xA5);
        dRgbOut.Fill(0xA5);
        kernels.Launch(stream, Rain.Kernels.FrameConversion.Rgb8ToPlanarU8Launch(dRgb.Address, dU8.Address, images, height, width));
        kernels.Launch(stream, Rain.Kernels.FrameConversion.PlanarF32ToRgb8Launch(dPlanar32.Address, dRgbOut.Address, images, height, width));
        stream.Synchronize();
        var gotU8 = new byte[count];
        dU8.Download<byte>(gotU8);
        dRgbOut.Download<byte>(gotRgb);
        Compare.Identical("rgb8_to_planar_u8", expectedU8, gotU8);
        Compare.Identical("planar_f32_to_rgb8", expectedRgb32, gotRgb);
        return $"frame conversion: {images}×{height}×{width} both ways (fp16; uint8 in, fp32 out) bit-identical to the CPU reference";
    }

    internal static DeviceBuffer Up<T>(CudaDevice device, T[] values)
        where T : unmanaged
    {
        var buffer = device.Allocate((long)values.Length * Marshal.SizeOf<T>());
        buffer.Upload<T>(values);
        return buffer;
    }

    internal static ushort[] RandomHalves(Random random, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => BitConverter.HalfToUInt16Bits((Half)((random.NextSingle() * 4) - 2)))];

    internal static float[] ToFloats(ushort[] halves) => [.. halves.Select(h => (float)BitConverter.UInt16BitsToHalf(h))];

    private static void Upload(DeviceBuffer buffer, ulong offset, ushort[] values)
    {
        var bytes = new byte[offset + ((ulong)values.Length * 2)];
        MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(bytes.AsSpan((int)offset));
        buffer.Upload<byte>(bytes);
    }
}

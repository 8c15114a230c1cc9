using Rain.Engine.Streaming;

namespace Rain.Kernels.Cases;

/// <summary>A row of <see cref="KernelCases.All"/>: its name and group, and how to build it (inputs and references are computed on demand).</summary>
/// <param name="Op">The op.</param>
/// <param name="Group">The check it belongs to.</param>
/// <param name="Name">Unique name.</param>
/// <param name="Create">Builds the case.</param>
public sealed record KernelCaseRow(string Op, string Group, string Name, Func<KernelCase> Create);

/// <summary>
/// The kernel test table: every op of <c>kernels/*.cu</c>, at RAIN's shapes, the golden bundle's, odd ones and
/// misaligned tensors, against the op's CPU reference (<c>Reference</c> beside its <c>Launch</c> in Rain.Kernels),
/// bit-exact where the kernel is built to be (noise, frame conversion) and within a stated tolerance elsewhere. The same
/// rows run on every executor: the host emulation of the kernels (Rain.Kernels.Tests), the fake CUDA driver (the GPU
/// check console under Rain.Engine.Tests' FakeCudaDriverTests) and a real GPU (Rain.Gpu.Tests, bench/gpu-check.sh).
/// </summary>
public static class KernelCases
{
    /// <summary>fp16 attention: the output's fp16 rounding (2^-11 relative), another summation order and, for v2, the probabilities rounded to fp16 before P·V (≤ 2^-11·Σ|p·v| ≤ 1e-3 for |v| ≤ 2).</summary>
    public static readonly Match AttentionFp16 = Match.Close(2e-3, 2e-3);

    /// <summary>fp32-storage attention: only the summation order (d ≤ 160 products, F ≤ 32 weights) and exp's last bits differ.</summary>
    public static readonly Match AttentionFp32 = Match.Close(1e-5, 1e-4);

    /// <summary>lcm_step_roll: separate versus fused rounding of the CPU's vector multiply-add, a few ulp.</summary>
    public static readonly Match StepRoll = Match.Close(1e-6, 1e-5);

    /// <summary>The attention shapes (F, N, C, heads): RAIN's head sizes 40/80/160, the golden d = 4 and 8, F = 1 and 32, odd d and odd N.</summary>
    public static readonly (int F, int N, int C, int Heads)[] AttentionShapes =
    [
        (16, 37, 320, 8), (16, 19, 640, 8), (16, 11, 1280, 8), (16, 300, 320, 8), (32, 5, 320, 8), (1, 9, 320, 8), (3, 33, 32, 8), (7, 21, 64, 8), (5, 13, 15, 3), (32, 3, 1280, 8),
    ];

    /// <summary>Every row, in table order.</summary>
    public static IReadOnlyList<KernelCaseRow> All { get; } = Build();

    /// <summary>The row named <paramref name="name"/>.</summary>
    public static KernelCaseRow Named(string name) => All.Single(r => r.Name == name);

    private static KernelCaseRow[] Build()
    {
        var rows = new List<KernelCaseRow>();

        // noise: (seed, chunk, level, first element, count, fp32 output offset, fp16 output offset); −1 = that output not requested.
        (ulong, long, int, long, int, int, int)[] noise =
        [
            (42, 0, 0, 0, 4096, 0, 0), (0xDEADBEEFCAFEUL, -3, 2, 5, 1001, 0, 0), (7, long.MinValue + 3, 31, Noise.MaxStreamElements - 13, 13, 0, 0),
            (1, 123456789012, 1, 3, 1, 0, 0), (ulong.MaxValue, -1, 3, 2, 20001, 0, 0), (ulong.MaxValue, -1, 3, 2, 70001, 0, 0),
            (0xDEADBEEFCAFEUL, -3, 2, 5, 1001, 4, 6), (99, 17, 1, 6, 999, 0, -1), (99, 17, 1, 6, 999, -1, 2),
        ];
        foreach (var (seed, chunk, level, first, count, off32, off16) in noise)
        {
            string name = $"noise seed={seed} chunk={chunk} level={level} first={first} count={count} fp32@{Offset(off32)} fp16@{Offset(off16)}";
            rows.Add(new(Noise.Op, "noise", name, () => NoiseCase(name, seed, chunk, level, first, count, off32, off16)));
        }

        // cross_noise_attention, fp16: every shape as v2 (tensor cores) where it applies else v1's widest vector (Auto),
        // as v1 (Warp) and misaligned by 2 bytes (v1's scalar path); then rows that pin the launcher's choice.
        var fp16 = new List<(int F, int N, int C, int H, int Off, AttentionKernel Kernel, string? Entry)>();
        foreach (var (f, n, c, h) in AttentionShapes)
            fp16.AddRange([(f, n, c, h, 0, AttentionKernel.Auto, null), (f, n, c, h, 0, AttentionKernel.Warp, null), (f, n, c, h, 2, AttentionKernel.Auto, "vec1")]);
        fp16.AddRange(
        [
            (16, 5, 320, 8, 0, AttentionKernel.Warp, "vec8"),    // v1 at RAIN d = 40, 16-byte vectors
            (16, 3, 640, 8, 0, AttentionKernel.Warp, "vec8"),    // v1, d = 80
            (16, 3, 1280, 8, 0, AttentionKernel.Warp, "vec8"),   // v1, d = 160, two warps per block
            (32, 2, 1280, 8, 0, AttentionKernel.Auto, "vec8"),   // F = 32, d = 160: v1 (more than one MMA tile), one warp per block
            (16, 5, 320, 8, 2, AttentionKernel.Auto, "vec1"),    // misaligned: v1's scalar path
            (3, 7, 32, 8, 0, AttentionKernel.Auto, "vec2"),      // golden d = 4: v1, 4-byte vectors
            (16, 5, 320, 8, 0, AttentionKernel.Auto, "mma"),     // v2 at RAIN d = 40 (k padded to 48)
            (16, 3, 640, 8, 0, AttentionKernel.Auto, "mma"),     // v2, d = 80
            (16, 3, 1280, 8, 0, AttentionKernel.Auto, "mma"),    // v2, d = 160
            (7, 5, 64, 8, 0, AttentionKernel.Auto, "mma"),       // v2, golden d = 8, F = 7 (masked key frames)
            (1, 9, 320, 8, 0, AttentionKernel.TensorCore, "mma"), // v2, a single frame: the output is v
            (5, 13, 15, 3, 0, AttentionKernel.Auto, "vec1"),     // odd d: v1
            (13, 300, 64, 8, 0, AttentionKernel.Auto, "mma"),    // v2, 2400 pairs on 2048 warps: some loop twice (double buffer)
        ]);
        // A shape listed twice runs once, as the row that pins the entry point.
        foreach (var (f, n, c, h, off, kernel, entry) in fp16.GroupBy(r => (r.F, r.N, r.C, r.H, r.Off, r.Kernel)).Select(g => g.OrderBy(r => r.Entry is null).First()))
        {
            string name = $"cross_noise_attention F={f} N={n} C={c} heads={h} {kernel} @{off}";
            rows.Add(new(CrossNoiseAttention.Op, "cross_noise_attention", name, () => AttentionCase(name, f, n, c, h, off, kernel, entry is null ? null : $"cross_noise_attention_{entry}")));
        }

        // cross_noise_attention, fp32 storage (TensorRT's float32 I/O): the shapes whose q, k, v fit a warp's shared
        // memory, aligned (4-float vectors where d allows) and 4 bytes off (the scalar path).
        var fp32 = new List<(int F, int N, int C, int H, int Off, string? Entry)>();
        foreach (var (f, n, c, h) in AttentionShapes.Where(s => CrossNoiseAttention.WarpSharedBytes(s.F, s.C / s.Heads, 4) <= CrossNoiseAttention.SharedBytesLimit))
            fp32.AddRange([(f, n, c, h, 0, null), (f, n, c, h, 4, "vec1")]);
        fp32.AddRange(
        [
            (16, 5, 320, 8, 0, "vec4"),   // RAIN d = 40, 16-byte vectors of 4 floats
            (16, 3, 1280, 8, 0, "vec4"),  // d = 160: one warp per block (fp32 doubles the q, k, v tiles)
            (16, 5, 320, 8, 4, "vec1"),   // 4 bytes off 16-byte alignment: the scalar path
            (3, 7, 32, 8, 0, "vec4"),     // golden d = 4
            (5, 13, 15, 3, 0, "vec1"),    // odd d
            (1, 9, 320, 8, 0, "vec4"),    // a single frame: the output is v
        ]);
        foreach (var (f, n, c, h, off, entry) in fp32.GroupBy(r => (r.F, r.N, r.C, r.H, r.Off)).Select(g => g.OrderBy(r => r.Entry is null).First()))
        {
            string name = $"cross_noise_attention fp32 F={f} N={n} C={c} heads={h} @{off}";
            rows.Add(new(CrossNoiseAttention.Op, "cross_noise_attention fp32", name, () => AttentionFp32Case(name, f, n, c, h, off, entry is null ? null : $"cross_noise_attention_f32_{entry}")));
        }

        // bench_baseline: the permute, batched attention, permute back pipeline against the same reference.
        foreach (var (f, n, c, h) in AttentionShapes.Append((16, 5, 320, 8)).Distinct())
        {
            string name = $"bench_baseline F={f} N={n} C={c} heads={h}";
            rows.Add(new(BenchBaseline.Op, "bench_baseline", name, () => BaselineCase(name, f, n, c, h)));
        }

        // lcm_step_roll: (p, levels, E, offset); E odd on purpose (the kernel does not assume the latent shape).
        foreach (var (p, levels, e, off) in new[] { (3, 4, 257, 0), (4, 4, 64, 0), (2, 3, 37, 0), (1, 6, 5, 0), (3, 4, 257, 4) })
        {
            string name = $"lcm_step_roll p={p} levels={levels} E={e} @{off}";
            rows.Add(new(LcmStepRoll.Op, "lcm_step_roll", name, () => StepRollCase(name, p, levels, e, off)));
        }

        // frame_convert: each entry point at an odd shape, aligned and misaligned.
        foreach (var (images, height, width, offRgb, offPlanar) in new[] { (3, 7, 13, 0, 0), (2, 5, 3, 3, 4) })
        {
            foreach (string entry in new[] { "rgb8_to_planar_f16", "planar_f16_to_rgb8", "rgb8_to_planar_u8", "planar_f32_to_rgb8" })
            {
                string name = $"frame_convert {entry} {images}×{height}×{width} rgb@{offRgb} planar@{offPlanar}";
                rows.Add(new(FrameConversion.Op, "frame_convert", name, () => FrameCase(name, entry, images, height, width, offRgb, offPlanar)));
            }
        }

        return [.. rows];
    }

    private static string Offset(int offset) => offset < 0 ? "none" : offset.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static KernelCase NoiseCase(string name, ulong seed, long chunk, int level, long first, int count, int off32, int off16)
    {
        var expected = new float[count];
        Noise.Reference(seed, chunk, level, first, expected);
        var expected16 = expected.Select(v => (Half)v).ToArray();
        // The chunk is *base + offset: exercise the addition with a base other than the chunk itself.
        var tensors = new List<CaseTensor> { CaseTensor.In("chunkBase", new[] { unchecked(chunk - 5) }) };
        if (off32 >= 0)
            tensors.Add(CaseTensor.Out("output32", expected, off32));
        if (off16 >= 0)
            tensors.Add(CaseTensor.Out("output16", expected16, off16));
        return new(Noise.Op, "noise", name, tensors, a => [Noise.Launch(seed, a[0], 5, level, first, count, off32 >= 0 ? a[1] : 0, off16 >= 0 ? a[^1] : 0)], "noise");
    }

    private static (Half[] Q, Half[] K, Half[] V, float[] Expected) AttentionInputs(int f, int n, int c, int h)
    {
        int count = f * n * c;
        var random = new Random((f * 31) + (c * 7) + n);
        Half[] Halves() => [.. Enumerable.Range(0, count).Select(_ => (Half)((random.NextSingle() * 4) - 2))];
        Half[] q = Halves(), k = Halves(), v = Halves();
        var expected = new float[count];
        // fp16 inputs are exact in float32: the reference sees exactly what the kernel reads.
        CrossNoiseAttention.Reference(Compare.Widen(q), Compare.Widen(k), Compare.Widen(v), expected, f, n, c, h);
        return (q, k, v, expected);
    }

    private static KernelCase AttentionCase(string name, int f, int n, int c, int h, int off, AttentionKernel kernel, string? entry)
    {
        var (q, k, v, expected) = AttentionInputs(f, n, c, h);
        return new(CrossNoiseAttention.Op, "cross_noise_attention", name,
            [CaseTensor.In("q", q, off), CaseTensor.In("k", k, off), CaseTensor.In("v", v, off), CaseTensor.OutF16("out", expected, off, AttentionFp16)],
            a => [CrossNoiseAttention.Launch(a[0], a[1], a[2], a[3], f, n, c, h, kernel)], entry);
    }

    private static KernelCase AttentionFp32Case(string name, int f, int n, int c, int h, int off, string? entry)
    {
        int count = f * n * c;
        var random = new Random((f * 37) + c + n);
        float[] Floats() => [.. Enumerable.Range(0, count).Select(_ => (random.NextSingle() * 4) - 2)];
        float[] q = Floats(), k = Floats(), v = Floats();
        var expected = new float[count];
        CrossNoiseAttention.Reference(q, k, v, expected, f, n, c, h);
        return new(CrossNoiseAttention.Op, "cross_noise_attention fp32", name,
            [CaseTensor.In("q", q, off), CaseTensor.In("k", k, off), CaseTensor.In("v", v, off), CaseTensor.Out("out", expected, off, AttentionFp32)],
            a => [CrossNoiseAttention.Launch(a[0], a[1], a[2], a[3], f, n, c, h, TensorStorage.Fp32)], entry);
    }

    private static KernelCase BaselineCase(string name, int f, int n, int c, int h)
    {
        var (q, k, v, expected) = AttentionInputs(f, n, c, h);
        int count = f * n * c;
        return new(BenchBaseline.Op, "bench_baseline", name,
            [
                CaseTensor.In("q", q), CaseTensor.In("k", k), CaseTensor.In("v", v), CaseTensor.OutF16("out", expected, 0, AttentionFp16),
                CaseTensor.Scratch("batchedQ", Element.F16, count), CaseTensor.Scratch("batchedK", Element.F16, count),
                CaseTensor.Scratch("batchedV", Element.F16, count), CaseTensor.Scratch("batchedOut", Element.F16, count),
            ],
            a => BenchBaseline.Launch(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], f, n, c, h), "baseline_from_batched");
    }

    private static KernelCase StepRollCase(string name, int p, int levels, int e, int off)
    {
        var schedule = new LcmSchedule(new StreamConfig { FramesPerLevel = p, Levels = levels, Height = 64, Width = 64 });
        int frames = p * levels;
        var random = new Random((p * 1000) + e);
        float[] Rand(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 4) - 2))];
        float[] model = Rand(frames * e), sample = Rand(frames * e), noise = Rand(frames * e), fresh = Rand(p * e);
        var table = LcmStepRoll.PackCoefficients(schedule.SqrtAlphaProd, schedule.SqrtOneMinusAlphaProd, schedule.COut, schedule.CSkip, schedule.SqrtAlphaProdPrev, schedule.SqrtOneMinusAlphaProdPrev);
        var next = new float[frames * e];
        var decode = new float[p * e];
        LcmStepRoll.Reference(table, model, sample, noise, fresh, next, decode, p, e);
        return new(LcmStepRoll.Op, "lcm_step_roll", name,
            [
                CaseTensor.In("modelOutput", model, off), CaseTensor.In("sample", sample, off), CaseTensor.In("noise", noise, off), CaseTensor.In("newNoise", fresh, off),
                CaseTensor.Out("nextSample", next, off, StepRoll, Match.ExactRange((frames - p) * e, p * e)), // the new-noise slots are copies
                CaseTensor.Out("decodeInput", decode, off, StepRoll), CaseTensor.In("coefficients", table, off),
            ],
            a => [LcmStepRoll.Launch(a[0], a[1], a[2], a[3], a[4], a[5], a[6], frames, p, e)], "lcm_step_roll");
    }

    private static KernelCase FrameCase(string name, string entry, int images, int height, int width, int offRgb, int offPlanar)
    {
        int count = images * height * width * 3;
        var random = new Random(count + offRgb);
        var rgb = new byte[count];
        random.NextBytes(rgb);
        // Planar values for the way out: midpoints, out of range, NaN, ±0, ±∞ among random values in [−0.1, 1.1).
        float[] specials = [-1f, 2f, float.NaN, -0f, 127.5f / 255f, 0.5f / 255f, 1f, 0f, float.PositiveInfinity, float.NegativeInfinity, 254.5f / 255f];
        float[] planar32 = [.. Enumerable.Range(0, count).Select(i => i % 4 == 0 ? specials[i / 4 % specials.Length] : (random.NextSingle() * 1.2f) - 0.1f)];
        Half[] planar16 = [.. planar32.Select(x => (Half)x)];
        var rgbOut = new byte[count];
        switch (entry)
        {
            case "rgb8_to_planar_f16":
                var halves = new Half[count];
                FrameConversion.Rgb8ToPlanar(rgb, halves, images, height, width);
                return new(FrameConversion.Op, "frame_convert", name, [CaseTensor.In("rgb", rgb, offRgb), CaseTensor.Out("planar", halves, offPlanar)],
                    a => [FrameConversion.Rgb8ToPlanarLaunch(a[0], a[1], images, height, width)], entry);
            case "rgb8_to_planar_u8":
                var bytes = new byte[count];
                FrameConversion.Rgb8ToPlanar(rgb, bytes, images, height, width);
                return new(FrameConversion.Op, "frame_convert", name, [CaseTensor.In("rgb", rgb, offRgb), CaseTensor.Out("planar", bytes, offPlanar)],
                    a => [FrameConversion.Rgb8ToPlanarU8Launch(a[0], a[1], images, height, width)], entry);
            case "planar_f16_to_rgb8":
                FrameConversion.PlanarToRgb8(planar16, rgbOut, images, height, width);
                return new(FrameConversion.Op, "frame_convert", name, [CaseTensor.In("planar", planar16, offPlanar), CaseTensor.Out("rgb", rgbOut, offRgb)],
                    a => [FrameConversion.PlanarToRgb8Launch(a[0], a[1], images, height, width)], entry);
            default:
                FrameConversion.PlanarToRgb8((ReadOnlySpan<float>)planar32, rgbOut, images, height, width);
                return new(FrameConversion.Op, "frame_convert", name, [CaseTensor.In("planar", planar32, offPlanar), CaseTensor.Out("rgb", rgbOut, offRgb)],
                    a => [FrameConversion.PlanarF32ToRgb8Launch(a[0], a[1], images, height, width)], entry);
        }
    }
}

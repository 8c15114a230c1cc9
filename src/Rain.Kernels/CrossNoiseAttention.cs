namespace Rain.Kernels;

/// <summary>
/// The temporal attention core of RAIN's motion modules ("cross-noise attention", spec §2.5.4 and §6.1): for every
/// spatial position n and head h, the F frames attend to each other with full bidirectional softmax attention.
/// q, k, v and the output use the layout the UNet's spatial layers produce, <c>[F, N, C]</c> with C = heads·d, so
/// the core runs with no transposes: element (f, n, h·d + i) is at ((f·N + n)·C + h·d + i).
/// </summary>
/// <remarks>
/// out[f, n, h·d + i] = Σ_g softmax_g(⟨q[f, n, h], k[g, n, h]⟩ / √d) · v[g, n, h·d + i].
/// This class is the CPU reference (the oracle of the CUDA kernel <c>kernels/cross_noise_attention.cu</c>), the CPU
/// backend's implementation and the kernel's launcher (<see cref="Launch(ulong, ulong, ulong, ulong, int, int, int, int, TensorStorage)"/>); it accumulates in float32 with the maximum subtracted before exponentiation.
/// </remarks>
public static class CrossNoiseAttention
{
    /// <summary>The op (<c>kernels/cross_noise_attention.cu</c>).</summary>
    public const string Op = "cross_noise_attention";

    /// <summary>Largest F of the tensor-core kernel (one 16-row MMA tile); more frames use the warp kernel.</summary>
    public const int MmaMaxFrames = 16;
    /// <summary>Largest F the kernels support (the positional encoding of the motion modules has 32 positions).</summary>
    public const int MaxFrames = 32;

    /// <summary>Checks the shape arguments and span lengths; throws <see cref="ArgumentException"/> naming the problem.</summary>
    public static void Validate(int frames, int tokens, int channels, int heads, int qLength, int kLength, int vLength, int outLength)
    {
        ValidateShape(frames, tokens, channels, heads);
        long expected = (long)frames * tokens * channels;
        if (qLength != expected || kLength != expected || vLength != expected || outLength != expected)
            throw new ArgumentException(
                $"cross_noise_attention: q, k, v and out must each hold F·N·C = {frames}·{tokens}·{channels} = {expected} elements; got q {qLength}, k {kLength}, v {vLength}, out {outLength}.");
    }

    /// <summary>Checks F, N, C and heads; throws <see cref="ArgumentException"/> naming the problem.</summary>
    public static void ValidateShape(int frames, int tokens, int channels, int heads)
    {
        if (frames is < 1 or > MaxFrames)
            throw new ArgumentOutOfRangeException(nameof(frames), frames, $"cross_noise_attention: F must be between 1 and {MaxFrames}; got {frames}.");
        if (tokens < 1)
            throw new ArgumentOutOfRangeException(nameof(tokens), tokens, $"cross_noise_attention: the number of spatial positions N must be positive; got {tokens}.");
        if (heads < 1 || channels < 1 || channels % heads != 0)
            throw new ArgumentException($"cross_noise_attention: channels ({channels}) must be a positive multiple of heads ({heads}).");
    }

    /// <summary>Shared memory the CUDA kernel may use per block without opting in to more (48 KiB on every SM ≥ 8.0).</summary>
    public const int SharedBytesLimit = 48 * 1024;

    /// <summary>
    /// Describes the CUDA launch of the kernel on fp16 tensors at device addresses <paramref name="q"/>,
    /// <paramref name="k"/>, <paramref name="v"/> and <paramref name="output"/> (each F·N·C halves, layout
    /// <c>[F, N, C]</c>). Validates everything before any device work: shapes, null or misaligned addresses, and
    /// whether a (n, head) pair's F rows of q, k, v fit in shared memory. One warp per (n, head); the widest vector
    /// load the head size, channel count and alignment allow (8, 2 or 1 halves).
    /// </summary>
    public static KernelLaunch Launch(ulong q, ulong k, ulong v, ulong output, int frames, int tokens, int channels, int heads) =>
        Launch(q, k, v, output, frames, tokens, channels, heads, TensorStorage.Fp16);

    /// <summary>
    /// The fp16 launch with the implementation chosen: <see cref="AttentionKernel.Auto"/> takes v2 (tensor cores) where
    /// it applies — F ≤ 16, head size and channels multiples of 8, 16-byte aligned tensors, the double-buffered tiles
    /// within 48 KiB — else v1; <see cref="AttentionKernel.Warp"/> always v1 (the baseline);
    /// <see cref="AttentionKernel.TensorCore"/> v2 or an <see cref="ArgumentException"/> saying why it does not apply.
    /// </summary>
    public static KernelLaunch Launch(ulong q, ulong k, ulong v, ulong output, int frames, int tokens, int channels, int heads, AttentionKernel kernel)
    {
        if (kernel == AttentionKernel.Warp)
            return Launch(q, k, v, output, frames, tokens, channels, heads, TensorStorage.Fp16, allowMma: false);
        ValidateShape(frames, tokens, channels, heads);
        string? why = MmaUnsupported(q, k, v, output, frames, channels, heads);
        if (why is not null && kernel == AttentionKernel.TensorCore)
            throw new ArgumentException($"cross_noise_attention v2 (tensor cores) does not apply: {why}.");
        return Launch(q, k, v, output, frames, tokens, channels, heads, TensorStorage.Fp16, allowMma: true);
    }

    /// <summary>
    /// Describes the CUDA launch of the kernel on tensors stored as <paramref name="storage"/> (fp16: 8, 2 or 1 halves per
    /// vector load; fp32, for TensorRT engines whose I/O stays float32: 4 or 1 floats). Validation as in the fp16 overload.
    /// </summary>
    public static KernelLaunch Launch(ulong q, ulong k, ulong v, ulong output, int frames, int tokens, int channels, int heads, TensorStorage storage) =>
        Launch(q, k, v, output, frames, tokens, channels, heads, storage, allowMma: true);

    private static KernelLaunch Launch(ulong q, ulong k, ulong v, ulong output, int frames, int tokens, int channels, int heads, TensorStorage storage, bool allowMma)
    {
        ValidateShape(frames, tokens, channels, heads);
        int elementBytes = storage == TensorStorage.Fp32 ? 4 : 2;
        ulong[] addresses = [q, k, v, output];
        if (addresses.Any(a => a == 0 || a % (ulong)elementBytes != 0))
            throw new ArgumentException($"cross_noise_attention: q, k, v and out must be non-null, {elementBytes}-byte aligned device addresses; got q 0x{q:X}, k 0x{k:X}, v 0x{v:X}, out 0x{output:X}.");
        if (output == q || output == k || output == v)
            throw new ArgumentException("cross_noise_attention: the output must not alias q, k or v (the kernel reads every frame of a position after writing none).", nameof(output));

        int d = channels / heads;
        var arguments = new KernelArguments().Add(q).Add(k).Add(v).Add(output).Add(frames).Add(tokens).Add(channels).Add(heads).Add(1f / MathF.Sqrt(d));
        long warps = (long)tokens * heads;
        if (storage == TensorStorage.Fp16 && allowMma && MmaUnsupported(q, k, v, output, frames, channels, heads) is null)
        {
            // Several (n, head) per warp where there are many (the next one's copies overlap this one's math), at least
            // 2048 warps so that every SM has work.
            uint mmaShared = MmaWarpSharedBytes(d);
            uint mmaWarpsPerBlock = (uint)Math.Clamp(SharedBytesLimit / mmaShared, 1, 4);
            long mmaWarps = Math.Min(warps, Math.Max(2048, (warps + 7) / 8));
            var mmaGrid = KernelLaunch.Blocks(mmaWarps, mmaWarpsPerBlock, "cross_noise_attention");
            return new KernelLaunch(Op, "cross_noise_attention_mma", mmaGrid, new Dim3(32 * mmaWarpsPerBlock), mmaWarpsPerBlock * mmaShared, arguments);
        }

        uint perWarp = WarpSharedBytes(frames, d, elementBytes);
        if (perWarp > SharedBytesLimit)
            throw new ArgumentException($"cross_noise_attention: F = {frames} frames of head size d = {d} need {perWarp} bytes of shared memory per (n, head), more than {SharedBytesLimit}; use fewer frames or more heads.");

        string entry;
        if (storage == TensorStorage.Fp32)
        {
            entry = d % 4 == 0 && channels % 4 == 0 && addresses.All(a => a % 16 == 0) ? "cross_noise_attention_f32_vec4" : "cross_noise_attention_f32_vec1";
        }
        else
        {
            int vec = d % 8 == 0 && channels % 8 == 0 && addresses.All(a => a % 16 == 0) ? 8
                : d % 2 == 0 && channels % 2 == 0 && addresses.All(a => a % 4 == 0) ? 2
                : 1;
            entry = $"cross_noise_attention_vec{vec}";
        }

        uint warpsPerBlock = (uint)Math.Clamp(Math.Min(SharedBytesLimit / perWarp, warps), 1, 8);
        var grid = KernelLaunch.Blocks(warps, warpsPerBlock, "cross_noise_attention");
        return new KernelLaunch(Op, entry, grid, new Dim3(32 * warpsPerBlock), warpsPerBlock * perWarp, arguments);
    }

    /// <summary>
    /// Shared memory of one warp: q, k, v as [F][d] elements of <paramref name="elementBytes"/> (padded to 16 bytes),
    /// then the [F][F+1] fp32 probabilities, padded to 16 bytes so that every warp's slice keeps the alignment of
    /// 16-byte vector stores (as in the kernel).
    /// </summary>
    internal static uint WarpSharedBytes(int frames, int d, int elementBytes = 2)
    {
        long qkv = ((3L * frames * d * elementBytes) + 15) & ~15L;
        return (uint)Math.Min(uint.MaxValue, (qkv + ((long)frames * (frames + 1) * 4) + 15) & ~15L);
    }

    /// <summary>Why the tensor-core kernel cannot take these tensors, or null when it can.</summary>
    private static string? MmaUnsupported(ulong q, ulong k, ulong v, ulong output, int frames, int channels, int heads)
    {
        int d = channels / heads;
        if (frames > MmaMaxFrames)
            return $"F = {frames} frames is more than one 16-row tile";
        if (d % 8 != 0 || channels % 8 != 0)
            return $"the head size ({d}) and channels ({channels}) must be multiples of 8 (16-byte rows)";
        if (new[] { q, k, v, output }.Any(a => a % 16 != 0))
            return "q, k, v and out must be 16-byte aligned";
        if (MmaWarpSharedBytes(d) > SharedBytesLimit)
            return $"head size {d} needs {MmaWarpSharedBytes(d)} bytes of shared memory per warp, more than {SharedBytesLimit}";
        return null;
    }

    /// <summary>
    /// Shared memory of one warp of the tensor-core kernel: two stages (double buffering) of q, k and v tiles of 16 rows
    /// of round_up(d, 16) + 8 halves (the pitch that keeps fragment loads free of bank conflicts), as in the kernel.
    /// </summary>
    internal static uint MmaWarpSharedBytes(int d) => (uint)(2 * 3 * 16 * (((d + 15) & ~15) + 8) * 2);

    /// <summary>Runs the attention core on the CPU (parallel over spatial positions). <paramref name="output"/> must not overlap the inputs.</summary>
    public static void Reference(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, int frames, int tokens, int channels, int heads)
    {
        Check(q, k, v, output, frames, tokens, channels, heads);
        unsafe
        {
            fixed (float* pq = q, pk = k, pv = v, po = output)
            {
                var job = new Job(pq, pk, pv, po, frames, tokens, channels, heads);
                if ((long)tokens * channels * frames < 1 << 16)
                {
                    for (int n = 0; n < tokens; n++)
                        job.Position(n);
                }
                else
                {
                    Parallel.For(0, tokens, job.Position);
                }
            }
        }
    }

    /// <summary>
    /// The attention core for spatial positions <paramref name="firstToken"/> … <paramref name="firstToken"/> +
    /// <paramref name="tokenCount"/> − 1 only, on the calling thread, allocating nothing: callers that bring their own
    /// threads split the positions between them (the tensors are the whole <c>[F, N, C]</c> ones).
    /// </summary>
    public static void ReferenceTokens(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, int frames, int tokens, int channels, int heads, int firstToken, int tokenCount)
    {
        Check(q, k, v, output, frames, tokens, channels, heads);
        if (firstToken < 0 || tokenCount < 0 || firstToken > tokens - tokenCount)
            throw new ArgumentOutOfRangeException(nameof(tokenCount), $"cross_noise_attention: positions {firstToken} … {firstToken + tokenCount - 1} are not within 0 … {tokens - 1}.");
        unsafe
        {
            fixed (float* pq = q, pk = k, pv = v, po = output)
            {
                var job = new Job(pq, pk, pv, po, frames, tokens, channels, heads);
                for (int n = firstToken; n < firstToken + tokenCount; n++)
                    job.Position(n);
            }
        }
    }

    private static void Check(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, int frames, int tokens, int channels, int heads)
    {
        Validate(frames, tokens, channels, heads, q.Length, k.Length, v.Length, output.Length);
        if (output.Overlaps(q) || output.Overlaps(k) || output.Overlaps(v))
            throw new ArgumentException("cross_noise_attention: the output must not overlap q, k or v.", nameof(output));
    }

    private readonly unsafe struct Job(float* q, float* k, float* v, float* o, int frames, int tokens, int channels, int heads)
    {
        private readonly float* _q = q, _k = k, _v = v, _o = o;

        public void Position(int n)
        {
            int d = channels / heads;
            float scale = 1f / MathF.Sqrt(d);
            long frameStride = (long)tokens * channels;
            Span<float> weights = stackalloc float[MaxFrames];
            for (int h = 0; h < heads; h++)
            {
                long baseOffset = ((long)n * channels) + (h * d);
                for (int f = 0; f < frames; f++)
                {
                    var qf = new ReadOnlySpan<float>(_q + (f * frameStride) + baseOffset, d);
                    float max = float.NegativeInfinity;
                    for (int g = 0; g < frames; g++)
                    {
                        float s = FixedOrder.Dot(qf, new ReadOnlySpan<float>(_k + (g * frameStride) + baseOffset, d)) * scale;
                        weights[g] = s;
                        max = MathF.Max(max, s);
                    }

                    float sum = 0;
                    for (int g = 0; g < frames; g++)
                    {
                        weights[g] = MathF.Exp(weights[g] - max);
                        sum += weights[g];
                    }

                    var of = new Span<float>(_o + (f * frameStride) + baseOffset, d);
                    of.Clear();
                    float inv = 1f / sum;
                    for (int g = 0; g < frames; g++)
                        FixedOrder.AddScaled(new ReadOnlySpan<float>(_v + (g * frameStride) + baseOffset, d), weights[g] * inv, of);
                }
            }
        }
    }
}

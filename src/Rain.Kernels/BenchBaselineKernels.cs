namespace Rain.Kernels;

/// <summary>
/// Launchers of <c>kernels/bench_baseline.cu</c>: the straightforward attention the bench measures
/// <see cref="CrossNoiseAttention"/>'s kernel against (permute <c>[F, N, C]</c> → <c>[N·heads, F, d]</c>, batched
/// attention, permute back). Same math as the reference, so the bench checks its output too. Not used by the engine.
/// </summary>
public static class BenchBaselineKernels
{
    private const uint Block = 256;

    /// <summary><c>[F, N, heads·d]</c> → <c>[N·heads, F, d]</c> (fp16).</summary>
    public static KernelLaunch ToBatched(ulong source, ulong destination, int frames, int tokens, int channels, int heads) =>
        Permute("baseline_to_batched", source, destination, frames, tokens, channels, heads);

    /// <summary><c>[N·heads, F, d]</c> → <c>[F, N, heads·d]</c> (fp16).</summary>
    public static KernelLaunch FromBatched(ulong source, ulong destination, int frames, int tokens, int channels, int heads) =>
        Permute("baseline_from_batched", source, destination, frames, tokens, channels, heads);

    /// <summary>Attention over <c>[N·heads, F, d]</c> (fp16), one thread per query frame.</summary>
    public static KernelLaunch BatchedAttention(ulong q, ulong k, ulong v, ulong output, int frames, int tokens, int channels, int heads)
    {
        CrossNoiseAttention.ValidateShape(frames, tokens, channels, heads);
        CheckAddresses(q, k, v, output);
        int d = channels / heads;
        int batch = checked(tokens * heads);
        return new KernelLaunch("bench_baseline", "baseline_batched_attention", KernelLaunch.Blocks((long)batch * frames, Block, "bench_baseline"), new Dim3(Block), 0,
            new KernelArguments().Add(q).Add(k).Add(v).Add(output).Add(batch).Add(frames).Add(d).Add(1f / MathF.Sqrt(d)));
    }

    private static KernelLaunch Permute(string entry, ulong source, ulong destination, int frames, int tokens, int channels, int heads)
    {
        CrossNoiseAttention.ValidateShape(frames, tokens, channels, heads);
        CheckAddresses(source, destination);
        return new KernelLaunch("bench_baseline", entry, KernelLaunch.Blocks((long)frames * tokens * channels, Block, "bench_baseline"), new Dim3(Block), 0,
            new KernelArguments().Add(source).Add(destination).Add(frames).Add(tokens).Add(heads).Add(channels / heads));
    }

    private static void CheckAddresses(params ReadOnlySpan<ulong> addresses)
    {
        foreach (ulong a in addresses)
        {
            if (a == 0 || a % 2 != 0)
                throw new ArgumentException($"bench_baseline: every tensor must be a non-null, 2-byte aligned device address; got 0x{a:X}.");
        }
    }
}

namespace Rain.Kernels;

/// <summary>
/// Launchers of <c>kernels/bench_baseline.cu</c>: the straightforward attention the bench measures
/// <see cref="CrossNoiseAttention"/>'s kernel against (permute <c>[F, N, C]</c> → <c>[N·heads, F, d]</c>, batched
/// attention, permute back). Same math as <see cref="CrossNoiseAttention"/>, whose reference is this op's
/// (<see cref="Reference"/>), so the bench and the tests check its output too. Not used by the engine.
/// </summary>
public static class BenchBaseline
{
    /// <summary>The op (<c>kernels/bench_baseline.cu</c>).</summary>
    public const string Op = "bench_baseline";

    private const uint Block = 256;

    /// <summary>The CPU reference of the whole baseline (<see cref="Launch"/>): <see cref="CrossNoiseAttention.Reference"/>.</summary>
    public static void Reference(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, int frames, int tokens, int channels, int heads) =>
        CrossNoiseAttention.Reference(q, k, v, output, frames, tokens, channels, heads);

    /// <summary>
    /// The five launches of the baseline attention, in order: q, k and v to <c>[N·heads, F, d]</c> at
    /// <paramref name="batchedQ"/>, <paramref name="batchedK"/>, <paramref name="batchedV"/>, the batched attention into
    /// <paramref name="batchedOutput"/>, and its permute back to <paramref name="output"/> (all fp16, F·N·C halves each).
    /// </summary>
    public static KernelLaunch[] Launch(
        ulong q, ulong k, ulong v, ulong output, ulong batchedQ, ulong batchedK, ulong batchedV, ulong batchedOutput, int frames, int tokens, int channels, int heads) =>
    [
        ToBatched(q, batchedQ, frames, tokens, channels, heads),
        ToBatched(k, batchedK, frames, tokens, channels, heads),
        ToBatched(v, batchedV, frames, tokens, channels, heads),
        BatchedAttention(batchedQ, batchedK, batchedV, batchedOutput, frames, tokens, channels, heads),
        FromBatched(batchedOutput, output, frames, tokens, channels, heads),
    ];

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
        return new KernelLaunch(Op, "baseline_batched_attention", KernelLaunch.Blocks((long)batch * frames, Block, "bench_baseline"), new Dim3(Block), 0,
            new KernelArguments().Add(q).Add(k).Add(v).Add(output).Add(batch).Add(frames).Add(d).Add(1f / MathF.Sqrt(d)));
    }

    private static KernelLaunch Permute(string entry, ulong source, ulong destination, int frames, int tokens, int channels, int heads)
    {
        CrossNoiseAttention.ValidateShape(frames, tokens, channels, heads);
        CheckAddresses(source, destination);
        return new KernelLaunch(Op, entry, KernelLaunch.Blocks((long)frames * tokens * channels, Block, "bench_baseline"), new Dim3(Block), 0,
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

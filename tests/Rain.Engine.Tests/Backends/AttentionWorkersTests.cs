using Rain.Engine.Backends.Cpu;
using Rain.Engine.Bundle;
using Rain.Kernels;

namespace Rain.Engine.Tests.Backends;

/// <summary>
/// The engine's threaded attention equals the kernel's CPU reference bit for bit (every position is computed by the same
/// code on one thread), for any number of workers, odd sizes included, and allocates nothing per run.
/// </summary>
public sealed class AttentionWorkersTests
{
    [Theory]
    [InlineData(0, 16, 128, 32, 8)]
    [InlineData(1, 16, 128, 32, 8)]
    [InlineData(3, 16, 131, 48, 4)]
    [InlineData(5, 12, 7, 64, 2)]
    public void MatchesTheReferenceForAnyNumberOfWorkers(int workers, int frames, int tokens, int channels, int heads)
    {
        var contract = new TensorContract("x", "float32", [frames, tokens, channels]);
        using CpuTensor q = new(contract), k = new(contract), v = new(contract), o = new(contract);
        var random = new Random(frames * tokens + workers);
        foreach (var t in new[] { q, k, v })
        {
            var span = t.F;
            for (int i = 0; i < span.Length; i++)
                span[i] = (float)((random.NextDouble() * 4) - 2);
        }

        o.F.Fill(float.NaN); // poisoned: every element must be written
        var expected = new float[o.F.Length];
        CrossNoiseAttention.Reference(q.F, k.F, v.F, expected, frames, tokens, channels, heads);
        using var pool = new AttentionWorkers(workers);
        pool.Run(q, k, v, o, frames, tokens, channels, heads);
        Assert.Equal(expected, o.F.ToArray());

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
            pool.Run(q, k, v, o, frames, tokens, channels, heads);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(0)] // the caller's own slice
    [InlineData(2)] // a worker's
    public void AFailingSliceOfAnyKindReachesTheCallerAndTheNextRunWaitsForAllItsWorkers(int failingSlice)
    {
        const int Frames = 16, Tokens = 128, Channels = 32, Heads = 8;
        var contract = new TensorContract("x", "float32", [Frames, Tokens, Channels]);
        using CpuTensor q = new(contract), k = new(contract), v = new(contract), o = new(contract);
        var random = new Random(3);
        foreach (var t in new[] { q, k, v })
        {
            var span = t.F;
            for (int i = 0; i < span.Length; i++)
                span[i] = (float)((random.NextDouble() * 4) - 2);
        }

        var expected = new float[o.F.Length];
        CrossNoiseAttention.Reference(q.F, k.F, v.F, expected, Frames, Tokens, Channels, Heads);
        using var pool = new AttentionWorkers(3);

        // Out of memory on a worker used to end the process; a failure in the caller's slice left the workers' done-signal
        // for the next run, which then returned before its workers had written their slices.
#pragma warning disable CA2201 // the point: what the runtime throws
        pool.BeforeSlice = slice =>
        {
            if (slice == failingSlice)
            {
                Thread.Sleep(50); // let the other slices finish first, so a stale signal would be left behind
                throw new OutOfMemoryException("injected");
            }
        };
#pragma warning restore CA2201
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(q, k, v, o, Frames, Tokens, Channels, Heads));
        Assert.IsType<OutOfMemoryException>(e.InnerException);

        // A worker's slice now stalls instead: a run that returned on a stale signal would leave its positions poisoned.
        pool.BeforeSlice = slice =>
        {
            if (slice == 2)
                Thread.Sleep(200);
        };
        o.F.Fill(float.NaN);
        pool.Run(q, k, v, o, Frames, Tokens, Channels, Heads);
        Assert.Equal(expected, o.F.ToArray());
    }
}

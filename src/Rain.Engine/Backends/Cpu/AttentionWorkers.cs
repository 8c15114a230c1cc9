using Rain.Kernels;

namespace Rain.Engine.Backends.Cpu;

/// <summary>
/// Runs the cross-noise attention over spatial positions on the step thread plus a fixed set of worker threads
/// created once, so a step allocates nothing (<c>Parallel.For</c> allocates its work items on every call). Position
/// slices are contiguous and equal; each writes a disjoint part of the output, so the result does not depend on the
/// number of threads. One <see cref="Run"/> at a time.
/// </summary>
internal sealed class AttentionWorkers : IDisposable
{
    // Below this many elements (F·N·C) waking the workers costs more than it saves.
    private const long ParallelThreshold = 1 << 16;

    private readonly Thread[] _threads;
    private readonly SemaphoreSlim _start = new(0);
    // A semaphore, not a ManualResetEventSlim: the latter allocates its lock object on the first wait that actually
    // blocks, which under load can happen long after warm-up and shows as a per-step allocation.
    private readonly SemaphoreSlim _done = new(0);
    private CpuTensor? _q, _k, _v, _o;
    private int _frames, _tokens, _channels, _heads, _slices, _nextSlice, _pending;
    private Exception? _failure; // the first failure of a Run, from the caller's slice or a worker's
    private volatile bool _stop;

    /// <param name="workers">Threads besides the caller's (0: everything runs on the calling thread).</param>
    public AttentionWorkers(int workers)
    {
        _threads = new Thread[Math.Max(0, workers)];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(Work) { IsBackground = true, Name = $"rain-attention-{i + 1}" };
            _threads[i].Start();
        }
    }

    /// <summary>Tests: called with the slice index at the start of every slice (to inject a failure on the caller or a worker).</summary>
    internal Action<int>? BeforeSlice { get; set; }

    public void Run(CpuTensor q, CpuTensor k, CpuTensor v, CpuTensor o, int frames, int tokens, int channels, int heads)
    {
        if (_threads.Length == 0 || tokens < 2 || (long)frames * tokens * channels < ParallelThreshold)
        {
            CrossNoiseAttention.ReferenceTokens(q.F, k.F, v.F, o.F, frames, tokens, channels, heads, 0, tokens);
            return;
        }

        (_q, _k, _v, _o) = (q, k, v, o);
        (_frames, _tokens, _channels, _heads) = (frames, tokens, channels, heads);
        _slices = Math.Min(_threads.Length + 1, tokens);
        _nextSlice = 0;
        _pending = _slices - 1;
        _failure = null;
        _start.Release(_slices - 1);
        try
        {
            Slice(0);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, e, null);
        }

        // Always wait for the workers, even when the caller's own slice failed: returning early would leave their _done
        // release for the next Run, which would then return before its workers finished.
        _done.Wait();
        if (_failure is not null)
            throw new InvalidOperationException($"cross_noise_attention failed: {_failure.Message}", _failure);
    }

    public void Dispose()
    {
        if (_stop)
            return;
        _stop = true;
        if (_threads.Length > 0)
            _start.Release(_threads.Length);
        foreach (var t in _threads)
            t.Join();
        _start.Dispose();
        _done.Dispose();
    }

    private void Work()
    {
        while (true)
        {
            _start.Wait();
            if (_stop)
                return;
            try
            {
                Slice(Interlocked.Increment(ref _nextSlice));
            }
            catch (Exception e)
            {
                // Any exception, out-of-memory included: one escaping a worker thread would end the process. The first is kept.
                Interlocked.CompareExchange(ref _failure, e, null);
            }

            if (Interlocked.Decrement(ref _pending) == 0)
                _done.Release();
        }
    }

    private void Slice(int index)
    {
        BeforeSlice?.Invoke(index);
        int first = (int)((long)_tokens * index / _slices), end = (int)((long)_tokens * (index + 1) / _slices);
        CrossNoiseAttention.ReferenceTokens(_q!.F, _k!.F, _v!.F, _o!.F, _frames, _tokens, _channels, _heads, first, end - first);
    }
}

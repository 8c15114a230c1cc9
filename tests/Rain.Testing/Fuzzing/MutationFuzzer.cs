using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;

namespace Rain.Testing.Fuzzing;

/// <summary>
/// One input format under fuzz: a seed input, the bytes worth mutating most (headers, pickles, JSON), what reading a
/// mutant means, which exception is a proper refusal, and how much memory reading a mutant may cost.
/// </summary>
/// <param name="Name">Target name for reports ("checkpoint:weights/pose_guider.pth", "bundle.json", …).</param>
/// <param name="Original">The seed input.</param>
/// <param name="HotStart">Start of the structural region where half the mutations land.</param>
/// <param name="HotLength">Its length.</param>
/// <param name="Read">Reads one mutant completely (as the product would); throws on refusal.</param>
/// <param name="IsRefusal">True for the exception that is the format's clear error (anything else is a bug).</param>
/// <param name="MemoryBound">Largest managed allocation, in bytes, reading a mutant of the given length may cost.</param>
public sealed record FuzzTarget(string Name, byte[] Original, int HotStart, int HotLength, Action<byte[]> Read, Func<Exception, bool> IsRefusal, Func<int, long> MemoryBound);

/// <summary>What a fuzz run did.</summary>
/// <param name="Target">The target.</param>
/// <param name="Mutants">Mutants read.</param>
/// <param name="Refused">Of those, refused with the format's error.</param>
/// <param name="Elapsed">Wall time.</param>
/// <param name="SlowestMs">The slowest mutant's time.</param>
/// <param name="WorstManagedBytes">Largest managed allocation by one mutant.</param>
/// <param name="WorstRssGrowthBytes">Largest peak-RSS growth over one mutant (native and mapped memory included); −1 when the OS cannot measure it.</param>
public sealed record FuzzReport(string Target, int Mutants, int Refused, TimeSpan Elapsed, double SlowestMs, long WorstManagedBytes, long WorstRssGrowthBytes)
{
    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Target}: {Mutants} mutants in {Elapsed.TotalSeconds:F1} s ({Mutants / Math.Max(Elapsed.TotalSeconds, 1e-9):F0}/s), {Refused} refused, {Mutants - Refused} read; slowest {SlowestMs:F1} ms; " +
        $"at most {WorstManagedBytes / 1024.0:F0} KiB managed and {(WorstRssGrowthBytes < 0 ? "unmeasured" : $"{WorstRssGrowthBytes / 1048576.0:F1} MiB")} peak RSS growth by one mutant");
}

/// <summary>A mutant that hung, crashed the reader with an unexpected exception, or cost too much memory; the mutant is saved for replay.</summary>
public sealed class FuzzFailureException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Seeded mutation fuzzing with a deadline per mutant (each runs on a worker thread the fuzzer waits for, so a hang is
/// caught and reported instead of hanging the run) and memory measured per mutant: managed bytes the reading thread
/// allocated and, on Linux, the growth of the process's peak resident set (native and mapped memory included) —
/// <c>/proc/self/clear_refs</c> resets the peak before each mutant. Run alone (not beside other work in the process) for
/// the RSS figure to mean anything.
/// </summary>
public static class MutationFuzzer
{
    private static readonly long[] Interesting = [0, 1, 7, 8, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, long.MaxValue, -1];

    /// <summary>
    /// Runs up to <paramref name="maxMutants"/> mutants, or until <paramref name="budget"/> is spent and at least
    /// <paramref name="minMutants"/> ran (so a loaded machine gives a slower run, not a smaller sample).
    /// </summary>
    /// <exception cref="FuzzFailureException">A mutant hung past <paramref name="deadline"/>, threw something other than a refusal, or exceeded the memory bound.</exception>
    public static FuzzReport Run(FuzzTarget target, int seed, int maxMutants, TimeSpan budget, TimeSpan deadline, Func<long, long>? rssBound = null, int minMutants = 0)
    {
        ArgumentNullException.ThrowIfNull(target);
        var rng = new Random(seed);
        var clock = Stopwatch.StartNew();
        int runs = 0, refused = 0;
        long worstManaged = 0, worstRss = PeakRss.Supported ? 0 : -1;
        double slowest = 0;
        using var worker = new Worker(target.Read);
        while (runs < maxMutants && (clock.Elapsed < budget || runs < minMutants))
        {
            byte[] mutant = Mutate(target.Original, target.HotStart, target.HotLength, rng);
            long rssBefore = PeakRss.Reset();
            var (finished, error, allocated, ms) = worker.Run(mutant, deadline);
            if (!finished)
                throw Fail(target, seed, runs, mutant, $"did not finish within {deadline.TotalSeconds:F0} s (a hang)");
            long rssGrowth = rssBefore < 0 ? -1 : Math.Max(0, PeakRss.Peak() - rssBefore);
            if (error is not null)
            {
                if (!target.IsRefusal(error))
                    throw Fail(target, seed, runs, mutant, $"threw {error.GetType().Name}: {error.Message}", error);
                refused++;
            }

            long bound = target.MemoryBound(mutant.Length);
            if (allocated > bound)
                throw Fail(target, seed, runs, mutant, $"allocated {allocated} managed bytes for a {mutant.Length}-byte input (bound {bound})");
            if (rssGrowth >= 0 && rssBound is not null && rssGrowth > rssBound(bound))
                throw Fail(target, seed, runs, mutant, $"grew the peak resident set by {rssGrowth >> 20} MiB for a {mutant.Length}-byte input (bound {rssBound(bound) >> 20} MiB)");
            worstManaged = Math.Max(worstManaged, allocated);
            worstRss = rssGrowth < 0 ? -1 : Math.Max(worstRss, rssGrowth);
            slowest = Math.Max(slowest, ms);
            runs++;
        }

        return new FuzzReport(target.Name, runs, refused, clock.Elapsed, slowest, worstManaged, worstRss);
    }

    /// <summary>
    /// One to three mutations: half land in the structural region, a fifth in the last 4 KB (a zip's central directory),
    /// the rest anywhere; bit flips, random bytes, interesting integers, truncation, insertion, deletion.
    /// </summary>
    public static byte[] Mutate(byte[] original, int hotStart, int hotLength, Random rng)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(rng);
        byte[] m = (byte[])original.Clone();
        int rounds = 1 + rng.Next(3);
        for (int r = 0; r < rounds && m.Length > 0; r++)
        {
            double where = rng.NextDouble();
            int pos = where < 0.5 ? hotStart + rng.Next(Math.Max(1, Math.Min(hotLength, m.Length - hotStart)))
                : where < 0.7 ? Math.Max(0, m.Length - 1 - rng.Next(Math.Min(m.Length, 4096)))
                : rng.Next(m.Length);
            pos = Math.Clamp(pos, 0, m.Length - 1);
            switch (rng.Next(6))
            {
                case 0:
                    m[pos] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1:
                    m[pos] = (byte)rng.Next(256);
                    break;
                case 2:
                    long v = Interesting[rng.Next(Interesting.Length)];
                    int width = rng.Next(2) == 0 ? 4 : 8;
                    if (pos + width <= m.Length)
                    {
                        if (width == 4)
                            BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(pos), (uint)v);
                        else
                            BinaryPrimitives.WriteInt64LittleEndian(m.AsSpan(pos), v);
                    }

                    break;
                case 3:
                    return m[..rng.Next(m.Length)];
                case 4:
                    var inserted = new byte[1 + rng.Next(16)];
                    rng.NextBytes(inserted);
                    return [.. m[..pos], .. inserted, .. m[pos..]];
                default:
                    int cut = Math.Min(1 + rng.Next(16), m.Length - pos);
                    return [.. m[..pos], .. m[(pos + cut)..]];
            }
        }

        return m;
    }

    private static FuzzFailureException Fail(FuzzTarget target, int seed, int run, byte[] mutant, string what, Exception? inner = null)
    {
        string saved = Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture, $"rain-fuzz-{target.Name.Replace('/', '_').Replace(':', '_')}-{seed}-{run}.bin"));
        File.WriteAllBytes(saved, mutant);
        return new FuzzFailureException($"mutant {run} of {target.Name} (seed {seed}) {what}; saved to {saved}\n{inner?.StackTrace}", inner);
    }

    /// <summary>One long-lived thread that reads mutants, so a hung read can be abandoned (it is a background thread).</summary>
    private sealed class Worker : IDisposable
    {
        private readonly Action<byte[]> _read;
        private readonly SemaphoreSlim _go = new(0), _done = new(0);
        private readonly Thread _thread;
        private byte[]? _input;
        private Exception? _error;
        private long _allocated;
        private double _ms;
        private bool _stop, _hung;

        public Worker(Action<byte[]> read)
        {
            _read = read;
            _thread = new Thread(Loop) { IsBackground = true, Name = "rain-fuzz" };
            _thread.Start();
        }

        public (bool Finished, Exception? Error, long Allocated, double Ms) Run(byte[] input, TimeSpan deadline)
        {
            _input = input;
            _go.Release();
            if (!_done.Wait(deadline))
            {
                _hung = true;
                return (false, null, 0, deadline.TotalMilliseconds);
            }

            return (true, _error, _allocated, _ms);
        }

        public void Dispose()
        {
            if (_hung)
                return; // the thread is stuck in a read; leave it (background) rather than dispose what it waits on
            _stop = true;
            _go.Release();
            _thread.Join();
            _go.Dispose();
            _done.Dispose();
        }

        private void Loop()
        {
            while (true)
            {
                _go.Wait();
                if (_stop)
                    return;
                _error = null;
                long before = GC.GetAllocatedBytesForCurrentThread();
                long start = Stopwatch.GetTimestamp();
                try
                {
                    _read(_input!);
                }
                catch (Exception e)
                {
                    _error = e;
                }

                _ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                _allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                _done.Release();
            }
        }
    }

    /// <summary>The process's peak resident set (Linux: VmHWM, reset through /proc/self/clear_refs).</summary>
    private static class PeakRss
    {
        public static readonly bool Supported = TryReset();

        /// <summary>Resets the peak to the current resident set and returns it (−1 when unsupported).</summary>
        public static long Reset() => Supported && TryReset() ? Read("VmRSS:") : -1;

        public static long Peak() => Read("VmHWM:");

        private static bool TryReset()
        {
            try
            {
                File.WriteAllText("/proc/self/clear_refs", "5");
                return Read("VmHWM:") > 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        private static long Read(string field)
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }

            return -1;
        }
    }
}

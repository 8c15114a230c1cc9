using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Rain.Bench;

/// <summary>
/// <c>pose-frontend</c>: the pose front end's own work per frame (its two model runs skipped, their outputs from one real
/// run kept) against <see cref="PoseBaseline"/>, interleaved frame by frame in one process, on a 512×512 camera frame
/// whole and with RAIN's centre crop 0.9. Reports, per frame, the median and p95 wall time, the median CPU time of the
/// measuring thread (CLOCK_THREAD_CPUTIME_ID: on a machine whose cores are shared, wall time also counts the time other
/// processes held the core, CPU time does not), and the managed bytes allocated. Same setup as
/// <see cref="PoseFrontEndBenchmarks"/>, which gives BenchmarkDotNet's wall-time statistics.
/// Usage: <c>dotnet run -c Release --project bench/Rain.Bench -- pose-frontend [--frames 300]</c>.
/// </summary>
internal static partial class PoseFrontEndRun
{
    public static int Run(string[] args)
    {
        int frames = args.Length >= 2 && args[0] == "--frames" ? int.Parse(args[1], CultureInfo.InvariantCulture) : 300;
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, " +
            $"AVX-512 VBMI {BytePermuteAvailable()}; load average {File.ReadAllText("/proc/loadavg").Trim()}");
        foreach (string crop in new[] { "none", "0.9" })
        {
            var bench = new PoseFrontEndBenchmarks { Crop = crop };
            bench.Setup();
            try
            {
                // Warm-up: the baseline a few times, the front end until its code is fully optimised.
                for (int i = 0; i < 10; i++)
                    bench.Straightforward();
                for (int i = 0; i < 200; i++)
                    bench.FrontEnd();

                var (baseline, frontEnd) = (new Samples(frames), new Samples(frames));
                for (int i = 0; i < frames; i++)
                {
                    baseline.Measure(() => bench.Straightforward());
                    frontEnd.Measure(() => bench.FrontEnd());
                }

                // Allocation counted apart: between the baseline's frames the GC runs, which blurs the per-thread counter.
                baseline.CountAllocations(() => bench.Straightforward(), 5);
                frontEnd.CountAllocations(() => bench.FrontEnd(), frames);

                Console.WriteLine($"512x512 frame, centre crop {crop}:");
                baseline.Print("  straightforward baseline", null);
                frontEnd.Print("  front end (own work)    ", baseline);
            }
            finally
            {
                bench.Cleanup();
            }
        }

        return 0;
    }

    private static bool BytePermuteAvailable() => System.Runtime.Intrinsics.X86.Avx512Vbmi.IsSupported && Environment.GetEnvironmentVariable("RAIN_NO_VBMI") != "1";

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    private static double ThreadCpuMilliseconds()
    {
        const int ClockThreadCpuTimeId = 3;
        return ClockGetTime(ClockThreadCpuTimeId, out var t) == 0 ? (t.Seconds * 1e3) + (t.Nanoseconds / 1e6) : double.NaN;
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct TimeSpec
    {
        public readonly long Seconds;
        public readonly long Nanoseconds;
    }

    private sealed class Samples(int capacity)
    {
        private readonly List<double> _wall = new(capacity), _cpu = new(capacity);

        private double _bytesPerFrame;

        public void Measure(Action frame)
        {
            double cpu = ThreadCpuMilliseconds();
            long start = Stopwatch.GetTimestamp();
            frame();
            _wall.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            _cpu.Add(ThreadCpuMilliseconds() - cpu);
        }

        public void CountAllocations(Action frame, int count)
        {
            GC.Collect();
            long bytes = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < count; i++)
                frame();
            _bytesPerFrame = (GC.GetAllocatedBytesForCurrentThread() - bytes) / (double)count;
        }

        public double MedianCpu => Percentile(_cpu, 0.5);

        public double MedianWall => Percentile(_wall, 0.5);

        public void Print(string name, Samples? baseline)
        {
            string ratio = baseline is null ? "" : string.Create(CultureInfo.InvariantCulture,
                $"  ratio to baseline: wall {MedianWall / baseline.MedianWall:F3}, cpu {MedianCpu / baseline.MedianCpu:F3}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}: wall median {MedianWall:F3} ms, p95 {Percentile(_wall, 0.95):F3} ms; cpu median {MedianCpu:F3} ms; allocated {_bytesPerFrame:F0} B/frame{ratio}"));
        }

        private static double Percentile(List<double> values, double p)
        {
            var sorted = values.Order().ToList();
            return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
        }
    }
}

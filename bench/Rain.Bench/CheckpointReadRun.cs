using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Rain.Models.Checkpoints;
using Rain.Testing.Checkpoints;

namespace Rain.Bench;

/// <summary>
/// <c>checkpoint-read</c>: writes a ≥ 1 GB checkpoint of F16 tensors twice (safetensors, and a torch.save zip with
/// STORED entries), then times, in the same run and interleaved, a plain sequential FileStream read of each file
/// (the baseline) against the checkpoint reader: every tensor as stored (copied once into a reused buffer, the
/// same work a read() does) and converted to float32 (into a reused buffer, and into fresh arrays).
/// Usage: <c>dotnet run -c Release --project bench/Rain.Bench -- checkpoint-read [--size-mb 1024] [--repeat 3] [--dir DIR]</c>.
/// </summary>
internal static class CheckpointReadRun
{
    private const int Rows = 4096, Cols = 2048; // one 16 MiB F16 tensor
    private const int TensorBytes = Rows * Cols * 2;

    public static int Run(string[] args)
    {
        int sizeMb = IntArg(args, "--size-mb", 1024);
        int repeat = IntArg(args, "--repeat", 3);
        string root = StringArg(args, "--dir") ?? Path.GetTempPath();
        string dir = Path.Combine(root, "rain-bench-ckpt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            int count = Math.Max(1, sizeMb * (1 << 20) / TensorBytes);
            var tensors = MakeTensors(count);
            string st = Path.Combine(dir, "bench.safetensors"), pth = Path.Combine(dir, "bench.pth");
            var clock = Stopwatch.StartNew();
            SafetensorsWriter.Write(st, tensors);
            TorchZipWriter.WriteStateDict(pth, tensors, "bench");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {count} F16 tensors [{Rows}, {Cols}] = {(long)count * TensorBytes / (1 << 20)} MiB per file in {clock.Elapsed.TotalSeconds:F1} s to {dir}"));
            Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}; files in the page cache (warm reads)");
            Report(st, repeat);
            Report(pth, repeat);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak working set of the process: {Process.GetCurrentProcess().PeakWorkingSet64 / (1 << 20)} MiB (mapped file pages count while a checkpoint is open)"));
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static List<WriterTensor> MakeTensors(int count)
    {
        // One buffer of valid F16 values shared by every tensor: the files are real, memory stays small.
        var values = new Half[Rows * Cols];
        for (int i = 0; i < values.Length; i++)
            values[i] = (Half)(((i % 2001) - 1000) / 256f);
        ReadOnlyMemory<byte> data = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        return Enumerable.Range(0, count).Select(i => new WriterTensor($"blocks.{i}.weight", "F16", [Rows, Cols], data)).ToList();
    }

    private static void Report(string path, int repeat)
    {
        long fileBytes = new FileInfo(path).Length;
        var bytes = new byte[TensorBytes];
        var floats = new float[Rows * Cols];
        var variants = new (string Name, Func<long> Run)[]
        {
            ("plain FileStream read (baseline)", () => PlainRead(path, bytes)),
            ("reader: every tensor as stored", () => ReadStored(path, bytes)),
            ("reader: float32 into a buffer", () => ReadFloat32(path, floats)),
            ("reader: float32 new arrays", () => ReadFloat32Arrays(path)),
        };
        var times = variants.Select(_ => new List<double>()).ToArray();
        var allocated = new long[variants.Length];
        for (int r = 0; r < repeat; r++)
        {
            for (int v = 0; v < variants.Length; v++)
            {
                GC.Collect();
                long before = GC.GetTotalAllocatedBytes(precise: true);
                var clock = Stopwatch.StartNew();
                long read = variants[v].Run();
                times[v].Add(clock.Elapsed.TotalSeconds);
                allocated[v] = GC.GetTotalAllocatedBytes(precise: true) - before;
                if (read <= 0)
                    throw new InvalidOperationException($"{variants[v].Name} read nothing");
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(path)}: {fileBytes / (1 << 20)} MiB, median of {repeat} runs (MB/s of file bytes)"));
        Console.WriteLine($"  {"variant",-34} {"MB/s",8} {"time/baseline",14} {"allocated MiB",14}");
        double baseline = Median(times[0]);
        for (int v = 0; v < variants.Length; v++)
        {
            double t = Median(times[v]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {variants[v].Name,-34} {fileBytes / t / 1e6,8:F0} {t / baseline,14:F2} {allocated[v] / (double)(1 << 20),14:F1}"));
        }
    }

    private static long PlainRead(string path, byte[] buffer)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
        long total = 0;
        int n;
        while ((n = fs.Read(buffer)) > 0)
            total += n;
        return total;
    }

    private static long ReadStored(string path, byte[] buffer)
    {
        using var c = Checkpoint.Open(path);
        long total = 0;
        foreach (var t in c.Tensors)
        {
            var span = c.ReadRaw(t.Name);
            for (int at = 0; at < span.Length; at += buffer.Length)
            {
                var chunk = span.Slice(at, Math.Min(buffer.Length, span.Length - at));
                chunk.CopyTo(buffer);
                total += chunk.Length;
            }
        }

        return total;
    }

    private static long ReadFloat32(string path, float[] buffer)
    {
        using var c = Checkpoint.Open(path);
        long total = 0;
        foreach (var t in c.Tensors)
        {
            c.ReadFloat32(t.Name, buffer);
            total += t.ByteLength;
        }

        return total;
    }

    private static long ReadFloat32Arrays(string path)
    {
        using var c = Checkpoint.Open(path);
        long total = 0;
        foreach (var t in c.Tensors)
            total += c.ReadFloat32(t.Name).Length * 2L;
        return total;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    internal static string? StringArg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    internal static int IntArg(string[] args, string name, int fallback) =>
        StringArg(args, name) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : fallback;
}

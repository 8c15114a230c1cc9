using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Rain.Engine.Bundle;

namespace Rain.Engine.Backends.Cpu;

/// <summary>This process's resident memory: from /proc/self/status on Linux (anonymous and file-backed apart), else the working set.</summary>
/// <param name="Resident">VmRSS: resident bytes now.</param>
/// <param name="Anonymous">RssAnon: heap, arenas, pre-packed weights — memory that only the process can give back.</param>
/// <param name="FileBacked">RssFile: pages of mapped files (memory-mapped weights, libraries), which the kernel can drop and re-read.</param>
/// <param name="Peak">VmHWM: the most resident bytes so far.</param>
internal readonly record struct ProcessMemory(long Resident, long Anonymous, long FileBacked, long Peak)
{
    /// <summary>Reads the counters now (allocates a little: do not call inside a timed step).</summary>
    public static ProcessMemory Now()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                long rss = 0, anon = 0, file = 0, hwm = 0;
                foreach (var line in File.ReadLines("/proc/self/status"))
                {
                    if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                        rss = Kb(line);
                    else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                        anon = Kb(line);
                    else if (line.StartsWith("RssFile:", StringComparison.Ordinal))
                        file = Kb(line);
                    else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                        hwm = Kb(line);
                }

                return new ProcessMemory(rss, anon, file, hwm);
            }
            catch (IOException)
            {
                // fall through to the portable counters
            }
        }

        using var p = System.Diagnostics.Process.GetCurrentProcess();
        return new ProcessMemory(p.WorkingSet64, p.WorkingSet64, 0, p.PeakWorkingSet64);
    }

    private static long Kb(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
    }
}

/// <summary>
/// Where one network's memory goes, as measured around its loads and first run (resident-set deltas of the whole
/// process, so concurrent allocation by other threads shows up too; one network at a time is loaded).
/// </summary>
internal sealed class NetworkMemory
{
    internal NetworkMemory(string name, string group, long weightBytes)
    {
        Name = name;
        Group = group;
        WeightBytes = weightBytes;
    }

    /// <summary>The part's name in the bundle.</summary>
    public string Name { get; }

    /// <summary>"reference" (runs once per reference), "unet" (a UNet part) or "stream" (pose guider, decoder).</summary>
    public string Group { get; }

    /// <summary>Bytes of the part's files in the bundle (the ONNX model and its external data): the weights as stored.</summary>
    public long WeightBytes { get; }

    /// <summary>Whether the part's session is loaded now.</summary>
    public bool Loaded { get; internal set; }

    /// <summary>How many times the part's session has been created.</summary>
    public int Loads { get; internal set; }

    /// <summary>How many times a loaded session of the part has been released.</summary>
    public int Releases { get; internal set; }

    /// <summary>Resident bytes the last load added (the weights as ONNX Runtime holds them, pre-packed copies included).</summary>
    public long LoadResidentDelta { get; internal set; }

    /// <summary>Of <see cref="LoadResidentDelta"/>, the anonymous bytes (heap copies; the rest are mapped file pages).</summary>
    public long LoadAnonymousDelta { get; internal set; }

    /// <summary>Resident bytes the first run after the last load added (ONNX Runtime's arena and memory patterns, lazily packed weights).</summary>
    public long FirstRunResidentDelta { get; internal set; }

    /// <summary>Seconds the last load took.</summary>
    public double LoadSeconds { get; internal set; }

    /// <summary>A copy as of now (the ledger's entries go on changing as parts load and release).</summary>
    internal NetworkMemory Snapshot() => (NetworkMemory)MemberwiseClone();
}

/// <summary>The memory of a CPU backend, network by network, plus the engine's own buffers.</summary>
/// <param name="Networks">Every part, in load order.</param>
/// <param name="BufferBytes">Bytes of the engine's pinned buffers (inputs, outputs, intermediates).</param>
/// <param name="PrepackWeights">Whether ONNX Runtime pre-packs weights (<see cref="Api.EngineOptions.PrepackWeights"/>).</param>
/// <param name="KeepReferenceNetworks">Whether the reference networks stay loaded (<see cref="Api.EngineOptions.KeepReferenceNetworks"/>).</param>
/// <param name="SharedArena">Whether every session allocates from one arena registered with the ONNX Runtime environment.</param>
/// <param name="Now">The process's memory when the ledger was taken.</param>
internal sealed record CpuMemoryLedger(IReadOnlyList<NetworkMemory> Networks, long BufferBytes, bool PrepackWeights, bool KeepReferenceNetworks, bool SharedArena, ProcessMemory Now)
{
    /// <summary>Weights of every part as stored in the bundle.</summary>
    public long WeightBytes => Networks.Sum(n => n.WeightBytes);

    /// <summary>Weights of the parts loaded now.</summary>
    public long LoadedWeightBytes => Networks.Where(n => n.Loaded).Sum(n => n.WeightBytes);

    /// <summary>Resident bytes the loads of the parts loaded now added, plus their first runs.</summary>
    public long LoadedResidentBytes => Networks.Where(n => n.Loaded).Sum(n => n.LoadResidentDelta + n.FirstRunResidentDelta);

    /// <summary>Sums by group ("reference", "unet", "stream"): (weights, load delta, first-run delta) of the group's parts.</summary>
    public IReadOnlyDictionary<string, (long Weights, long Load, long FirstRun)> ByGroup =>
        Networks.GroupBy(n => n.Group, StringComparer.Ordinal).ToDictionary(
            g => g.Key,
            g => (g.Sum(n => n.WeightBytes), g.Sum(n => n.LoadResidentDelta), g.Sum(n => n.FirstRunResidentDelta)),
            StringComparer.Ordinal);
}

/// <summary>
/// Session options and loading shared by every part of a CPU backend: one ONNX Runtime arena for all sessions (each
/// session otherwise grows and keeps its own), pre-packing on or off, and the memory ledger.
/// </summary>
internal sealed class CpuSessionFactory : IDisposable
{
    /// <summary>Whether activations come from a shared arena by default (see the constructor).</summary>
    internal const bool DefaultActivationArena = true;

    private static readonly Lock SharedArenaLock = new();
    private static bool _sharedArenaRegistered;
    private readonly Dictionary<string, NetworkMemory> _ledger = new(StringComparer.Ordinal);

    /// <param name="bundle">The bundle.</param>
    /// <param name="threads">ONNX Runtime intra-op threads (0: all cores).</param>
    /// <param name="prepackWeights">Whether ONNX Runtime pre-packs constant weights.</param>
    /// <param name="activationArena">
    /// Activations from one arena shared by every session (it keeps the largest part's need); off, from plain malloc,
    /// freed after every run (the C heap keeps what it can reuse).
    /// </param>
    public CpuSessionFactory(ModelBundle bundle, int threads, bool prepackWeights, bool activationArena = DefaultActivationArena)
    {
        Bundle = bundle;
        PrepackWeights = prepackWeights;
        Options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };

        // ONNX Runtime's workers spin after each run by default; between the 43 UNet parts that steals the cores the C#
        // attention needs, so they sleep instead.
        Options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        if (!prepackWeights)
            Options.AddSessionConfigEntry("session.disable_prepacking", "1");

        // Weights are allocated with plain malloc, not carved from an arena: an arena grows in powers of two and never
        // gives memory back, so released reference networks would stay resident and 5 GB of UNet weights would reserve more.
        Options.AddSessionConfigEntry("session.use_device_allocator_for_initializers", "1");

        // No memory patterns: with them every one of the 43 UNet sessions plans and keeps one block per run shape, and the
        // process stayed 0.42 GB larger. Off, tensors come one by one from the shared arena. Measured at the bench preset
        // (RAIN's widths, 128², `rain bench --warmup 0 --steps 2`, 2-core EPYC, same sitting): peak RSS 6.30 GB -> 5.88 GB;
        // step time unchanged within the shared machine's noise (31.3 s vs 33.6 s, GEMM baselines 37.8 vs 35.0 GFLOP/s).
        Options.EnableMemoryPattern = false;
        SharedArena = activationArena && RegisterSharedArena();
        if (SharedArena)
            Options.AddSessionConfigEntry("session.use_env_allocators", "1");
        else if (!activationArena)
            Options.EnableCpuMemArena = false;
    }

    public ModelBundle Bundle { get; }

    public SessionOptions Options { get; }

    public bool PrepackWeights { get; }

    public bool SharedArena { get; }

    /// <summary>Every part's ledger entry as of now, in the order they were first loaded.</summary>
    public IReadOnlyList<NetworkMemory> Ledger => [.. _ledger.Values.Select(n => n.Snapshot())];

    /// <summary>Creates the part's session, recording what its load adds to the resident set.</summary>
    public OrtNetwork Load(string part, string group)
    {
        if (!_ledger.TryGetValue(part, out var entry))
            _ledger[part] = entry = new NetworkMemory(part, group, WeightBytesOf(part));
        var before = ProcessMemory.Now();
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        var network = new OrtNetwork(Bundle, part, Options, entry);

        // Creating a session frees what it read and replaced (the model's protobuf, each pre-packed weight's original):
        // below glibc's mmap threshold those are holes in the C heap that stay resident until trimmed, and the next part's
        // weights do not all fit in them. Trimming after every load gives them back before the next part loads.
        NativeHeap.Trim();
        var after = ProcessMemory.Now();
        entry.LoadSeconds = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
        entry.LoadResidentDelta = after.Resident - before.Resident;
        entry.LoadAnonymousDelta = after.Anonymous - before.Anonymous;
        entry.FirstRunResidentDelta = 0;
        entry.Loaded = true;
        entry.Loads++;
        return network;
    }

    public void Dispose() => Options.Dispose();

    private long WeightBytesOf(string part)
    {
        var m = Bundle.Part(part);
        long bytes = new FileInfo(Path.Combine(Bundle.Folder, m.File)).Length;
        if (m.DataFile is { } data)
            bytes += new FileInfo(Path.Combine(Bundle.Folder, data)).Length;
        return bytes;
    }

    // One CPU arena for the process, registered with the environment once; sessions opt in with session.use_env_allocators.
    private static bool RegisterSharedArena()
    {
        lock (SharedArenaLock)
        {
            if (_sharedArenaRegistered)
                return true;
            try
            {
                using var info = new OrtMemoryInfo(OrtMemoryInfo.allocatorCPU, OrtAllocatorType.ArenaAllocator, 0, OrtMemType.Default);
                // Extend by what is asked (1, kSameAsRequested), not to the next power of two: the arena holds the largest
                // part's activations, not up to twice that.
                using var arena = new OrtArenaCfg(0, 1, -1, -1);
                OrtEnv.Instance().CreateAndRegisterAllocator(info, arena);
                _sharedArenaRegistered = true;
            }
            catch (OnnxRuntimeException)
            {
                // Already registered by someone else in this process (the host), or unsupported: per-session arenas.
                _sharedArenaRegistered = false;
            }

            return _sharedArenaRegistered;
        }
    }
}

/// <summary>
/// Gives the C heap's free pages back to the system (glibc <c>malloc_trim</c>): ONNX Runtime's weights are many
/// allocations below glibc's mmap threshold, so freeing a released network's weights leaves them resident in the heap
/// until trimmed. A no-op where there is no glibc.
/// </summary>
internal static partial class NativeHeap
{
    public static void Trim()
    {
        if (!OperatingSystem.IsLinux())
            return;
        try
        {
            _ = MallocTrim(0);
        }
        catch (DllNotFoundException)
        {
            // not glibc
        }
        catch (EntryPointNotFoundException)
        {
            // musl has no malloc_trim
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}

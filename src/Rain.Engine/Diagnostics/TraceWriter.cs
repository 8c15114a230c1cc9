using System.Diagnostics;
using System.Text.Json;

namespace Rain.Engine.Diagnostics;

/// <summary>
/// A timeline of what the engine did, written as a Chrome trace-event file (the JSON that Perfetto UI and
/// chrome://tracing open): one complete event per stage per step on the thread that ran it, the UNet's parts and
/// attention cores inside one UNet event, flow arrows that follow each frame from its pose entering the session to the
/// frame leaving it, queue depths as counters, and process and thread names. Pass one in
/// <see cref="Api.EngineOptions.Trace"/> (off by default: without a writer nothing is recorded and nothing is paid).
/// </summary>
/// <remarks>
/// <para><b>Memory is bounded.</b> Events go into a ring of <see cref="Capacity"/> fixed-size records (64 bytes
/// each) allocated here, so recording never allocates; when the ring is full the oldest events are overwritten
/// (<see cref="EventsOverwritten"/>) and a file holds the most recent ones. A CPU step of the golden bundle records about
/// 110 events, so the default keeps the last thousand or so steps in 8 MiB.</para>
/// <para><b>Threading.</b> Every member is thread-safe: the engine's threads record while a host thread may
/// <see cref="Write(Stream)"/> a snapshot at any time. Timestamps are <see cref="Stopwatch"/> ticks, written as
/// microseconds since the writer was created.</para>
/// </remarks>
public sealed class TraceWriter
{
    /// <summary>The default ring size in events.</summary>
    public const int DefaultCapacity = 1 << 17;

    /// <summary>Bytes of one event in the ring.</summary>
    internal static readonly int RecordBytes = System.Runtime.CompilerServices.Unsafe.SizeOf<Record>();

    /// <summary>The thread id of the device track (GPU work timed with CUDA events), a pseudo-thread in the file.</summary>
    internal const int DeviceTrack = 1_000_000;

    private static readonly double MicrosecondsPerTick = 1e6 / Stopwatch.Frequency;

    [ThreadStatic]
    private static TraceWriter? t_registeredWith;

    private readonly Lock _lock = new();
    private readonly Record[] _ring;
    // Sized for every name a run uses (stages, the UNet's parts and attention cores, session events) and its threads, so
    // that even the first step records without allocating.
    private readonly Dictionary<string, int> _nameIds = new(1024, StringComparer.Ordinal);
    private readonly List<string> _names = new(1024);
    private readonly Dictionary<int, string> _threads = new(64);
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);
    private readonly long _origin = Stopwatch.GetTimestamp();
    private long _recorded;

    /// <summary>Creates a writer keeping the most recent <paramref name="capacity"/> events.</summary>
    /// <param name="capacity">Ring size in events, 1 024 to 16 777 216.</param>
    /// <exception cref="ArgumentOutOfRangeException">The capacity is outside that range.</exception>
    public TraceWriter(int capacity = DefaultCapacity)
    {
        if (capacity is < 1024 or > 1 << 24)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "A trace keeps 1024 to 16777216 events.");
        _ring = new Record[capacity];
        _threads[DeviceTrack] = "GPU (CUDA events)";
    }

    /// <summary>The process name shown in the viewer.</summary>
    public string ProcessName { get; init; } = "Rain.Engine";

    /// <summary>Events kept at most (the ring size).</summary>
    public int Capacity => _ring.Length;

    /// <summary>Events recorded since creation, including those overwritten.</summary>
    public long EventsRecorded
    {
        get
        {
            lock (_lock)
                return _recorded;
        }
    }

    /// <summary>Events lost because the ring was full (the oldest go first).</summary>
    public long EventsOverwritten => Math.Max(0, EventsRecorded - _ring.Length);

    /// <summary>Adds a key and value to the file's <c>otherData</c> (the command, the backend, the machine, …).</summary>
    public void SetMetadata(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        lock (_lock)
            _metadata[key] = value;
    }

    /// <summary>Names the calling thread in the trace (otherwise its <see cref="Thread.Name"/>, or "thread N").</summary>
    public void NameThread(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_lock)
            _threads[Environment.CurrentManagedThreadId] = name;
        t_registeredWith = this;
    }

    /// <summary>
    /// Records a complete event (a slice) of the calling thread, for hosts that put their own work on the engine's
    /// timeline (writing frames, say). Timestamps are <see cref="Stopwatch.GetTimestamp"/> values.
    /// </summary>
    public void Complete(string name, string category, long startTimestamp, long endTimestamp)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(category);
        Add(new Record { Kind = Kind.Slice, Start = startTimestamp, End = endTimestamp }, name, category);
    }

    /// <summary>Writes the events kept (oldest first) as a Chrome trace-event JSON object.</summary>
    public void Write(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Record[] events;
        string[] names;
        KeyValuePair<int, string>[] threads;
        KeyValuePair<string, string>[] metadata;
        long overwritten;
        lock (_lock)
        {
            int n = (int)Math.Min(_recorded, _ring.Length);
            events = new Record[n];
            int first = (int)((_recorded - n) % _ring.Length);
            for (int i = 0; i < n; i++)
                events[i] = _ring[(first + i) % _ring.Length];
            names = [.. _names];
            threads = [.. _threads];
            metadata = [.. _metadata];
            overwritten = Math.Max(0, _recorded - _ring.Length);
        }

        int pid = Environment.ProcessId;
        using var w = new Utf8JsonWriter(stream);
        w.WriteStartObject();
        w.WriteString("displayTimeUnit", "ms");
        w.WriteStartObject("otherData");
        foreach (var (key, value) in metadata)
            w.WriteString(key, value);
        w.WriteNumber("events_overwritten", overwritten);
        w.WriteEndObject();
        w.WriteStartArray("traceEvents");
        WriteMetadata(w, pid, "process_name", null, ProcessName);
        foreach (var (tid, name) in threads.OrderBy(t => t.Key))
        {
            WriteMetadata(w, pid, "thread_name", tid, name);
            w.WriteStartObject();
            w.WriteString("ph", "M");
            w.WriteString("name", "thread_sort_index");
            w.WriteNumber("pid", pid);
            w.WriteNumber("tid", tid);
            w.WriteStartObject("args");
            w.WriteNumber("sort_index", SortIndex(name, tid));
            w.WriteEndObject();
            w.WriteEndObject();
        }

        foreach (var e in events)
            WriteEvent(w, e, names, pid);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Writes the trace to <paramref name="path"/> (see <see cref="Write(Stream)"/>).</summary>
    public void Save(string path)
    {
        using var file = File.Create(path);
        Write(file);
    }

    internal void Slice(string name, string category, long start, long end) =>
        Add(new Record { Kind = Kind.Slice, Start = start, End = end }, name, category);

    internal void Slice(string name, string category, long start, long end, Args args, long a0, long a1 = 0, double value = 0, int thread = 0) =>
        Add(new Record { Kind = Kind.Slice, Start = start, End = end, Args = args, A0 = a0, A1 = a1, Value = value, Tid = thread }, name, category);

    internal void Flow(Kind kind, string name, long id, long at) =>
        Add(new Record { Kind = kind, Start = at, End = at, Id = id }, name, name);

    internal void Instant(string name, string category, long at) =>
        Add(new Record { Kind = Kind.Instant, Start = at, End = at }, name, category);

    internal void Counter(string name, long at, Args args, long a0, long a1) =>
        Add(new Record { Kind = Kind.Counter, Start = at, End = at, Args = args, A0 = a0, A1 = a1 }, name, name);

    private void Add(Record record, string name, string category)
    {
        bool register = t_registeredWith != this;
        lock (_lock)
        {
            if (record.Tid == 0)
            {
                record.Tid = Environment.CurrentManagedThreadId;
                if (register && !_threads.ContainsKey(record.Tid))
                    _threads[record.Tid] = Thread.CurrentThread.Name ?? $"thread {record.Tid}";
            }

            record.Name = Intern(name);
            record.Category = Intern(category);
            _ring[_recorded % _ring.Length] = record;
            _recorded++;
        }

        if (register && record.Tid == Environment.CurrentManagedThreadId)
            t_registeredWith = this;
    }

    private int Intern(string s)
    {
        if (_nameIds.TryGetValue(s, out int id))
            return id;
        id = _names.Count;
        _names.Add(s);
        _nameIds[s] = id;
        return id;
    }

    // The session's step thread first, then the host's threads, the GPU track last.
    private static int SortIndex(string name, int tid) => tid == DeviceTrack ? 1000 : name == "rain-session" ? 0 : name.StartsWith("rain-", StringComparison.Ordinal) ? 1 : 2;

    private static void WriteMetadata(Utf8JsonWriter w, int pid, string what, int? tid, string name)
    {
        w.WriteStartObject();
        w.WriteString("ph", "M");
        w.WriteString("name", what);
        w.WriteNumber("pid", pid);
        if (tid is { } t)
            w.WriteNumber("tid", t);
        w.WriteStartObject("args");
        w.WriteString("name", name);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private void WriteEvent(Utf8JsonWriter w, in Record e, string[] names, int pid)
    {
        w.WriteStartObject();
        w.WriteString("name", names[e.Name]);
        w.WriteString("cat", names[e.Category]);
        w.WriteString("ph", e.Kind switch
        {
            Kind.Slice => "X",
            Kind.Instant => "i",
            Kind.FlowStart => "s",
            Kind.FlowStep => "t",
            Kind.FlowEnd => "f",
            _ => "C",
        });
        w.WriteNumber("ts", Microseconds(e.Start));
        if (e.Kind == Kind.Slice)
            w.WriteNumber("dur", Math.Round((e.End - e.Start) * MicrosecondsPerTick, 3));
        w.WriteNumber("pid", pid);
        w.WriteNumber("tid", e.Tid);
        if (e.Kind is Kind.FlowStart or Kind.FlowStep or Kind.FlowEnd)
            w.WriteString("id", $"0x{e.Id:x}");
        if (e.Kind == Kind.FlowEnd)
            w.WriteString("bp", "e"); // bind to the slice enclosing the end, not the next one
        if (e.Kind == Kind.Instant)
            w.WriteString("s", "t");
        switch (e.Args)
        {
            case Args.Step:
                w.WriteStartObject("args");
                w.WriteNumber("step", e.A0);
                if (e.A1 >= 0)
                    w.WriteNumber("decoded_chunk", e.A1);
                w.WriteEndObject();
                break;
            case Args.Frame:
                w.WriteStartObject("args");
                w.WriteNumber("frame", e.A0);
                w.WriteNumber("latency_ms", Math.Round(e.Value, 3));
                w.WriteEndObject();
                break;
            case Args.Pose:
                w.WriteStartObject("args");
                w.WriteNumber("queued", e.A0);
                w.WriteEndObject();
                break;
            case Args.Queues:
                w.WriteStartObject("args");
                w.WriteNumber("input", e.A0);
                w.WriteNumber("output", e.A1);
                w.WriteEndObject();
                break;
            case Args.Step0:
                w.WriteStartObject("args");
                w.WriteNumber("step", e.A0);
                w.WriteEndObject();
                break;
        }

        w.WriteEndObject();
    }

    private double Microseconds(long timestamp) => Math.Round((timestamp - _origin) * MicrosecondsPerTick, 3);

    /// <summary>What a record is.</summary>
    internal enum Kind : byte
    {
        Slice,
        Instant,
        FlowStart,
        FlowStep,
        FlowEnd,
        Counter,
    }

    /// <summary>Which arguments a record carries (their names are fixed, so recording stores numbers only).</summary>
    internal enum Args : byte
    {
        None,

        /// <summary>step (A0), decoded_chunk (A1, when ≥ 0).</summary>
        Step,

        /// <summary>frame (A0), latency_ms (Value).</summary>
        Frame,

        /// <summary>queued (A0).</summary>
        Pose,

        /// <summary>input (A0), output (A1).</summary>
        Queues,

        /// <summary>step (A0) only.</summary>
        Step0,
    }

    private struct Record
    {
        public long Start, End, Id, A0, A1;
        public double Value;
        public int Name, Category, Tid;
        public Kind Kind;
        public Args Args;
    }
}

using System.Globalization;
using System.Text.Json;

namespace Rain.Cli;

/// <summary>A Chrome trace-event file read back for drawing: its slices, flow points and thread names (microseconds).</summary>
internal sealed class TraceFile
{
    private TraceFile()
    {
    }

    public List<TraceSlice> Slices { get; } = [];

    public List<TraceFlowPoint> Flows { get; } = [];

    public Dictionary<int, string> Threads { get; } = [];

    public Dictionary<int, int> SortIndex { get; } = [];

    public static TraceFile Read(Stream json)
    {
        using var document = JsonDocument.Parse(json);
        var trace = new TraceFile();
        foreach (var e in document.RootElement.GetProperty("traceEvents").EnumerateArray())
        {
            string ph = e.GetProperty("ph").GetString()!;
            string name = e.GetProperty("name").GetString()!;
            int tid = e.TryGetProperty("tid", out var t) ? t.GetInt32() : 0;
            switch (ph)
            {
                case "M" when name == "thread_name":
                    trace.Threads[tid] = e.GetProperty("args").GetProperty("name").GetString()!;
                    break;
                case "M" when name == "thread_sort_index":
                    trace.SortIndex[tid] = e.GetProperty("args").GetProperty("sort_index").GetInt32();
                    break;
                case "X":
                    var args = e.TryGetProperty("args", out var a) ? a : default;
                    trace.Slices.Add(new TraceSlice(name, e.GetProperty("cat").GetString()!, tid, e.GetProperty("ts").GetDouble(), e.GetProperty("dur").GetDouble(),
                        Number(args, "step"), Number(args, "decoded_chunk"), Number(args, "frame"),
                        args.ValueKind == JsonValueKind.Object && args.TryGetProperty("latency_ms", out var l) ? l.GetDouble() : null));
                    break;
                case "s" or "t" or "f":
                    trace.Flows.Add(new TraceFlowPoint(e.GetProperty("cat").GetString()!, e.GetProperty("id").GetString()!, ph[0], tid, e.GetProperty("ts").GetDouble()));
                    break;
            }
        }

        return trace;
    }

    public string ThreadName(int tid) => Threads.TryGetValue(tid, out var n) ? n : string.Create(CultureInfo.InvariantCulture, $"thread {tid}");

    private static long? Number(JsonElement args, string name) =>
        args.ValueKind == JsonValueKind.Object && args.TryGetProperty(name, out var v) ? v.GetInt64() : null;
}

/// <summary>A complete event: name, category, thread, start and duration (µs), and the arguments the engine writes.</summary>
internal sealed record TraceSlice(string Name, string Category, int Tid, double Ts, double Dur, long? Step, long? DecodedChunk, long? Frame, double? LatencyMs)
{
    public double End => Ts + Dur;
}

/// <summary>One point of a flow ('s' start, 't' step, 'f' end).</summary>
internal sealed record TraceFlowPoint(string Category, string Id, char Phase, int Tid, double Ts);

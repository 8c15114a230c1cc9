using System.CommandLine;
using System.Globalization;
using Rain.Engine.Diagnostics;

namespace Rain.Cli;

/// <summary>
/// The <c>--trace</c>, <c>--trace-png</c> and <c>--trace-events</c> options, shared by bench, run and demo (a command adds
/// them with <see cref="AddTo"/> and reads them with <see cref="Get"/>).
/// </summary>
internal sealed class TraceOptions
{
    public Option<string?> Json { get; } = new("--trace")
    {
        Description = "write a timeline of the run as a Chrome trace-event JSON file (open it in https://ui.perfetto.dev or chrome://tracing)",
    };

    public Option<string?> Png { get; } = new("--trace-png") { Description = "draw a few steps of that timeline as a PNG" };

    public Option<int> Events { get; } = new("--trace-events")
    {
        Description = "events the trace keeps (a ring: the most recent ones; 64 bytes each)",
        DefaultValueFactory = _ => TraceWriter.DefaultCapacity,
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Json);
        command.Options.Add(Png);
        command.Options.Add(Events);
    }

    public TraceRequest Get(ParseResult result) => new(result.GetValue(Json), result.GetValue(Png), result.GetValue(Events));
}

/// <summary>What the command line asked to trace: where the JSON and the picture go, and the ring size.</summary>
internal sealed record TraceRequest(string? JsonPath, string? PngPath, int Capacity = TraceWriter.DefaultCapacity)
{
    public static TraceRequest None { get; } = new(null, null);

    /// <summary>A writer for the run, or null when no trace was asked for (then nothing is recorded).</summary>
    /// <exception cref="ArgumentException">The capacity is out of range (the message says the range).</exception>
    public TraceWriter? CreateWriter(string command)
    {
        if (JsonPath is null && PngPath is null)
            return null;
        if (Capacity is < 1024 or > 1 << 24)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--trace-events must be 1024 to 16777216 (the events the trace keeps); got {Capacity}."));
        foreach (string? path in new[] { JsonPath, PngPath })
        {
            if (path is not null && Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder)
                Directory.CreateDirectory(folder);
        }

        var writer = new TraceWriter(Capacity) { ProcessName = $"rain {command}" };
        writer.SetMetadata("command", $"rain {command}");
        writer.SetMetadata("machine", LatencyReport.Machine());
        writer.NameThread(command == "bench" ? "main (runs the steps)" : "main (writes frames)");
        return writer;
    }

    /// <summary>Writes the JSON and the picture the command line asked for and says where they went.</summary>
    public void Finish(TraceWriter? writer, string title, TextWriter o)
    {
        if (writer is null)
            return;
        var ci = CultureInfo.InvariantCulture;
        using var json = new MemoryStream();
        writer.Write(json);
        if (JsonPath is not null)
        {
            File.WriteAllBytes(JsonPath, json.ToArray());
            o.WriteLine(string.Create(ci, $"trace: {JsonPath} ({writer.EventsRecorded - writer.EventsOverwritten} events{(writer.EventsOverwritten > 0 ? $", the oldest {writer.EventsOverwritten} overwritten" : "")}); open it in https://ui.perfetto.dev or chrome://tracing"));
        }

        if (PngPath is not null)
        {
            json.Position = 0;
            if (TraceChart.Write(PngPath, TraceFile.Read(json), title))
                o.WriteLine($"trace picture: {PngPath}");
            else
                o.WriteLine($"trace picture: none (the trace holds no step), {PngPath} not written");
        }
    }
}

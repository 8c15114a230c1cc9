using Rain.Engine.Bundle;
using Rain.Engine.Interop.TensorRt;

namespace Rain.Engine.Backends.TensorRt;

/// <summary>
/// Every part of a bundle as a deserialized TensorRT engine with its execution context (<see cref="TrtPartRunner"/>),
/// made once per engine. The contexts share one activation arena sized to the largest
/// <see cref="TrtPartRunner.DeviceMemorySize"/>: the parts run one after another on one stream, so their scratch
/// memory never overlaps in time.
/// </summary>
/// <remarks>Not thread-safe. Dispose after the step that enqueues the parts (contexts go before engines, engines before the runtime).</remarks>
internal sealed class TrtEngineSet : IDisposable
{
    private readonly TrtMessages _messages;
    private readonly TrtRuntime _runtime;
    private readonly Dictionary<string, TrtPartRunner> _parts = new(StringComparer.Ordinal);

    /// <summary>Deserializes each plan once and checks it against its part's contract.</summary>
    /// <param name="library">The loaded TensorRT.</param>
    /// <param name="parts">Part name, plan file and the bundle's contract of each part.</param>
    /// <exception cref="TrtException">A plan cannot be read or deserialized, or breaks its contract (named with the TensorRT log's errors).</exception>
    public TrtEngineSet(TrtLibrary library, IEnumerable<(string Part, string PlanPath, PartManifest Contract)> parts)
    {
        ArgumentNullException.ThrowIfNull(library);
        ArgumentNullException.ThrowIfNull(parts);
        var logger = TrtLogger.For(library.Slots);
        _messages = new TrtMessages(logger);
        using (var built = new Owned(this))
        {
            _runtime = new TrtRuntime(library, logger);
            foreach (var (part, planPath, contract) in parts)
            {
                TrtEngine engine;
                try
                {
                    engine = _runtime.DeserializeEngine(File.ReadAllBytes(planPath));
                }
                catch (TrtException e)
                {
                    throw new TrtException($"{planPath} (part {part}): {e.Message} {TakeErrors()}".TrimEnd(), e);
                }

                _parts.Add(part, new TrtPartRunner(part, planPath, engine, contract, _messages.TakeErrors));
            }

            built.Commit();
        }

        ArenaBytes = _parts.Values.Select(p => p.DeviceMemorySize).DefaultIfEmpty(0).Max();
    }

    /// <summary>The activation arena's size: the largest scratch any context needs.</summary>
    public long ArenaBytes { get; }

    /// <summary>The parts by name.</summary>
    public IReadOnlyDictionary<string, TrtPartRunner> Parts => _parts;

    /// <summary>The runner of <paramref name="part"/>.</summary>
    public TrtPartRunner this[string part] => _parts.TryGetValue(part, out var runner) ? runner
        : throw new KeyNotFoundException($"No TensorRT engine for part '{part}' (loaded: {string.Join(", ", _parts.Keys)}).");

    /// <summary>Points every context at the one arena (<paramref name="bytes"/> ≥ <see cref="ArenaBytes"/>).</summary>
    public void UseArena(ulong address, long bytes)
    {
        if (bytes < ArenaBytes)
            throw new TrtException($"The activation arena has {bytes} bytes; the largest engine needs {ArenaBytes}.");
        foreach (var part in _parts.Values)
            part.UseArena(address, bytes);
    }

    /// <summary>TensorRT's error messages since the last call, as "TensorRT: a | b" (for exceptions), or "".</summary>
    public string TakeErrors() => _messages.TakeErrors();

    /// <summary>TensorRT's distinct warnings since the engines were loaded (for <c>BackendDescription</c>).</summary>
    public IReadOnlyList<string> Warnings => _messages.Warnings;

    /// <summary>Deletes the contexts, engines and the runtime.</summary>
    public void Dispose()
    {
        _runtime?.Dispose(); // children (engines, their contexts) first
        _messages.Dispose(); // stops listening; the process's logger itself lives on (TrtLogger)
    }
}

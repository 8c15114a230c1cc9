using Rain.Engine.Interop.TensorRt;

namespace Rain.Engine.Backends.TensorRt;

/// <summary>
/// The TensorRT timing cache of one plan folder (<c>engines/&lt;gpu-key&gt;/timing.cache</c>, keyed like the plans by
/// TensorRT version, SM and precision, and by the GPU's name in the folder's index): loaded once, given to every part's
/// build, written back after each built part (so an interrupted build keeps what it measured). A cache measured on
/// another GPU model is not loaded; one TensorRT refuses is replaced by a new, empty one. Disposed after every builder
/// that used it (TensorRT requires the cache to outlive them).
/// </summary>
internal sealed class PlanTimingCache : IDisposable
{
    public const string FileName = "timing.cache";
    private readonly string _path;
    private byte[] _loaded = [];
    private TrtTimingCache? _cache;

    public PlanTimingCache(string folder, string device, EngineIndex? previous)
    {
        _path = Path.Combine(folder, FileName);
        Device = device;
        if (!File.Exists(_path))
            return;
        if (previous?.TimingCacheDevice != device)
            Note = $"{_path} was measured on {previous?.TimingCacheDevice ?? "an unknown GPU"}, not on {device}: starting a new cache";
        else
            _loaded = File.ReadAllBytes(_path);
    }

    /// <summary>The GPU the cache's measurements are for.</summary>
    public string Device { get; }

    /// <summary>Bytes of the cache loaded from disk (0 for a new cache).</summary>
    public long LoadedBytes => _loaded.Length;

    /// <summary>Why the cache on disk was not used, or null.</summary>
    public string? Note { get; private set; }

    /// <summary>Lets <paramref name="config"/>'s build use (and extend) the folder's cache.</summary>
    public void Apply(TrtBuilderConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _cache ??= config.CreateTimingCache(_loaded);
        if (config.UseTimingCache(_cache))
            return;
        if (_loaded.Length == 0)
            throw new TrtException("IBuilderConfig.setTimingCache refused a new, empty timing cache; see the TensorRT log.");
        // A cache TensorRT does not accept (another TensorRT build or GPU despite the key): measure anew.
        Note = $"TensorRT refused {_path} ({_loaded.Length} bytes): starting a new cache";
        _cache.Dispose();
        _loaded = [];
        _cache = config.CreateTimingCache(_loaded);
        if (!config.UseTimingCache(_cache))
            throw new TrtException("IBuilderConfig.setTimingCache refused a new, empty timing cache; see the TensorRT log.");
    }

    /// <summary>Writes the cache beside the plans; returns its size (0 when no build used it yet).</summary>
    public long Save()
    {
        if (_cache is null)
            return 0;
        byte[] bytes = _cache.Serialize();
        string temp = _path + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, _path, overwrite: true);
        return bytes.LongLength;
    }

    public void Dispose() => _cache?.Dispose();
}

using System.Text.Json;
using Rain.Models.Weights;

namespace Rain.Models.Config;

/// <summary>A JSON configuration file (diffusers / transformers <c>config.json</c>) with typed getters whose errors name the file and key.</summary>
public sealed class JsonConfig
{
    private readonly JsonElement _root;

    private JsonConfig(string path, JsonElement root)
    {
        Path = path;
        _root = root;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Largest configuration file read (RAIN's are a few KB).</summary>
    public const int MaxBytes = 4 << 20;

    /// <summary>Reads a file.</summary>
    public static JsonConfig Load(string path) => Parse(path, ReadText(path));

    /// <summary>
    /// A configuration file's text, read up to <see cref="MaxBytes"/> (a path that names a device or a huge file is refused
    /// instead of read without end).
    /// </summary>
    internal static string ReadText(string path)
    {
        if (!File.Exists(path))
            throw new ModelExportException($"{path}: configuration file not found.");
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            using var text = new MemoryStream();
            var chunk = new byte[1 << 16];
            int n;
            while ((n = stream.Read(chunk)) > 0)
            {
                text.Write(chunk, 0, n);
                if (text.Length > MaxBytes)
                    throw new ModelExportException($"{path}: more than {MaxBytes >> 20} MB; not a configuration file.");
            }

            return new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(text.GetBuffer(), 0, (int)text.Length).TrimStart('\uFEFF');
        }
        catch (System.Text.DecoderFallbackException e)
        {
            throw new ModelExportException($"{path}: not UTF-8 text.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelExportException($"{path}: cannot be read ({e.Message}).", e);
        }
    }

    /// <summary>Parses configuration text; <paramref name="origin"/> names it in errors.</summary>
    public static JsonConfig Parse(string origin, string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return new JsonConfig(origin, doc.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new ModelExportException($"{origin}: not valid JSON ({e.Message}).", e);
        }
    }

    /// <summary>True when the key exists and is not null.</summary>
    public bool Has(string key) => _root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>An integer value.</summary>
    public int GetInt(string key) => Get(key, JsonValueKind.Number, v => v.TryGetInt32(out int i) ? i : throw Bad(key, v, "an integer"));

    /// <summary>An integer value with a default.</summary>
    public int GetInt(string key, int fallback) => Has(key) ? GetInt(key) : fallback;

    /// <summary>A float value.</summary>
    public float GetFloat(string key) => Get(key, JsonValueKind.Number, v => (float)v.GetDouble());

    /// <summary>A float value with a default.</summary>
    public float GetFloat(string key, float fallback) => Has(key) ? GetFloat(key) : fallback;

    /// <summary>A boolean value with a default.</summary>
    public bool GetBool(string key, bool fallback) =>
        !Has(key) ? fallback : _root.GetProperty(key).ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(key, _root.GetProperty(key), "true or false"),
        };

    /// <summary>A string value with a default.</summary>
    public string GetText(string key, string fallback) => Has(key) ? Get(key, JsonValueKind.String, v => v.GetString()!) : fallback;

    /// <summary>An array of integers.</summary>
    public int[] GetInts(string key) => Get(key, JsonValueKind.Array, v => v.EnumerateArray().Select(e => e.TryGetInt32(out int i) ? i : throw Bad(key, v, "an array of integers")).ToArray());

    /// <summary>An array of strings.</summary>
    public string[] GetTexts(string key) => Get(key, JsonValueKind.Array, v => v.EnumerateArray().Select(e => e.GetString() ?? throw Bad(key, v, "an array of strings")).ToArray());

    /// <summary>An error for a value the architecture cannot take.</summary>
    public ModelExportException Unsupported(string key, string value, string why) => new($"{Path}: '{key}' = {value} is not supported: {why}.");

    private T Get<T>(string key, JsonValueKind kind, Func<JsonElement, T> read)
    {
        if (!_root.TryGetProperty(key, out var v))
            throw new ModelExportException($"{Path}: missing key '{key}'.");
        if (v.ValueKind != kind)
            throw Bad(key, v, kind.ToString().ToLowerInvariant());
        return read(v);
    }

    private ModelExportException Bad(string key, JsonElement v, string expected) => new($"{Path}: '{key}' is {v.GetRawText()}, expected {expected}.");
}

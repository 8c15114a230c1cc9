using System.Globalization;
using Rain.Models.Weights;
using YamlDotNet.RepresentationModel;

namespace Rain.Models.Config;

/// <summary>
/// RAIN's <c>configs/rain_morpher.yaml</c>: image size, window sizes, the weight and config paths (relative to the RAIN
/// root) and <c>unet_additional_kwargs</c> (motion modules, cond_proj_dim). Errors name the file and the key.
/// </summary>
public sealed class RainConfig
{
    private readonly YamlMappingNode _root;

    private RainConfig(string path, string root, YamlMappingNode node)
    {
        Path = path;
        Root = root;
        _root = node;
    }

    /// <summary>The yaml file.</summary>
    public string Path { get; }

    /// <summary>The RAIN root that relative paths are resolved against.</summary>
    public string Root { get; }

    /// <summary>Reads the yaml; <paramref name="root"/> defaults to the folder above the yaml's <c>configs/</c> folder.</summary>
    public static RainConfig Load(string path, string? root = null)
    {
        string text = JsonConfig.ReadText(path);
        var stream = new YamlStream();
        try
        {
            using var reader = new StringReader(text);
            stream.Load(reader);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new ModelExportException($"{path}: not valid YAML ({e.Message}).", e);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode map)
            throw new ModelExportException($"{path}: expected a mapping at the top level.");
        root ??= System.IO.Path.GetDirectoryName(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)))!;
        return new RainConfig(path, root, map);
    }

    /// <summary>Image height.</summary>
    public int Height => GetInt(_root, "height");

    /// <summary>Image width.</summary>
    public int Width => GetInt(_root, "width");

    /// <summary>Frames per chunk p (<c>temporal_adaptive_step</c> in the morpher).</summary>
    public int FramesPerChunk => GetInt(_root, "temporal_adaptive_step");

    /// <summary>Noise levels L (<c>temporal_window_size</c> in the morpher).</summary>
    public int Levels => GetInt(_root, "temporal_window_size");

    /// <summary>A path value resolved against <see cref="Root"/>.</summary>
    public string ResolvePath(string key) => System.IO.Path.GetFullPath(System.IO.Path.Combine(Root, Scalar(_root, key)));

    /// <summary>The top-level mapping.</summary>
    internal YamlMappingNode RootMap => _root;

    /// <summary>The <c>unet_additional_kwargs</c> mapping.</summary>
    internal YamlMappingNode UnetAdditionalKwargs => Child(_root, "unet_additional_kwargs");

    /// <summary>An integer under a mapping.</summary>
    internal int GetInt(YamlMappingNode map, string key) =>
        int.TryParse(Scalar(map, key), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw Bad(key, Scalar(map, key), "an integer");

    /// <summary>A finite number under a mapping.</summary>
    internal double GetNumber(YamlMappingNode map, string key) =>
        double.TryParse(Scalar(map, key), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v : throw Bad(key, Scalar(map, key), "a finite number");

    /// <summary>A boolean under a mapping (YAML true/false).</summary>
    internal bool GetBool(YamlMappingNode map, string key) =>
        Scalar(map, key).ToLowerInvariant() switch
        {
            "true" => true,
            "false" => false,
            var s => throw Bad(key, s, "true or false"),
        };

    /// <summary>True when the mapping has the key.</summary>
    internal static bool Has(YamlMappingNode map, string key) => map.Children.ContainsKey(new YamlScalarNode(key));

    /// <summary>A scalar under a mapping.</summary>
    internal string Scalar(YamlMappingNode map, string key) =>
        Node(map, key) is YamlScalarNode s ? s.Value ?? "" : throw Bad(key, Node(map, key).ToString(), "a scalar");

    /// <summary>A sequence of scalars under a mapping.</summary>
    internal string[] Sequence(YamlMappingNode map, string key) =>
        Node(map, key) is YamlSequenceNode seq ? seq.Children.Select(c => (c as YamlScalarNode)?.Value ?? "").ToArray() : throw Bad(key, Node(map, key).ToString(), "a list");

    /// <summary>A child mapping.</summary>
    internal YamlMappingNode Child(YamlMappingNode map, string key) =>
        Node(map, key) is YamlMappingNode m ? m : throw Bad(key, Node(map, key).ToString(), "a mapping");

    /// <summary>An error for a value the architecture cannot take.</summary>
    internal ModelExportException Unsupported(string key, string value, string why) => new($"{Path}: '{key}' = {value} is not supported: {why}.");

    private YamlNode Node(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var n) ? n : throw new ModelExportException($"{Path}: missing key '{key}'.");

    private ModelExportException Bad(string key, string value, string expected) => new($"{Path}: '{key}' is {value}, expected {expected}.");
}

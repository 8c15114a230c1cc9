using System.Globalization;
using System.Text.Json;

namespace Rain.Engine.Pose;

/// <summary>
/// The JSON form of <see cref="RetargetOptions"/> (<c>--retarget FILE.json</c>). One object, in one of two shapes:
/// <list type="bullet">
/// <item>RAIN's calibration sliders by name — <c>{"face_length_ratio": 0.75, "eye_height_ratio": 3.0, …}</c>, any subset
/// of <see cref="RetargetSliders.Names"/>; missing sliders keep the web UI's starting values — turned into the 17-entry
/// list of <see cref="RetargetOptions.FromSliders"/>;</item>
/// <item>an explicit list — <c>{"translations": [{"lindex": 0, "rindex": 68, "horizontal_scale": 1.0,
/// "vertical_scale": 0.75, "horizontal_transition": 0.0, "vertical_transition": 0.0, "xaxis": [2, 14],
/// "relative_length": null}, …]}</c> — the fields of RAIN's <c>translation</c> class (as <c>dwpose_config.json</c> holds
/// them); only <c>lindex</c> and <c>rindex</c> are required, the rest default as in RAIN.</item>
/// </list>
/// Unknown fields are errors (a misspelt slider would otherwise be silently ignored); every error names the source,
/// the field's JSON path, and what was expected versus found.
/// </summary>
public static class RetargetJson
{
    private static readonly string[] TranslationFields =
        ["lindex", "rindex", "horizontal_scale", "vertical_scale", "horizontal_transition", "vertical_transition", "xaxis", "relative_length"];

    /// <summary>Parses <paramref name="json"/>; <paramref name="source"/> (a file name) prefixes every error.</summary>
    /// <exception cref="FormatException">Malformed JSON, an unknown field, a value of the wrong type, or an invalid translation.</exception>
    public static RetargetOptions Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new FormatException($"{source}: not valid JSON ({e.Message}).", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Error(source, "$", "an object (slider names, or \"translations\")", Describe(root));
            try
            {
                return root.TryGetProperty("translations", out var list) ? ParseList(source, root, list) : ParseSliders(source, root);
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"{source}: {e.Message}", e);
            }
        }
    }

    private static RetargetOptions ParseSliders(string source, JsonElement root)
    {
        var sliders = new RetargetSliders();
        foreach (var p in root.EnumerateObject())
        {
            if (!RetargetSliders.Names.Contains(p.Name))
            {
                throw new FormatException($"{source}: unknown field '{p.Name}'; expected RAIN's slider names ({string.Join(", ", RetargetSliders.Names)}) " +
                    "or a \"translations\" list.");
            }

            sliders = sliders.With(p.Name, Number(source, p.Value, p.Name));
        }

        return RetargetOptions.FromSliders(sliders);
    }

    private static RetargetOptions ParseList(string source, JsonElement root, JsonElement list)
    {
        foreach (var p in root.EnumerateObject())
        {
            if (p.Name != "translations")
                throw new FormatException($"{source}: field '{p.Name}' beside \"translations\"; give either slider names or a translations list, not both.");
        }

        if (list.ValueKind != JsonValueKind.Array)
            throw Error(source, "translations", "an array of translation objects", Describe(list));
        var result = new List<FaceTranslation>();
        int i = 0;
        foreach (var item in list.EnumerateArray())
        {
            string path = $"translations[{i}]";
            if (item.ValueKind != JsonValueKind.Object)
                throw Error(source, path, "an object", Describe(item));
            foreach (var p in item.EnumerateObject())
            {
                if (!TranslationFields.Contains(p.Name))
                    throw new FormatException($"{source}: {path}: unknown field '{p.Name}'; a translation has {string.Join(", ", TranslationFields)}.");
            }

            var t = new FaceTranslation
            {
                LeftIndex = Index(source, item, path, "lindex"),
                RightIndex = Index(source, item, path, "rindex"),
                HorizontalScale = Optional(source, item, path, "horizontal_scale", 1.0),
                VerticalScale = Optional(source, item, path, "vertical_scale", 1.0),
                HorizontalTransition = Optional(source, item, path, "horizontal_transition", 0.0),
                VerticalTransition = Optional(source, item, path, "vertical_transition", 0.0),
                XAxis = Pair(source, item, path, "xaxis"),
                RelativeLength = Pair(source, item, path, "relative_length"),
            };
            t.Validate(path);
            result.Add(t);
            i++;
        }

        return new RetargetOptions(result);
    }

    private static int Index(string source, JsonElement item, string path, string field)
    {
        if (!item.TryGetProperty(field, out var v))
            throw new FormatException($"{source}: {path}: missing required field '{field}'.");
        return Integer(source, v, $"{path}.{field}");
    }

    private static double Optional(string source, JsonElement item, string path, string field, double fallback) =>
        item.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null ? Number(source, v, $"{path}.{field}") : fallback;

    private static (int, int)? Pair(string source, JsonElement item, string path, string field)
    {
        if (!item.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null)
            return null;
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() != 2)
            throw Error(source, $"{path}.{field}", "null or an array of two indices", Describe(v));
        return (Integer(source, v[0], $"{path}.{field}[0]"), Integer(source, v[1], $"{path}.{field}[1]"));
    }

    private static double Number(string source, JsonElement v, string path)
    {
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double d) || !double.IsFinite(d))
            throw Error(source, path, "a finite number", Describe(v));
        return d;
    }

    private static int Integer(string source, JsonElement v, string path)
    {
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i))
            throw Error(source, path, "an integer", Describe(v));
        return i;
    }

    private static FormatException Error(string source, string path, string expected, string found) =>
        new($"{source}: {path}: expected {expected}, found {found}.");

    private static string Describe(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{v.GetString()}\"",
        JsonValueKind.Number => string.Create(CultureInfo.InvariantCulture, $"the number {v.GetRawText()}"),
        JsonValueKind.Array => $"an array of {v.GetArrayLength()}",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
        _ => "null",
    };
}

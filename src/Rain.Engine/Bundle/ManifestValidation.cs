using System.Globalization;
using System.Text.Json;

namespace Rain.Engine.Bundle;

/// <summary>
/// Checks <c>bundle.json</c> field by field before it is deserialized: presence, JSON type and range of every field, with
/// a message naming the field by its path (<c>parts['unet.part07'].inputs[0].shape[1]</c>) and what was expected. The
/// relations between fields (timesteps against the scheduler, the plan against the parts) are
/// <see cref="ModelBundle.Load"/>'s. Parts are checked alike whatever their name, so optional parts (pose models, …)
/// need no code here; a new top-level field adds one line to <see cref="Check"/>.
/// </summary>
internal static class ManifestValidation
{
    /// <summary>Largest manifest read (RAIN's is about 150 KB).</summary>
    public const long MaxBytes = 64L << 20;

    /// <summary>Largest image side and reference side (pixels).</summary>
    public const int MaxSide = 16384;

    /// <summary>Largest CLIP input side (ViT-L/14 takes 224; anything near this limit is not a CLIP).</summary>
    public const int MaxClipSide = 4096;

    /// <summary>Largest guidance scale w: LCM-distilled models are trained with w of a few units (RAIN: 2.5).</summary>
    public const double MaxGuidanceScale = 50;

    /// <summary>Largest element count of one tensor in a part's contract (every buffer is allocated up front).</summary>
    public const long MaxTensorElements = int.MaxValue;

    /// <summary>The element types a part's tensors may have.</summary>
    public static IReadOnlyList<string> DTypes { get; } = ["float32", "uint8", "int64"];

    /// <summary>Throws <see cref="BundleException"/> naming the first field that is missing, of the wrong type or out of range.</summary>
    public static void Check(JsonElement root, string manifestPath)
    {
        var v = new Validator(manifestPath);
        v.Object(root, "the manifest");
        int version = v.Int(root, "format_version", int.MinValue, int.MaxValue);
        if (version != BundleManifest.CurrentFormatVersion)
            throw new BundleException($"{manifestPath}: format version {version} is not supported; this engine reads version {BundleManifest.CurrentFormatVersion}. Re-export the bundle with this version's `rain export`.");
        v.String(root, "source", 0, 4096);
        v.Int(root, "height", 1, MaxSide);
        v.Int(root, "width", 1, MaxSide);
        v.Int(root, "reference_height", 1, MaxSide);
        v.Int(root, "reference_width", 1, MaxSide);
        v.Int(root, "clip_image_size", 1, MaxClipSide);
        int p = v.Int(root, "frames_per_level", 1, 32);
        int levels = v.Int(root, "levels", 1, 32);
        v.Int(root, "pose_channels", 1, 1 << 16);
        var scheduler = v.Child(root, "scheduler");
        int train = v.Int(scheduler, "train_timesteps", 1, 1_000_000, "scheduler");
        v.Fraction(scheduler, "beta_start", "scheduler");
        v.Fraction(scheduler, "beta_end", "scheduler");
        v.OneOf(scheduler, "beta_schedule", "scheduler", "scaled_linear", "linear");
        v.Bool(scheduler, "rescale_zero_terminal_snr", "scheduler");
        v.Numbers(scheduler, "c_skip", p * levels, double.MinValue, double.MaxValue, "scheduler");
        v.Numbers(scheduler, "c_out", p * levels, double.MinValue, double.MaxValue, "scheduler");
        v.Ints(root, "timesteps", p * levels, 0, train - 1);
        v.Number(root, "guidance_scale", 0, MaxGuidanceScale);
        int embedding = v.Array(root, "guidance_embedding", 2, 4096).GetArrayLength();
        if (embedding % 2 != 0)
            throw v.Bad("guidance_embedding", $"has {embedding} values; the embedding is [sin…, cos…], an even count");
        v.Numbers(root, "guidance_embedding", embedding, -1, 1);
        v.Strings(root, "taps", 1, 4096, unique: true);
        var parts = v.Child(root, "parts");
        foreach (var part in parts.EnumerateObject())
            CheckPart(v, part.Value, $"parts['{part.Name}']");
        CheckPlan(v, v.Child(root, "unet_plan"));
        v.Hex(root, "manifest_sha256", 64);
    }

    private static void CheckPart(Validator v, JsonElement part, string at)
    {
        v.Object(part, at);
        v.RelativePath(part, "file", at);
        v.Hex(part, "sha256", 64, at);
        bool hasData = Validator.Optional(part, "data_file"), hasHash = Validator.Optional(part, "data_sha256");
        if (hasData != hasHash)
            throw v.Bad($"{at}.{(hasData ? "data_sha256" : "data_file")}", $"is missing while {(hasData ? "data_file" : "data_sha256")} is given; an external-data file is listed with its hash");
        if (hasData)
        {
            v.RelativePath(part, "data_file", at);
            v.Hex(part, "data_sha256", 64, at);
        }

        foreach (string side in (string[])["inputs", "outputs"])
        {
            var list = v.Array(part, side, 0, 4096, at);
            int i = 0;
            foreach (var tensor in list.EnumerateArray())
                CheckTensor(v, tensor, $"{at}.{side}[{i++}]");
        }
    }

    private static void CheckTensor(Validator v, JsonElement tensor, string at)
    {
        v.Object(tensor, at);
        v.String(tensor, "name", 1, 1024, at);
        v.OneOf(tensor, "dtype", at, [.. DTypes]);
        var shape = v.Array(tensor, "shape", 0, 8, at);
        long elements = 1;
        int d = 0;
        foreach (var dim in shape.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long n) || n < 1 || n > int.MaxValue)
                throw v.Bad($"{at}.shape[{d}]", $"is {Validator.Show(dim)}; expected an integer from 1 to {int.MaxValue}");
            elements = elements > MaxTensorElements / n ? MaxTensorElements + 1 : elements * n;
            d++;
        }

        if (elements > MaxTensorElements)
            throw v.Bad($"{at}.shape", $"has more than {MaxTensorElements} elements; no part of a RAIN bundle is that large");
    }

    private static void CheckPlan(Validator v, JsonElement plan)
    {
        const string At = "unet_plan";
        v.String(plan, "network", 1, 256, At);
        v.Strings(plan, "inputs", 1, 4096, unique: true, At);
        v.Strings(plan, "outputs", 1, 4096, unique: true, At);
        var steps = v.Array(plan, "steps", 1, 100_000, At);
        int i = 0;
        foreach (var step in steps.EnumerateArray())
        {
            string at = $"{At}.steps[{i++}]";
            v.Object(step, at);
            string kind = v.OneOf(step, "kind", at, PlanStep.RunPart, PlanStep.CrossNoiseAttention);
            v.Strings(step, "inputs", kind == PlanStep.RunPart ? 0 : 3, kind == PlanStep.RunPart ? 4096 : 3, unique: false, at);
            v.Strings(step, "outputs", 1, kind == PlanStep.RunPart ? 4096 : 1, unique: true, at);
            if (kind == PlanStep.RunPart)
            {
                v.String(step, "part", 1, 1024, at);
                continue;
            }

            v.Int(step, "frames", 1, 32, at);
            v.Int(step, "tokens", 1, 1 << 24, at);
            int channels = v.Int(step, "channels", 1, 1 << 16, at);
            int heads = v.Int(step, "heads", 1, 1 << 10, at);
            if (channels % heads != 0)
                throw v.Bad($"{at}.heads", $"is {heads}, which does not divide channels = {channels}");
        }
    }

    /// <summary>Field checks that name the field and what was expected.</summary>
    private sealed class Validator(string manifestPath)
    {
        public BundleException Bad(string field, string problem) => new($"{manifestPath}: '{field}' {problem}.");

        public static string Show(JsonElement e) => e.ValueKind switch
        {
            JsonValueKind.Null => "null",
            JsonValueKind.String => $"the string {Clip(e.GetRawText())}",
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.True or JsonValueKind.False => e.GetRawText(),
            _ => Clip(e.GetRawText()),
        };

        public void Object(JsonElement e, string at)
        {
            if (e.ValueKind != JsonValueKind.Object)
                throw new BundleException($"{manifestPath}: {(at == "the manifest" ? at : $"'{at}'")} is {Show(e)}; expected an object.");
        }

        public JsonElement Child(JsonElement parent, string name, string? at = null)
        {
            var e = Get(parent, name, at);
            if (e.ValueKind != JsonValueKind.Object)
                throw Bad(Path(at, name), $"is {Show(e)}; expected an object");
            return e;
        }

        public JsonElement Array(JsonElement parent, string name, int min, int max, string? at = null)
        {
            var e = Get(parent, name, at);
            if (e.ValueKind != JsonValueKind.Array)
                throw Bad(Path(at, name), $"is {Show(e)}; expected an array");
            int n = e.GetArrayLength();
            if (n < min || n > max)
                throw Bad(Path(at, name), $"has {n} items; expected {(min == max ? $"exactly {min}" : Range(min, max))}");
            return e;
        }

        public static bool Optional(JsonElement parent, string name) =>
            parent.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null;

        public int Int(JsonElement parent, string name, int min, int max, string? at = null)
        {
            var e = Get(parent, name, at);
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int value) || value < min || value > max)
                throw Bad(Path(at, name), $"is {Show(e)}; expected an integer {Range(min, max)}");
            return value;
        }

        public double Number(JsonElement parent, string name, double min, double max, string? at = null)
        {
            var e = Get(parent, name, at);
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double value) || !double.IsFinite(value) || value < min || value > max)
                throw Bad(Path(at, name), $"is {Show(e)}; expected a number {Range(min, max)}");
            return value;
        }

        public void Fraction(JsonElement parent, string name, string at)
        {
            var e = Get(parent, name, at);
            if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out double value) || !(value > 0 && value < 1))
                throw Bad(Path(at, name), $"is {Show(e)}; expected a number strictly between 0 and 1");
        }

        public bool Bool(JsonElement parent, string name, string? at = null)
        {
            var e = Get(parent, name, at);
            return e.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Bad(Path(at, name), $"is {Show(e)}; expected true or false"),
            };
        }

        public string String(JsonElement parent, string name, int minLength, int maxLength, string? at = null)
        {
            var e = Get(parent, name, at);
            if (e.ValueKind != JsonValueKind.String)
                throw Bad(Path(at, name), $"is {Show(e)}; expected a string");
            string s = e.GetString()!;
            if (s.Length < minLength || s.Length > maxLength)
                throw Bad(Path(at, name), $"is {s.Length} characters long; expected {Range(minLength, maxLength)}");
            return s;
        }

        public string OneOf(JsonElement parent, string name, params string[] allowed) => OneOf(parent, name, null, allowed);

        public string OneOf(JsonElement parent, string name, string? at, params string[] allowed)
        {
            string s = String(parent, name, 0, 256, at);
            return allowed.Contains(s, StringComparer.Ordinal) ? s : throw Bad(Path(at, name), $"is '{s}'; expected one of {string.Join(", ", allowed)}");
        }

        public void Hex(JsonElement parent, string name, int length, string? at = null)
        {
            string s = String(parent, name, 0, 1024, at);
            if (s.Length != length || !s.All(char.IsAsciiHexDigit))
                throw Bad(Path(at, name), $"is '{Clip(s)}'; expected {length} hexadecimal digits");
        }

        public void RelativePath(JsonElement parent, string name, string at)
        {
            string s = String(parent, name, 1, 1024, at);
            if (System.IO.Path.IsPathRooted(s) || s.Contains('\0', StringComparison.Ordinal))
                throw Bad(Path(at, name), $"is '{s}'; expected a file name relative to the bundle folder");
        }

        public void Numbers(JsonElement parent, string name, int count, double low, double high, string? at = null)
        {
            var e = Array(parent, name, count, count, at);
            int i = 0;
            foreach (var item in e.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out double x) || !double.IsFinite(x) || x < low || x > high)
                    throw Bad($"{Path(at, name)}[{i}]", $"is {Show(item)}; expected a finite number{(low > double.MinValue ? " " + Range(low, high) : "")}");
                i++;
            }
        }

        public void Ints(JsonElement parent, string name, int count, int low, int high, string? at = null)
        {
            var e = Array(parent, name, count, count, at);
            int i = 0;
            foreach (var item in e.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int x) || x < low || x > high)
                    throw Bad($"{Path(at, name)}[{i}]", $"is {Show(item)}; expected an integer {Range(low, high)}");
                i++;
            }
        }

        public void Strings(JsonElement parent, string name, int min, int max, bool unique, string? at = null)
        {
            var e = Array(parent, name, min, max, at);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            int i = 0;
            foreach (var item in e.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String || item.GetString() is not { Length: > 0 and <= 1024 } s)
                    throw Bad($"{Path(at, name)}[{i}]", $"is {Show(item)}; expected a non-empty string");
                if (unique && !seen.Add(s))
                    throw Bad($"{Path(at, name)}[{i}]", $"repeats '{s}'");
                i++;
            }
        }

        private JsonElement Get(JsonElement parent, string name, string? at) =>
            parent.TryGetProperty(name, out var e) ? e : throw Bad(Path(at, name), "is missing");

        private static string Path(string? at, string name) => at is null ? name : $"{at}.{name}";

        private static string Range(double min, double max) => string.Create(CultureInfo.InvariantCulture, $"from {min} to {max}");

        private static string Clip(string s) => s.Length <= 80 ? s : s[..77] + "...";
    }
}

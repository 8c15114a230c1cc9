using System.Text.Json;
using Rain.Engine.Pose;
using Rain.Testing;

namespace Rain.Engine.Tests.Pose;

/// <summary>The retargeting lists and their JSON form, against the lists the golden generator read from RAIN's source.</summary>
public sealed class RetargetOptionsTests
{
    private static JsonElement Config() => JsonDocument.Parse(File.ReadAllBytes(DwposeGolden.PathOf("dwpose_config.json"))).RootElement;

    [Fact]
    public void LiveListIsRainsThirteenEntries()
    {
        // dwpose_config.json's "translations" were read from src/morpher.py:347 with Python's ast; the list form parses them.
        string json = $"{{\"translations\": {Config().GetProperty("translations").GetRawText()}}}";
        var parsed = RetargetJson.Parse(json, "dwpose_config.json");
        Assert.Equal(13, RetargetOptions.Live.Translations.Count);
        Assert.Equal(parsed.Translations, RetargetOptions.Live.Translations);
    }

    [Fact]
    public void SlidersGiveRainsSeventeenEntries()
    {
        var variant = Config().GetProperty("variant");
        var expected = RetargetJson.Parse($"{{\"translations\": {variant.GetProperty("translations").GetRawText()}}}", "dwpose_config.json");
        // The variant used the web UI's starting values, which are RetargetSliders' defaults …
        Assert.Equal(expected.Translations, RetargetOptions.FromSliders(new RetargetSliders()).Translations);
        // … and the same list comes from the sliders' JSON form with those values by name.
        var bySliders = RetargetJson.Parse(variant.GetProperty("params").GetRawText(), "params");
        Assert.Equal(17, bySliders.Translations.Count);
        Assert.Equal(expected.Translations, bySliders.Translations);
    }

    [Fact]
    public void MissingSlidersKeepTheUiStartingValues()
    {
        var parsed = RetargetJson.Parse("{\"eye_height_ratio\": 2.5, \"nose_vertical_correction\": -0.1}", "x.json");
        var expected = RetargetOptions.FromSliders(new RetargetSliders { EyeHeightRatio = 2.5, NoseVerticalCorrection = -0.1 });
        Assert.Equal(expected.Translations, parsed.Translations);
        Assert.Equal(2.5, parsed.Translations[1].VerticalScale);
        Assert.Equal(0.05 - 0.0, RetargetOptions.FromSliders(new RetargetSliders()).Translations[13].VerticalTransition);
    }

    [Fact]
    public void ListFormDefaultsOptionalFieldsAsRain()
    {
        var parsed = RetargetJson.Parse("{\"translations\": [{\"lindex\": 36, \"rindex\": 42}]}", "x.json");
        var t = Assert.Single(parsed.Translations);
        Assert.Equal(new FaceTranslation { LeftIndex = 36, RightIndex = 42 }, t);
        Assert.Equal((1.0, 1.0, 0.0, 0.0), (t.HorizontalScale, t.VerticalScale, t.HorizontalTransition, t.VerticalTransition));
        Assert.Null(t.XAxis);
        Assert.Null(t.RelativeLength);
        Assert.Empty(RetargetJson.Parse("{\"translations\": []}", "x.json").Translations);
    }

    [Theory]
    [InlineData("{\"face_lenght_ratio\": 0.7}", "x.json: unknown field 'face_lenght_ratio'; expected RAIN's slider names (face_length_ratio")]
    [InlineData("{\"eye_height_ratio\": \"3\"}", "x.json: eye_height_ratio: expected a finite number, found the string \"3\".")]
    [InlineData("[1, 2]", "x.json: $: expected an object (slider names, or \"translations\"), found an array of 2.")]
    [InlineData("{\"translations\": {}}", "x.json: translations: expected an array of translation objects, found an object.")]
    [InlineData("{\"translations\": [{\"rindex\": 42}]}", "x.json: translations[0]: missing required field 'lindex'.")]
    [InlineData("{\"translations\": [{\"lindex\": 36, \"rindex\": 42, \"xaxis\": [0, 6]}]}", "x.json: translations[0]: xaxis [0, 6] must index the group of 6 landmarks (0..5).")]
    [InlineData("{\"translations\": [{\"lindex\": 36, \"rindex\": 70}]}", "x.json: translations[0]: lindex 36 / rindex 70 must satisfy 0 <= lindex < rindex <= 68.")]
    [InlineData("{\"translations\": [{\"lindex\": 0, \"rindex\": 68, \"relative_length\": [33]}]}", "x.json: translations[0].relative_length: expected null or an array of two indices, found an array of 1.")]
    [InlineData("{\"translations\": [{\"lindex\": 0, \"rindex\": 68, \"xaxis\": [2.5, 14]}]}", "x.json: translations[0].xaxis[0]: expected an integer, found the number 2.5.")]
    [InlineData("{\"translations\": [{\"lindex\": 0, \"rindex\": 68, \"scale\": 2}]}", "x.json: translations[0]: unknown field 'scale'; a translation has lindex, rindex, horizontal_scale")]
    [InlineData("{\"translations\": [], \"eye_height_ratio\": 2}", "x.json: field 'eye_height_ratio' beside \"translations\"; give either slider names or a translations list, not both.")]
    [InlineData("{\"eye_height_ratio\": 1e999}", "x.json: eye_height_ratio: expected a finite number, found the number 1e999.")]
    [InlineData("{\"eye_height_ratio\": ", "x.json: not valid JSON")]
    public void BadJsonIsRefusedNamingTheField(string json, string message)
    {
        var e = Assert.Throws<FormatException>(() => RetargetJson.Parse(json, "x.json"));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadNamesTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"retarget-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, "{\"mouth_width_ratio\": null}");
        try
        {
            var e = Assert.Throws<FormatException>(() => RetargetOptions.Load(path));
            Assert.Equal($"{path}: mouth_width_ratio: expected a finite number, found null.", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void InvalidTranslationsAreRefusedWhenTheOptionsAreBuilt()
    {
        var e = Assert.Throws<ArgumentException>(() => new RetargetOptions([RetargetOptions.Live.Translations[0], new FaceTranslation { LeftIndex = 5, RightIndex = 5 }]));
        Assert.StartsWith("translations[1]: lindex 5 / rindex 5", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new FaceTranslation { LeftIndex = 0, RightIndex = 2, HorizontalScale = double.NaN }.Validate());
        Assert.Throws<ArgumentException>(() => RetargetOptions.FromSliders(new RetargetSliders { JawWidthRatio = double.PositiveInfinity }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PoseFrontEndOptions { CenterCrop = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PoseFrontEndOptions { DampingStep = 0 });
        Assert.Throws<ArgumentNullException>(() => new PoseFrontEndOptions { Retarget = null! });
    }

    [Fact]
    public void TranslationOfAnAxisAlignedGroupIsPlainScalingAboutItsMean()
    {
        // Closed form: a group on a horizontal axis (θ = 0) scales about its mean and shifts by transition·L.
        var face = new double[136];
        for (int i = 0; i < 68; i++)
            (face[2 * i], face[(2 * i) + 1]) = (0.1 + (0.01 * i), 0.5);
        face[(2 * 37) + 1] = 0.52; // one point off the axis: the axis is points 36 → 39 (both at y = 0.5)
        face[(2 * 10) + 1] = 0.8;  // L = |p33 − p10|
        var t = new FaceTranslation { LeftIndex = 36, RightIndex = 42, HorizontalScale = 2, VerticalScale = 3, HorizontalTransition = 0.5, XAxis = (0, 3), RelativeLength = (33, 10) };
        var before = (double[])face.Clone();
        t.Apply(face);
        double cx = 0, cy = 0;
        for (int i = 36; i < 42; i++)
            (cx, cy) = (cx + before[2 * i], cy + before[(2 * i) + 1]);
        (cx, cy) = (cx / 6, cy / 6);
        double l = Math.Sqrt(Math.Pow(before[66] - before[20], 2) + Math.Pow(before[67] - before[21], 2));
        for (int i = 36; i < 42; i++)
        {
            Assert.Equal(cx + (2 * (before[2 * i] - cx)) + (0.5 * l), face[2 * i], 12);
            Assert.Equal(cy + (3 * (before[(2 * i) + 1] - cy)), face[(2 * i) + 1], 12);
        }

        Assert.Equal(before.AsSpan(0, 72).ToArray(), face.AsSpan(0, 72).ToArray()); // points outside the group unchanged
    }
}

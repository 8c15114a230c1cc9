namespace Rain.Engine.Pose;

/// <summary>
/// Face retargeting: the ordered list of <see cref="FaceTranslation"/>s RAIN applies to the face landmarks before it
/// draws them (spec §8.2), so a person's face is mapped onto the proportions the character was trained with (bigger
/// eyes, shorter face, …). Immutable and validated when built; swap the whole object to change it
/// (<see cref="PoseFrontEnd.Retarget"/> is thread-safe and takes effect on the next frame).
/// </summary>
public sealed class RetargetOptions
{
    private readonly FaceTranslation[] _translations;

    /// <summary>Validates and copies <paramref name="translations"/> (applied in list order; an empty list draws the landmarks as detected).</summary>
    /// <exception cref="ArgumentException">An entry is invalid (the message names its index and field).</exception>
    public RetargetOptions(IEnumerable<FaceTranslation> translations)
    {
        ArgumentNullException.ThrowIfNull(translations);
        _translations = [.. translations];
        for (int i = 0; i < _translations.Length; i++)
        {
            if (_translations[i] is null)
                throw new ArgumentException($"translations[{i}] is null.", nameof(translations));
            _translations[i].Validate($"translations[{i}]");
        }
    }

    /// <summary>The translations, in the order they are applied.</summary>
    public IReadOnlyList<FaceTranslation> Translations => _translations;

    /// <summary>
    /// RAIN's live list (<c>src/morpher.py:347-361</c>, spec §9.1; 13 entries): what the live app uses until a
    /// calibration slider is touched. The default of <see cref="PoseFrontEndOptions.Retarget"/>.
    /// </summary>
    public static RetargetOptions Live { get; } = new(
    [
        T(0, 68, 1.0, 0.75, xaxis: (2, 14)),
        T(36, 42, 1.6, 3.0, xaxis: (0, 3)),
        T(42, 48, 1.6, 3.0, xaxis: (0, 3)),
        T(60, 68, 0.67, 1.2, xaxis: (0, 4)),
        T(36, 42, ht: 0.10, xaxis: (0, 3), rel: (33, 13)),
        T(42, 48, ht: 0.15, xaxis: (0, 3), rel: (33, 13)),
        T(36, 42, ht: -0.15, xaxis: (0, 3), rel: (33, 3)),
        T(42, 48, ht: -0.10, xaxis: (0, 3), rel: (33, 3)),
        T(36, 42, vt: 0.10, xaxis: (0, 3), rel: (19, 6)),
        T(42, 48, vt: 0.10, xaxis: (0, 3), rel: (26, 12)),
        T(60, 68, ht: 0.15, xaxis: (0, 4), rel: (33, 13)),
        T(60, 68, ht: -0.15, xaxis: (0, 4), rel: (33, 3)),
        T(4, 13, 0.9, 1.0, xaxis: (0, 8)),
    ]);

    /// <summary>No translations: the landmarks are drawn where they were detected.</summary>
    public static RetargetOptions None { get; } = new([]);

    /// <summary>
    /// RAIN's calibration sliders turned into a list (<c>param2translations</c>, <c>gradio_app.py:208-228</c>, spec §9.3;
    /// 17 entries). <b>[quirk]</b> Even at the default values this list differs from <see cref="Live"/>: entry 10
    /// measures its length between points 24 and 10 (not 26 and 12), and entries 13–16 (mouth height, nose) are extra —
    /// as in RAIN, where the picture changes slightly the first time a slider moves.
    /// </summary>
    public static RetargetOptions FromSliders(RetargetSliders sliders)
    {
        ArgumentNullException.ThrowIfNull(sliders);
        sliders.Validate();
        double eh = sliders.EyeHorizontalCorrection, ed = sliders.EyeDistanceCorrection;
        double ev = sliders.EyeVerticalCorrection, mh = sliders.MouthHorizontalCorrection;
        return new(
        [
            T(0, 68, 1.0, sliders.FaceLengthRatio, xaxis: (2, 14)),
            T(36, 42, sliders.EyeWidthRatio, sliders.EyeHeightRatio, xaxis: (0, 3)),
            T(42, 48, sliders.EyeWidthRatio, sliders.EyeHeightRatio, xaxis: (0, 3)),
            T(60, 68, sliders.MouthWidthRatio, sliders.MouthHeightRatio, xaxis: (0, 4)),
            T(36, 42, ht: eh - ed, xaxis: (0, 3), rel: (33, 13)),
            T(42, 48, ht: eh, xaxis: (0, 3), rel: (33, 13)),
            T(36, 42, ht: -eh, xaxis: (0, 3), rel: (33, 3)),
            T(42, 48, ht: -(eh - ed), xaxis: (0, 3), rel: (33, 3)),
            T(36, 42, vt: ev, xaxis: (0, 3), rel: (19, 6)),
            T(42, 48, vt: ev, xaxis: (0, 3), rel: (24, 10)),
            T(60, 68, ht: mh, xaxis: (0, 4), rel: (33, 13)),
            T(60, 68, ht: -mh, xaxis: (0, 4), rel: (33, 3)),
            T(60, 68, vt: sliders.MouthVerticalCorrection, xaxis: (0, 4), rel: (27, 8)),
            T(27, 36, vt: sliders.NoseVerticalCorrection, xaxis: (4, 8), rel: (27, 8)),
            T(27, 36, ht: sliders.NoseHorizontalCorrection, xaxis: (4, 8), rel: (22, 16)),
            T(27, 36, ht: -sliders.NoseHorizontalCorrection, xaxis: (4, 8), rel: (21, 0)),
            T(4, 13, sliders.JawWidthRatio, 1.0, xaxis: (0, 8)),
        ]);
    }

    /// <summary>Parses the JSON form (see <see cref="RetargetJson"/>); <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="FormatException">The JSON is malformed or a field is unknown, of the wrong type or invalid.</exception>
    public static RetargetOptions FromJson(string json, string source = "retarget JSON") => RetargetJson.Parse(json, source);

    /// <summary>Reads the JSON form from a file (see <see cref="RetargetJson"/>).</summary>
    /// <exception cref="FormatException">The file's JSON is malformed or invalid (the message names the file and the field).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static RetargetOptions Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return RetargetJson.Parse(File.ReadAllText(path), path);
    }

    internal ReadOnlySpan<FaceTranslation> Span => _translations;

    private static FaceTranslation T(int l, int r, double hs = 1.0, double vs = 1.0, double ht = 0.0, double vt = 0.0, (int, int)? xaxis = null, (int, int)? rel = null) =>
        new()
        {
            LeftIndex = l, RightIndex = r, HorizontalScale = hs, VerticalScale = vs,
            HorizontalTransition = ht, VerticalTransition = vt, XAxis = xaxis, RelativeLength = rel,
        };
}

/// <summary>
/// RAIN's calibration sliders (<c>gradio_app.py</c>, spec §9.3), turned into translations by
/// <see cref="RetargetOptions.FromSliders"/>. Defaults are the values the web UI starts with and passes on every slider
/// change (<c>gradio_app.py:25-38</c>): they differ from <c>param2translations</c>' own defaults in
/// <see cref="MouthVerticalCorrection"/> (0.03, not 0), <see cref="NoseHorizontalCorrection"/> (0.1, not 0) and
/// <see cref="NoseVerticalCorrection"/> (0.05, not 0). The UI's slider ranges are given per property; values outside
/// them are accepted (they are only required to be finite).
/// </summary>
public sealed record RetargetSliders
{
    /// <summary><c>face_length_ratio</c>: vertical scale of the whole face along the jaw line (UI 0.1 … 1.5).</summary>
    public double FaceLengthRatio { get; init; } = 0.75;

    /// <summary><c>eye_height_ratio</c> (UI 0.1 … 4.0).</summary>
    public double EyeHeightRatio { get; init; } = 3.0;

    /// <summary><c>eye_width_ratio</c> (UI 0.1 … 3.0).</summary>
    public double EyeWidthRatio { get; init; } = 1.6;

    /// <summary><c>mouth_height_ratio</c> (UI 0.1 … 3.0).</summary>
    public double MouthHeightRatio { get; init; } = 1.2;

    /// <summary><c>mouth_width_ratio</c> (UI 0.1 … 3.0).</summary>
    public double MouthWidthRatio { get; init; } = 0.67;

    /// <summary><c>jaw_width_ratio</c> (UI 0.1 … 1.5).</summary>
    public double JawWidthRatio { get; init; } = 0.9;

    /// <summary><c>eye_horizontal_correction</c> (UI −0.25 … 0.25).</summary>
    public double EyeHorizontalCorrection { get; init; } = 0.15;

    /// <summary><c>eye_distance_correction</c> (UI −0.25 … 0.25).</summary>
    public double EyeDistanceCorrection { get; init; } = 0.05;

    /// <summary><c>eye_vertical_correction</c> (UI −0.25 … 0.25).</summary>
    public double EyeVerticalCorrection { get; init; } = 0.10;

    /// <summary><c>mouth_horizontal_correction</c> (UI −0.25 … 0.25).</summary>
    public double MouthHorizontalCorrection { get; init; } = 0.15;

    /// <summary><c>mouth_vertical_correction</c> (UI −0.25 … 0.25; UI start 0.03).</summary>
    public double MouthVerticalCorrection { get; init; } = 0.03;

    /// <summary><c>nose_horizontal_correction</c> (UI −0.25 … 0.25; UI start 0.1).</summary>
    public double NoseHorizontalCorrection { get; init; } = 0.1;

    /// <summary><c>nose_vertical_correction</c> (UI −0.25 … 0.25; UI start 0.05).</summary>
    public double NoseVerticalCorrection { get; init; } = 0.05;

    /// <summary>The JSON names (<c>param2translations</c>' parameter names), in RAIN's order.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "face_length_ratio", "eye_height_ratio", "eye_width_ratio", "mouth_height_ratio", "mouth_width_ratio",
        "jaw_width_ratio", "eye_horizontal_correction", "eye_distance_correction", "eye_vertical_correction",
        "mouth_horizontal_correction", "mouth_vertical_correction", "nose_horizontal_correction", "nose_vertical_correction",
    ];

    /// <summary>Returns a copy with the slider named <paramref name="name"/> (a <see cref="Names"/> entry) set.</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public RetargetSliders With(string name, double value) => name switch
    {
        "face_length_ratio" => this with { FaceLengthRatio = value },
        "eye_height_ratio" => this with { EyeHeightRatio = value },
        "eye_width_ratio" => this with { EyeWidthRatio = value },
        "mouth_height_ratio" => this with { MouthHeightRatio = value },
        "mouth_width_ratio" => this with { MouthWidthRatio = value },
        "jaw_width_ratio" => this with { JawWidthRatio = value },
        "eye_horizontal_correction" => this with { EyeHorizontalCorrection = value },
        "eye_distance_correction" => this with { EyeDistanceCorrection = value },
        "eye_vertical_correction" => this with { EyeVerticalCorrection = value },
        "mouth_horizontal_correction" => this with { MouthHorizontalCorrection = value },
        "mouth_vertical_correction" => this with { MouthVerticalCorrection = value },
        "nose_horizontal_correction" => this with { NoseHorizontalCorrection = value },
        "nose_vertical_correction" => this with { NoseVerticalCorrection = value },
        _ => throw new ArgumentException($"'{name}' is not a retargeting slider; the sliders are {string.Join(", ", Names)}.", nameof(name)),
    };

    /// <summary>Checks that every value is finite.</summary>
    /// <exception cref="ArgumentException">A value is NaN or infinite (named).</exception>
    public void Validate()
    {
        double[] values =
        [
            FaceLengthRatio, EyeHeightRatio, EyeWidthRatio, MouthHeightRatio, MouthWidthRatio, JawWidthRatio, EyeHorizontalCorrection,
            EyeDistanceCorrection, EyeVerticalCorrection, MouthHorizontalCorrection, MouthVerticalCorrection, NoseHorizontalCorrection, NoseVerticalCorrection,
        ];
        for (int i = 0; i < values.Length; i++)
        {
            if (!double.IsFinite(values[i]))
                throw new ArgumentException($"{Names[i]} must be a finite number; found {values[i]}.");
        }
    }
}

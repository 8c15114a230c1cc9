using Rain.Engine.Pose;

namespace Rain.Serve;

/// <summary>RAIN's calibration sliders as the page shows them: <c>param2translations</c>' names, the web UI's ranges and starting values.</summary>
internal static class Sliders
{
    public static IReadOnlyList<(string Name, double Min, double Max, double Start)> All { get; } = Table(new RetargetSliders());

    private static (string, double, double, double)[] Table(RetargetSliders s) =>
    [
        ("face_length_ratio", 0.1, 1.5, s.FaceLengthRatio),
        ("eye_height_ratio", 0.1, 4.0, s.EyeHeightRatio),
        ("eye_width_ratio", 0.1, 3.0, s.EyeWidthRatio),
        ("mouth_height_ratio", 0.1, 3.0, s.MouthHeightRatio),
        ("mouth_width_ratio", 0.1, 3.0, s.MouthWidthRatio),
        ("jaw_width_ratio", 0.1, 1.5, s.JawWidthRatio),
        ("eye_horizontal_correction", -0.25, 0.25, s.EyeHorizontalCorrection),
        ("eye_distance_correction", -0.25, 0.25, s.EyeDistanceCorrection),
        ("eye_vertical_correction", -0.25, 0.25, s.EyeVerticalCorrection),
        ("mouth_horizontal_correction", -0.25, 0.25, s.MouthHorizontalCorrection),
        ("mouth_vertical_correction", -0.25, 0.25, s.MouthVerticalCorrection),
        ("nose_horizontal_correction", -0.25, 0.25, s.NoseHorizontalCorrection),
        ("nose_vertical_correction", -0.25, 0.25, s.NoseVerticalCorrection),
    ];
}

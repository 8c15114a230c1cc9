using Rain.Engine.Media;
using Rain.Engine.Pose;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Engine.Tests.Pose;

/// <summary>
/// Every stage of RAIN's pose front end against the golden vectors (tests/data/golden/dwpose), each computed from the
/// stored output of the stage before it, with the tolerances of the set's README.
/// </summary>
public sealed class DwposeStageTests(ITestOutputHelper output)
{
    private static readonly DwposeGolden G = DwposeGolden.Load();

    public static TheoryData<int> AllFrames() => new(Enumerable.Range(0, DwposeGolden.Frames));

    [Theory]
    [MemberData(nameof(AllFrames))]
    public void PillowBilinearResizeIsExact(int f)
    {
        var frame = DwposeGolden.Frame(f);
        var expected = DwposeGolden.Image(Key(f, "resized"));
        var actual = new byte[512 * 512 * 3];
        new PilResizePlan(frame.Width, frame.Height, 512, 512, ResampleFilter.Bilinear).Resize(frame.Pixels, frame.Width * 3, actual, 512 * 3);
        AssertBytes($"f{f:D2} resized ({frame.Width}x{frame.Height})", expected.Pixels, actual);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void LetterboxIsExact(int f)
    {
        var resized = DwposeGolden.Image(Key(f, "resized"));
        var letterbox = new Letterbox(512, 512, 640, 640);
        Assert.Equal(G.D(f, "det_ratio")[0], letterbox.Ratio);
        var chw = new float[3 * 640 * 640];
        letterbox.Run(resized.Pixels, 512 * 3, chw);
        var hwc = DwposeGolden.Image(Key(f, "det_input_u8")).Pixels;
        for (int c = 0; c < 3; c++)
        {
            for (int i = 0; i < 640 * 640; i++)
            {
                if (chw[(c * 640 * 640) + i] != hwc[(3 * i) + c])
                    Assert.Fail($"f{f:D2} det_input[{c}, {i / 640}, {i % 640}] = {chw[(c * 640 * 640) + i]}, expected {hwc[(3 * i) + c]}.");
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllFrames))]
    public void DecodingNmsAndChoiceMatch(int f)
    {
        var raw = RawOutput(f);
        var decoder = new YoloxDecoder(640, 640);
        float ratio = (float)G.D(f, "det_ratio")[0];
        var rows = G.L(f, "det_raw_index");
        var decoded = G.F(f, "det_decoded_rows");
        var boxes = G.F(f, "det_boxes_xyxy_rows");
        var scores = G.F(f, "det_scores_rows");
        for (int i = 0; i < rows.Length; i++)
        {
            int row = (int)rows[i];
            var (cx, cy, w, h) = decoder.DecodeRow(raw, row);
            // README bound 1e-4; numpy's own float32 exp (NumpyExp) makes it exact.
            Assert.Equal(decoded.AsSpan(85 * i, 4).ToArray(), new[] { cx, cy, w, h });
            var (x1, y1, x2, y2) = decoder.Box(raw, row, ratio);
            Assert.Equal(boxes.AsSpan(4 * i, 4).ToArray(), new[] { x1, y1, x2, y2 });
            var s = Enumerable.Range(0, 80).Select(c => YoloxDecoder.Score(raw, row, c)).ToArray();
            Tolerance.AssertClose($"f{f:D2} scores row {row}", scores.AsSpan(80 * i, 80), s, 1e-6, 0);
        }

        int chosen = decoder.Run(raw, ratio);
        var dets = decoder.Detections;
        bool none = G.U8(f, "nms_is_none")[0] == 1;
        Assert.Equal(none, dets.Length == 0);
        var expected = none ? [] : G.D(f, "nms_dets");
        Assert.Equal(expected.Length / 6, dets.Length);
        for (int i = 0; i < dets.Length; i++)
        {
            Assert.Equal((int)expected[(6 * i) + 5], dets[i].Class);
            Tolerance.AssertClose($"f{f:D2} nms_dets[{i}]", expected.AsSpan(6 * i, 5), [dets[i].X1, dets[i].Y1, dets[i].X2, dets[i].Y2, dets[i].Score], 1e-4);
        }

        var final = G.D(f, "final_boxes");
        var persons = dets.ToArray().Where(d => d.Score > 0.3 && d.Class == 0).ToArray();
        Assert.Equal(final.Length / 4, persons.Length);
        for (int i = 0; i < persons.Length; i++)
            Tolerance.AssertClose($"f{f:D2} final_boxes[{i}]", final.AsSpan(4 * i, 4), [persons[i].X1, persons[i].Y1, persons[i].X2, persons[i].Y2], 1e-4);
        long expectedChosen = G.L(f, "chosen_index")[0];
        Assert.Equal(expectedChosen, chosen < 0 ? -1 : Array.IndexOf(persons, dets[chosen]));
        output.WriteLine($"f{f:D2}: {dets.Length} NMS rows, {persons.Length} person boxes, chosen {expectedChosen}");
    }

    [Theory]
    [MemberData(nameof(AllFrames))]
    public void CropGeometryAndWarpMatrixMatch(int f)
    {
        var box = G.D(f, "pose_bbox");
        var g = CropGeometry.Of(box[0], box[1], box[2], box[3], 288, 384);
        Tolerance.AssertClose($"f{f:D2} center", G.D(f, "center"), [g.CenterX, g.CenterY], 1e-9);
        Tolerance.AssertClose($"f{f:D2} scale_padded", G.D(f, "scale_padded"), [g.PaddedW, g.PaddedH], 1e-9);
        Tolerance.AssertClose($"f{f:D2} scale", G.D(f, "scale"), [g.ScaleW, g.ScaleH], 1e-9);
        var m = new double[6];
        g.WarpMatrix(288, 384, m);
        Tolerance.AssertClose($"f{f:D2} warp_mat", G.D(f, "warp_mat"), m, 1e-9, output);
    }

    [Theory]
    [MemberData(nameof(AllFrames))]
    public void WarpAffineIsExact(int f)
    {
        var resized = DwposeGolden.Image(Key(f, "resized"));
        var expected = DwposeGolden.Image(Key(f, "pose_crop_u8")).Pixels;
        foreach (bool perPixel in new[] { false, true })
        {
            // The stored matrix (OpenCV's LAPACK solve) and ours (closed form) both give the crop, on both of the warp's paths.
            var m = new double[6];
            var box = G.D(f, "pose_bbox");
            CropGeometry.Of(box[0], box[1], box[2], box[3], 288, 384).WarpMatrix(288, 384, m);
            foreach (var matrix in new[] { G.D(f, "warp_mat"), m })
            {
                var crop = new byte[288 * 384 * 3];
                var warp = new WarpAffine(288, 384) { ForcePerPixel = perPixel };
                warp.Run(resized.Pixels, 512, 512, 512 * 3, matrix, crop);
                Assert.Equal(!perPixel, warp.LastWasSeparable);
                AssertBytes($"f{f:D2} pose_crop_u8 (per pixel: {perPixel})", expected, crop);
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllFrames))]
    public void PoseInputIsTheNormalisedCrop(int f)
    {
        // The set does not store pose_input; its README defines it as float32((pose_crop_u8 − mean) / std) in CHW, computed in
        // float64 and rounded once. (The model's raw outputs, checked end to end, confirm it on frames 0, 2 and 5.)
        double[] mean = [123.675, 116.28, 103.53], std = [58.395, 57.12, 57.375];
        var crop = DwposeGolden.Image(Key(f, "pose_crop_u8")).Pixels;
        var chw = new float[3 * 288 * 384];
        PoseFrontEnd.Normalise(crop, chw);
        for (int c = 0; c < 3; c++)
        {
            for (int i = 0; i < 288 * 384; i++)
                Assert.Equal((float)((crop[(3 * i) + c] - mean[c]) / std[c]), chw[(c * 288 * 384) + i]);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(5)] // the raw outputs are stored for these frames; the others are decoded through the model in PoseFrontEndGoldenTests
    public void SimccDecodingMatches(int f)
    {
        const int K = 133;
        var x = G.F(f, "simcc_x");
        var y = G.F(f, "simcc_y");
        var locations = new float[2 * K];
        var scores = new float[K];
        var argmax = new long[2 * K];
        var maxima = new float[2 * K];
        WholeBody.Decode(x, y, K, locations, scores, argmax, maxima);
        Assert.Equal(G.L(f, "simcc_argmax"), argmax);
        Assert.Equal(G.F(f, "simcc_max"), maxima);
        Assert.Equal(G.F(f, "decoded_simcc_kpts"), locations);
        Tolerance.AssertClose($"f{f:D2} decoded_scores", G.F(f, "decoded_scores"), scores, 1e-6, 0);
    }

    [Theory]
    [MemberData(nameof(AllFrames))]
    public void KeypointsToImageNeckAndFaceMatch(int f)
    {
        const int K = 133;
        var center = G.D(f, "center");
        var scale = G.D(f, "scale");
        var kpts133 = new double[2 * K];
        WholeBody.ToImage(G.F(f, "decoded_simcc_kpts"), K, 288, 384, center[0], center[1], scale[0], scale[1], kpts133);
        Tolerance.AssertClose($"f{f:D2} kpts133", G.D(f, "kpts133"), kpts133, 1e-9);

        var kpts134 = new double[2 * 134];
        var scores134 = new double[134];
        WholeBody.ToOpenPose(G.D(f, "kpts133"), G.F(f, "scores133"), kpts134, scores134);
        Tolerance.AssertClose($"f{f:D2} kpts134", G.D(f, "kpts134"), kpts134, 1e-9);
        Tolerance.AssertClose($"f{f:D2} scores134", G.D(f, "scores134"), scores134, 1e-9);

        var face = new double[136];
        var visible = new bool[68];
        WholeBody.Face(G.D(f, "kpts134"), G.D(f, "scores134"), 512, 512, face, visible);
        Tolerance.AssertClose($"f{f:D2} face_norm", G.D(f, "face_norm"), face, 1e-12);
        Assert.Equal(G.U8(f, "face_visible").Select(v => v == 1), visible);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FaceCacheAndDampingMatchOverTheSequence(bool variant)
    {
        // The variant run feeds the main run's face_norm through damping 3.
        var cache = new FaceCache(variant ? 3 : 1);
        var filled = new double[136];
        var damped = new double[136];
        for (int f = 0; f < DwposeGolden.Frames; f++)
        {
            cache.Push(G.D(f, "face_norm"), filled, damped);
            Tolerance.AssertClose($"{(variant ? "variant " : "")}f{f:D2} face_filled", G.D(f, "face_filled", variant), filled, 1e-12);
            Tolerance.AssertClose($"{(variant ? "variant " : "")}f{f:D2} face_damped", G.D(f, "face_damped", variant), damped, 1e-12);
        }

        Assert.Equal(variant ? 3 : 1, cache.Count);
    }

    public static TheoryData<int, bool> DrawCases()
    {
        var data = new TheoryData<int, bool>();
        for (int f = 0; f < DwposeGolden.Frames; f++)
        {
            data.Add(f, false);
            data.Add(f, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DrawCases))]
    public void TranslationsAndDrawListMatch(int f, bool variant)
    {
        var retarget = variant ? RetargetOptions.FromSliders(new RetargetSliders()) : RetargetOptions.Live;
        var damped = G.D(f, "face_damped", variant);
        string name = $"{(variant ? "variant " : "")}f{f:D2}";
        Assert.Equal(G.D(f, "face_length_l", variant)[0], FaceDrawing.Length(damped), 12);

        var steps = G.D(f, "face_translation_steps", variant);
        Assert.Equal(retarget.Translations.Count * 136, steps.Length);
        var face = (double[])damped.Clone();
        for (int t = 0; t < retarget.Translations.Count; t++)
        {
            retarget.Translations[t].Apply(face);
            Tolerance.AssertClose($"{name} translation step {t}", steps.AsSpan(136 * t, 136), face, 1e-12);
        }

        var drawing = new FaceDrawing();
        var canvas = new byte[512 * 512 * 3];
        drawing.Draw(damped, retarget, canvas, 512, 512, 512 * 3);
        Tolerance.AssertClose($"{name} face_translated", G.D(f, "face_translated", variant), drawing.Translated, 1e-12, output);
        Assert.Equal(G.L(f, "draw_radius", variant)[0], drawing.Radius);
        Assert.Equal(G.L(f, "draw_centers_px", variant), drawing.Centers.ToArray().Select(v => (long)v));
        Assert.Equal(G.U8(f, "draw_flags", variant).Select(v => v == 1), drawing.Drawn.ToArray());
        Assert.Equal(G.U8(f, "draw_flags", variant).Count(v => v == 1), drawing.CirclesDrawn);
        string rendered = variant ? $"variant/f{f:D2}/rendered" : Key(f, "rendered");
        if (DwposeGolden.HasImage(rendered))
            AssertBytes($"{name} rendered", DwposeGolden.Image(rendered).Pixels, canvas);
    }

    [Theory]
    [MemberData(nameof(AllFrames))]
    public void CirclesFromTheStoredDrawListAreExact(int f)
    {
        var centers = G.L(f, "draw_centers_px");
        var flags = G.U8(f, "draw_flags");
        int radius = (int)G.L(f, "draw_radius")[0];
        var canvas = new byte[512 * 512 * 3];
        for (int i = 0; i < FaceDrawing.PatternCount; i++)
        {
            var (_, _, c0, c1, c2) = FaceDrawing.Patterns[i];
            if (flags[i] == 1)
                Circle.Fill(canvas, 512, 512, 512 * 3, (int)centers[2 * i], (int)centers[(2 * i) + 1], radius, c0, c1, c2);
        }

        AssertBytes($"f{f:D2} rendered", DwposeGolden.Image(Key(f, "rendered")).Pixels, canvas);
    }

    /// <summary>The raw detector output: the stored background row everywhere, the stored rows at their indices.</summary>
    internal static float[] RawOutput(int f)
    {
        var background = G.F(f, "det_raw_background_row");
        var rows = G.L(f, "det_raw_index");
        var values = G.F(f, "det_raw_rows");
        var raw = new float[8400 * 85];
        for (int r = 0; r < 8400; r++)
            background.CopyTo(raw, r * 85);
        for (int i = 0; i < rows.Length; i++)
            Array.Copy(values, 85 * i, raw, 85 * rows[i], 85);
        return raw;
    }

    internal static string Key(int f, string name) => DwposeGolden.Key(f, name);

    internal static void AssertBytes(string name, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        int differing = 0, first = -1, maxDiff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i] != actual[i])
            {
                differing++;
                first = first < 0 ? i : first;
                maxDiff = Math.Max(maxDiff, Math.Abs(expected[i] - actual[i]));
            }
        }

        if (differing > 0)
            Assert.Fail($"{name}: {differing} bytes differ (max {maxDiff}); first at byte {first} (pixel {first / 3}, channel {first % 3}): {actual[first]}, expected {expected[first]}.");
    }
}

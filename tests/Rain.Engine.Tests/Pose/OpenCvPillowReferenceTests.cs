using Rain.Engine.Media;
using Rain.Engine.Pose;
using Rain.Testing;
using Xunit.Abstractions;
using static Rain.Engine.Tests.Pose.DwposeStageTests;

namespace Rain.Engine.Tests.Pose;

/// <summary>
/// The integer image algorithms and the 256×192 pose-model geometry against outputs of OpenCV 4.6 and Pillow 9.4
/// themselves (tests/data/pose, made by tools/pose-refs/make_pose_refs.py): sizes and cases the golden set does not reach.
/// </summary>
public sealed class OpenCvPillowReferenceTests(ITestOutputHelper output)
{
    private static readonly Lazy<MiniSafetensors> Refs = new(() => MiniSafetensors.Read(PathOf("pose_refs.safetensors")));

    private static string PathOf(string file) => Path.GetFullPath(Path.Combine(GoldenData.Root, "..", "pose", file));

    private static byte[] U8(string name) => Refs.Value.Bytes(name).ToArray();

    private static (int H, int W) Hw(string name) => ((int)Refs.Value.Shape(name)[0], (int)Refs.Value.Shape(name)[1]);

    [Theory]
    [InlineData("up")]    // 40x30 into 64x64: non-square, padded below
    [InlineData("down")]  // 100x70 into 64x64: r = 0.64
    [InlineData("half")]  // 96x64 into 48x48: exactly 2x on both axes, where OpenCV uses INTER_AREA
    public void LetterboxMatchesCvResize(string name)
    {
        var (h, w) = Hw($"letterbox/{name}/input");
        var (ch, cw) = Hw($"letterbox/{name}/canvas");
        var chw = new float[3 * ch * cw];
        new Letterbox(w, h, cw, ch).Run(U8($"letterbox/{name}/input"), w * 3, chw);
        var expected = U8($"letterbox/{name}/canvas");
        var actual = new byte[expected.Length];
        for (int c = 0; c < 3; c++)
        {
            for (int i = 0; i < ch * cw; i++)
                actual[(3 * i) + c] = (byte)chw[(c * ch * cw) + i];
        }

        AssertBytes($"letterbox {name}", expected, actual);
    }

    [Theory]
    [InlineData("up")]
    [InlineData("down")]
    [InlineData("mixed")]
    public void BilinearMatchesPillow(string name)
    {
        var (h, w) = Hw($"pil/{name}/input");
        var (oh, ow) = Hw($"pil/{name}/output");
        var actual = new byte[oh * ow * 3];
        new PilResizePlan(w, h, ow, oh, ResampleFilter.Bilinear).Resize(U8($"pil/{name}/input"), w * 3, actual, ow * 3);
        AssertBytes($"pil {name}", U8($"pil/{name}/output"), actual);
        // The one-shot API gives the same pixels.
        Assert.Equal(actual, PilResize.Resize(new RgbImage(w, h, U8($"pil/{name}/input")), ow, oh, ResampleFilter.Bilinear).Pixels);
    }

    [Fact]
    public void WarpAffineMatchesOpenCvForARotatedMatrix()
    {
        var crop = new byte[96 * 128 * 3];
        var warp = new WarpAffine(96, 128);
        warp.Run(U8("warp/input"), 120, 90, 360, Refs.Value.Doubles("warp/rotated/matrix"), crop);
        Assert.False(warp.LastWasSeparable);
        AssertBytes("warp rotated", U8("warp/rotated/output"), crop);
    }

    [Fact]
    public void CropFor192x256MatchesOpenCv()
    {
        var box = Refs.Value.Doubles("warp/rain/box");
        var g = CropGeometry.Of(box[0], box[1], box[2], box[3], 192, 256);
        var m = new double[6];
        g.WarpMatrix(192, 256, m);
        Tolerance.AssertClose("getAffineTransform", Refs.Value.Doubles("warp/rain/matrix"), m, 1e-9, output);
        var crop = new byte[192 * 256 * 3];
        var warp = new WarpAffine(192, 256);
        warp.Run(U8("warp/input"), 120, 90, 360, m, crop);
        Assert.True(warp.LastWasSeparable);
        AssertBytes("warp rain 192x256", U8("warp/rain/output"), crop);
    }

    [Fact]
    public void CirclesMatchOpenCvAtAndBeyondTheEdges()
    {
        var list = Refs.Value.Longs("circles/list");
        var canvas = new byte[40 * 30 * 3];
        for (int i = 0; i < list.Length; i += 6)
            Circle.Fill(canvas, 40, 30, 120, (int)list[i], (int)list[i + 1], (int)list[i + 2], (byte)list[i + 3], (byte)list[i + 4], (byte)list[i + 5]);
        AssertBytes("circles", U8("circles/canvas"), canvas);
    }

    [Fact]
    public void A256x192PoseModelIsReadFromTheFileAndRunsRainsPipeline()
    {
        // Golden frames 0..3 in order through the re-shaped stand-in (dw-mm_ucoco's 256x192, SimCC 384/512); the
        // reference ran RAIN's steps with OpenCV from the same detector boxes.
        using var frontEnd = PoseFrontEnd.Load(DwposeGolden.Detector, PathOf("rtmpose_standin_256x192.onnx"), new PoseFrontEndOptions { CenterCrop = null });
        Assert.Equal((192, 256), (frontEnd.EstimatorWidth, frontEnd.EstimatorHeight));
        Assert.Equal(384 * 133, frontEnd.SimccX.Length);
        Assert.Equal(512 * 133, frontEnd.SimccY.Length);
        var pose = new byte[512 * 512 * 3];
        for (int f = 0; f < 4; f++)
        {
            var result = frontEnd.Process(DwposeGolden.Frame(f), pose);
            string p = $"mm/f{f:D2}";
            AssertBytes($"{p} crop", ImageCodec.Load(PathOf($"mm_f{f:D2}__pose_crop_u8.png")).Pixels, frontEnd.Crop);
            Assert.Equal(Refs.Value.Longs($"{p}/simcc_argmax"), frontEnd.SimccArgmax.ToArray());
            Tolerance.AssertClose($"{p} face_translated", Refs.Value.Doubles($"{p}/face_translated"), result.Face, 1e-12, output);
            AssertBytes($"{p} rendered", ImageCodec.Load(PathOf($"mm_f{f:D2}__rendered.png")).Pixels, pose);
            Assert.InRange(result.CirclesDrawn, 1, 26);
        }
    }
}

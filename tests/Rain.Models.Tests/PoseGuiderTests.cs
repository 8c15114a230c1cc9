using Rain.Models.Networks;
using Rain.Models.Onnx;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Models.Tests;

public sealed class PoseGuiderTests(ITestOutputHelper output)
{
    [Fact]
    public void PoseGuiderMatchesGolden02()
    {
        var golden = GoldenData.Open("02_pose_guider.safetensors");
        var g = PoseGuiderNetwork.Build(new GoldenWeights("weights/pose_guider.safetensors"), frames: 4, height: 64, width: 128);
        using var ort = new OrtHarness();
        string path = ort.Write(GraphPart.Whole(g));
        output.WriteLine(OnnxReport.Read(path).ToString());

        var pose = Layouts.BcfhwToFchw(golden.Floats("pose_u8"), 3, 4, 64 * 128);
        var result = OrtHarness.Run(path, [OrtHarness.Bytes("pose_u8", pose, 4, 3, 64, 128)]);

        var expected = Layouts.BcfhwToFchw(golden.Floats("pose_cond_fea"), 32, 4, 8 * 16);
        Tolerance.AssertClose("pose_cond_fea", expected, result["pose_cond_fea"], 1e-4, 1e-3, output);
    }
}

using BenchmarkDotNet.Attributes;
using Rain.Engine.Media;
using Rain.Engine.Pose;

namespace Rain.Bench;

/// <summary>
/// The pose front end's own work per frame (resize, letterbox, decoding and NMS, affine crop and normalisation, SimCC,
/// face cache, retargeting, drawing) without its two model runs, on a 512×512 camera frame — whole (the golden frames'
/// case) and with RAIN's web-UI centre crop 0.9 (460×460, resized back to 512×512) — against
/// <see cref="PoseBaseline"/>'s straightforward version of the same stages in the same run. The models' outputs are
/// those of one real run of the golden stand-ins (a person box, all keypoints), reused every frame.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 5, iterationCount: 20)]
public class PoseFrontEndBenchmarks
{
    private PoseFrontEnd _frontEnd = null!;
    private readonly PoseBaseline _baseline = new();
    private byte[] _frame = [], _pose = [];
    private float[] _detector = [], _simccX = [], _simccY = [];

    /// <summary>The centre crop: none (the frame whole) or RAIN's camera default.</summary>
    [Params("none", "0.9")]
    public string Crop { get; set; } = "none";

    private double? CropValue => Crop == "none" ? null : double.Parse(Crop, System.Globalization.CultureInfo.InvariantCulture);

    [GlobalSetup]
    public void Setup()
    {
        string data = Path.Combine(RepositoryRoot(), "tests", "data", "golden", "dwpose");
        _frontEnd = PoseFrontEnd.Load(Path.Combine(data, "yolox_standin.onnx"), Path.Combine(data, "rtmpose_standin.onnx"), new PoseFrontEndOptions { CenterCrop = CropValue, Threads = 1 });
        // Golden frame 4 (a person box and a second-class box), resized to the 512x512 camera frame.
        _frame = PilResize.Resize(ImageCodec.Load(Path.Combine(data, "frames", "frame_04.png")), 512, 512, ResampleFilter.Bilinear).Pixels;
        _pose = new byte[512 * 512 * 3];
        _frontEnd.Process(_frame, 512, 512, 512 * 3, _pose); // one real run fills the models' output buffers
        (_detector, _simccX, _simccY) = (_frontEnd.DetectorOutput.ToArray(), _frontEnd.SimccX.ToArray(), _frontEnd.SimccY.ToArray());
        _frontEnd.SkipModels = true;
    }

    [GlobalCleanup]
    public void Cleanup() => _frontEnd.Dispose();

    [Benchmark(Baseline = true)]
    public byte[] Straightforward() => _baseline.Process(_frame, 512, 512, CropValue, _detector, _simccX, _simccY);

    [Benchmark]
    public PoseFrame FrontEnd() => _frontEnd.Process(_frame, 512, 512, 512 * 3, _pose);

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Rain.Engine.sln")))
                return dir.FullName;
        }

        throw new DirectoryNotFoundException($"Rain.Engine.sln not found above {AppContext.BaseDirectory}; run the bench from the repository.");
    }
}

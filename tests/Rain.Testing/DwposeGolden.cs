using Rain.Engine.Media;

namespace Rain.Testing;

/// <summary>
/// The golden vectors of RAIN's pose front end (<c>tests/data/golden/dwpose</c>, a copy of the team's
/// <c>shared/golden/dwpose</c>; its README gives the tensors and tolerances): 8 camera frames forming one sequence,
/// every intermediate stage per frame, the uint8 image stages as PNG, and the two stand-in ONNX models.
/// </summary>
public sealed class DwposeGolden
{
    private static readonly Lazy<DwposeGolden> Instance = new(() => new DwposeGolden());

    private DwposeGolden() => Tensors = MiniSafetensors.Read(PathOf("dwpose_golden.safetensors"));

    /// <summary>Frames in the sequence.</summary>
    public const int Frames = 8;

    /// <summary>The golden set (read once per test process).</summary>
    public static DwposeGolden Load() => Instance.Value;

    /// <summary>Absolute path of a file of the set.</summary>
    public static string PathOf(string relative) => GoldenData.PathOf(Path.Combine("dwpose", relative));

    /// <summary>The detector stand-in (YOLOX contract).</summary>
    public static string Detector => PathOf("yolox_standin.onnx");

    /// <summary>The pose stand-in (DWPose 384×288 contract).</summary>
    public static string Estimator => PathOf("rtmpose_standin.onnx");

    /// <summary><c>dwpose_golden.safetensors</c>.</summary>
    public MiniSafetensors Tensors { get; }

    /// <summary>Camera frame <paramref name="i"/> (RGB).</summary>
    public static RgbImage Frame(int i) => ImageCodec.Load(PathOf($"frames/frame_{i:D2}.png"));

    /// <summary>An image stage stored as PNG, by tensor name (e.g. <c>f00/rendered</c>, <c>variant/f07/rendered</c>).</summary>
    public static RgbImage Image(string tensor) => ImageCodec.Load(PathOf($"images/{tensor.Replace("/", "__", StringComparison.Ordinal)}.png"));

    /// <summary>Whether an image stage is stored.</summary>
    public static bool HasImage(string tensor) => File.Exists(PathOf($"images/{tensor.Replace("/", "__", StringComparison.Ordinal)}.png"));

    /// <summary>A float64 (or widened float32) tensor of frame <paramref name="frame"/> (prefix <c>fNN/</c>, or <c>variant/fNN/</c>).</summary>
    public double[] D(int frame, string name, bool variant = false) => Tensors.Doubles(Key(frame, name, variant));

    /// <summary>A float32 tensor.</summary>
    public float[] F(int frame, string name) => Tensors.Floats(Key(frame, name, false));

    /// <summary>An integer tensor.</summary>
    public long[] L(int frame, string name, bool variant = false) => Tensors.Longs(Key(frame, name, variant));

    /// <summary>A uint8 tensor.</summary>
    public byte[] U8(int frame, string name, bool variant = false) => Tensors.Bytes(Key(frame, name, variant)).ToArray();

    /// <summary>Whether the tensor is stored for this frame.</summary>
    public bool Has(int frame, string name, bool variant = false) => Tensors.Contains(Key(frame, name, variant));

    /// <summary>The safetensors key of a tensor.</summary>
    public static string Key(int frame, string name, bool variant = false) => $"{(variant ? "variant/" : "")}f{frame:D2}/{name}";
}

using System.Buffers.Binary;
using System.IO.Compression;
using Rain.Engine.Bundle;
using Rain.Engine.Media;
using Rain.Engine.Tensors;
using Rain.Models.Bundle;
using Rain.Models.Checkpoints;
using Rain.Models.Config;
using Rain.Models.Onnx;
using Rain.Models.Weights;
using Rain.Testing.Checkpoints;
using SkiaSharp;

namespace Rain.Testing.Fuzzing;

/// <summary>
/// Every input format a user hands Rain.Engine, as fuzz targets over the golden data: checkpoints (torch.save zip, legacy,
/// safetensors) and their pickles, images (PNG, JPEG), <c>bundle.json</c>, the RAIN yaml and ONNX parts. Each is read
/// the way the product reads it and must end in that format's own exception. Owns a scratch folder (an exported golden
/// bundle, a RAIN root): dispose it.
/// </summary>
public sealed class FuzzTargets : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("rain-fuzz-").FullName;
    private readonly Lazy<string> _bundle;
    private readonly Lazy<string> _root;
    private int _files;

    public FuzzTargets()
    {
        _bundle = new(() =>
        {
            string folder = Path.Combine(_scratch, "bundle");
            BundleExport.Write(RainConfig.Load(GoldenData.PathOf("configs/rain_morpher.yaml")), folder);
            return folder;
        });
        _root = new(() =>
        {
            // A RAIN root whose yaml is the mutant; configs and weights are the golden ones.
            string root = Path.Combine(_scratch, "root");
            Directory.CreateDirectory(Path.Combine(root, "configs"));
            File.Copy(GoldenData.PathOf("configs/unet.json"), Path.Combine(root, "configs", "unet.json"));
            Directory.CreateSymbolicLink(Path.Combine(root, "weights"), GoldenData.PathOf("weights"));
            return root;
        });
    }

    /// <summary>Every target's name.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "checkpoint:weights/pose_guider.pth",
        "checkpoint:weights/image_encoder/pytorch_model.bin",
        "checkpoint:weights/pose_guider.safetensors",
        "checkpoint:weights/image_encoder/model.safetensors",
        "checkpoint:legacy",
        "pickle:weights/pose_guider.pth",
        "image:png",
        "image:jpeg",
        "bundle.json",
        "yaml",
        "onnx:pose_guider.onnx",
    ];

    /// <summary>The target called <paramref name="name"/> (one of <see cref="Names"/>).</summary>
    public FuzzTarget Create(string name) => name switch
    {
        "checkpoint:legacy" => Checkpoint(name, LegacyTorchWriter.Write(GoldenTensors("weights/pose_guider.safetensors")), legacy: true),
        _ when name.StartsWith("checkpoint:", StringComparison.Ordinal) => Checkpoint(name, File.ReadAllBytes(GoldenData.PathOf(name["checkpoint:".Length..])), legacy: false),
        _ when name.StartsWith("pickle:", StringComparison.Ordinal) => Pickle(name, GoldenData.PathOf(name["pickle:".Length..])),
        "image:png" => Image(name, ImageCodec.EncodePng(Scene()), 64),
        "image:jpeg" => Image(name, Jpeg(Scene()), 640),
        "bundle.json" => Manifest(name),
        "yaml" => Yaml(name),
        "onnx:pose_guider.onnx" => Onnx(name),
        _ => throw new ArgumentException($"no fuzz target '{name}'; targets: {string.Join(", ", Names)}", nameof(name)),
    };

    public void Dispose()
    {
        try
        {
            Directory.Delete(_scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static List<WriterTensor> GoldenTensors(string safetensors)
    {
        var twin = MiniSafetensors.Read(GoldenData.PathOf(safetensors));
        return twin.Names.Select(n => new WriterTensor(n, twin.DType(n), twin.Shape(n), twin.Bytes(n).ToArray())).ToList();
    }

    private string Scratch(string name) => Path.Combine(_scratch, $"{Interlocked.Increment(ref _files)}-{name}");

    private FuzzTarget Checkpoint(string name, byte[] original, bool legacy)
    {
        string path = Scratch("mutant");
        int hot = legacy ? original.Length - GoldenTensors("weights/pose_guider.safetensors").Sum(t => 8 + t.Data.Length)
            : original[0] == (byte)'P' ? ZipPickleRegion(original)
            : (int)Math.Min(original.Length, 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(original));
        return new FuzzTarget(name, original, 0, hot, mutant =>
        {
            File.WriteAllBytes(path, mutant);
            using var c = Rain.Models.Checkpoints.Checkpoint.Open(path);
            foreach (var t in c.Tensors)
            {
                _ = c.ReadRaw(t.Name).Length;
                _ = c.ReadFloat32(t.Name).Length;
            }

            _ = CheckpointScan.NonFiniteTensors(c);
        }, e => e is CheckpointFormatException, n => (4L * n) + (4 << 20)); // float32 copies cost at most 4 bytes per stored byte
    }

    private static FuzzTarget Pickle(string name, string pth)
    {
        byte[] pickle;
        using (var zip = new ZipArchive(File.OpenRead(pth)))
        {
            var entry = zip.Entries.Single(e => e.Name == "data.pkl");
            pickle = new byte[entry.Length];
            using var s = entry.Open();
            s.ReadExactly(pickle);
        }

        return new FuzzTarget(name, pickle, 0, pickle.Length, mutant =>
        {
            var root = RestrictedUnpickler.Load(mutant, pth, "data.pkl");
            _ = StateDictLocator.Find(root, pth, "data.pkl");
        }, e => e is CheckpointFormatException, n => (256L * n) + (4 << 20)); // a few objects per opcode byte, bounded per file byte
    }

    private static FuzzTarget Image(string name, byte[] original, int header) =>
        new(name, original, 0, Math.Min(header, original.Length), mutant => ImageCodec.Decode(mutant, "mutant"),
            e => e is ImageFormatException, n => (8L * ImageCodec.MaxPixels) + (4L * n) + (4 << 20)); // RGBA + RGB of the largest image accepted

    private FuzzTarget Manifest(string name)
    {
        string folder = _bundle.Value, path = Path.Combine(folder, ModelBundle.ManifestFileName);
        byte[] original = File.ReadAllBytes(path);
        return new FuzzTarget(name, original, 0, original.Length, mutant =>
        {
            File.WriteAllBytes(path, mutant);
            ModelBundle.Load(folder, verifyHashes: false);
        }, e => e is BundleException, n => (64L * n) + (8 << 20));
    }

    private FuzzTarget Yaml(string name)
    {
        string root = _root.Value, path = Path.Combine(root, "configs", "rain_morpher.yaml");
        byte[] original = File.ReadAllBytes(GoldenData.PathOf("configs/rain_morpher.yaml"));
        return new FuzzTarget(name, original, 0, original.Length, mutant =>
        {
            File.WriteAllBytes(path, mutant);
            BundleExport.CheckConfig(RainConfig.Load(path, root));
        }, e => e is ModelExportException, n => (64L * n) + (8 << 20));
    }

    private FuzzTarget Onnx(string name)
    {
        byte[] original = File.ReadAllBytes(Path.Combine(_bundle.Value, name["onnx:".Length..]));
        string path = Scratch("mutant.onnx");
        return new FuzzTarget(name, original, 0, original.Length, mutant =>
        {
            File.WriteAllBytes(path, mutant);
            _ = OnnxReport.Read(path).ToString();
        }, e => e is InvalidDataException, n => (16L * n) + (4 << 20));
    }

    private static int ZipPickleRegion(byte[] file)
    {
        using var zip = new ZipArchive(new MemoryStream(file));
        var pkl = zip.Entries.Single(e => e.Name == "data.pkl");
        return (int)Math.Min(file.Length, pkl.Length + 200);
    }

    // A pose-like test image: lines and blobs on black, so both codecs have structure to encode.
    private static RgbImage Scene()
    {
        const int W = 128, H = 64;
        var px = new byte[W * H * 3];
        for (int y = 0; y < H; y++)
        {
            for (int x = 0; x < W; x++)
            {
                int i = ((y * W) + x) * 3;
                px[i] = (byte)(Math.Abs((x % 40) - 20) < 3 ? 255 : 0);
                px[i + 1] = (byte)((x * y) & 0xFF);
                px[i + 2] = (byte)((x + (2 * y)) % 64 < 5 ? 200 : 0);
            }
        }

        return new RgbImage(W, H, px);
    }

    private static byte[] Jpeg(RgbImage image)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        for (int y = 0; y < image.Height; y++)
        {
            for (int x = 0; x < image.Width; x++)
            {
                int i = ((y * image.Width) + x) * 3;
                bitmap.SetPixel(x, y, new SKColor(image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]));
            }
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }
}

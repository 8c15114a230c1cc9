using System.Text.Json;
using Rain.Engine.Tensors;
using Rain.Models.Checkpoints;
using Rain.Testing;
using Rain.Testing.Checkpoints;
using SafetensorsWriter = Rain.Testing.Checkpoints.SafetensorsWriter;

namespace Rain.Models.Tests;

/// <summary>The embedded full-size key sets against the golden key file, and comparisons of checkpoints with them.</summary>
public sealed class RainKeySetsTests : IDisposable
{
    private static readonly Lazy<JsonDocument> KeyFile = new(() => JsonDocument.Parse(File.ReadAllBytes(GoldenData.PathOf("fullsize_keys.json"))));
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static JsonElement Module(string name) => KeyFile.Value.RootElement.GetProperty(name);

    private static List<(string Name, long[] Shape, string DType, bool Buffer)> Keys(string module) =>
        Module(module).GetProperty("keys").EnumerateArray()
            .Select(k => (k[0].GetString()!, k[1].EnumerateArray().Select(d => d.GetInt64()).ToArray(), k[2].GetString()!, k.GetArrayLength() > 3))
            .ToList();

    public static TheoryData<string> ModuleNames() =>
        new(KeyFile.Value.RootElement.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Object).Select(p => p.Name));

    [Fact]
    public void ModulesAreThoseOfTheKeyFile() =>
        Assert.Equal(["reference_unet", "denoising_unet", "pose_guider", "taesdv", "vae_sd_vae_ft_mse", "clip_image_encoder"], RainKeySets.Modules);

    [Theory]
    [MemberData(nameof(ModuleNames))]
    public void EmbeddedSetEqualsTheGoldenKeyFile(string module)
    {
        var set = RainKeySets.Get(module);
        var keys = Keys(module);
        Assert.Equal(Module(module).GetProperty("num_state_tensors").GetInt32(), set.Tensors.Count);
        Assert.Equal(keys.Select(k => k.Name), set.Tensors.Select(t => t.Name));
        Assert.Equal(keys.Select(k => string.Join(",", k.Shape)), set.Tensors.Select(t => string.Join(",", t.Shape)));
        Assert.Equal(keys.Select(k => k.DType), set.Tensors.Select(t => t.DType.ToSafetensorsName()));
        Assert.Equal(keys.Select(k => k.Buffer), set.Tensors.Select(t => t.IsBuffer));
    }

    [Fact]
    public void BuffersAreMarked()
    {
        Assert.Equal(42, RainKeySets.Get("denoising_unet").Tensors.Count(t => t.IsBuffer && t.Name.EndsWith("pos_encoder.pe", StringComparison.Ordinal)));
        var ids = Assert.Single(RainKeySets.Get("clip_image_encoder").Tensors, t => t.IsBuffer);
        Assert.Equal(("vision_model.embeddings.position_ids", TensorDType.I64), (ids.Name, ids.DType));
    }

    [Fact]
    public void UnknownModuleListsTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => RainKeySets.Get("unet"));
        Assert.Contains("denoising_unet", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FullSizeHalfPrecisionPoseGuiderMatchesWithDTypeDifferencesOnly()
    {
        // A released checkpoint stores fp16 where the key file says float32: reported, not a mismatch.
        var tensors = Keys("pose_guider").Select(k => new WriterTensor(k.Name, "F16", k.Shape, new byte[2 * k.Shape.Aggregate(1L, (a, b) => a * b)])).ToList();
        string path = _dir.File("pose_guider_full.safetensors");
        SafetensorsWriter.Write(path, tensors);
        using var c = Checkpoint.Open(path);
        var result = KeySetComparison.Compare(c.Tensors, RainKeySets.Get("pose_guider"));
        Assert.True(result.IsMatch);
        Assert.Equal(16, result.Matched);
        Assert.Equal(16, result.DTypeDifferences.Count);
        Assert.All(result.DTypeDifferences, d => Assert.Equal((TensorDType.F32, TensorDType.F16), (d.Expected.DType, d.Actual.DType)));
    }

    [Fact]
    public void SmallGoldenPoseGuiderHasTheKeysButNotTheShapes()
    {
        var golden = MiniSafetensors.Read(GoldenData.PathOf("weights/pose_guider.safetensors"));
        var full = Keys("pose_guider");
        int differing = full.Count(k => !golden.Shape(k.Name).SequenceEqual(k.Shape));
        using var c = Checkpoint.Open(GoldenData.PathOf("weights/pose_guider.pth"));
        var result = KeySetComparison.Compare(c.Tensors, RainKeySets.Get("pose_guider"));
        Assert.Empty(result.Missing);
        Assert.Empty(result.Unexpected);
        Assert.True(differing > 0);
        Assert.Equal(differing, result.ShapeMismatches.Count);
        Assert.False(result.IsMatch);
    }

    [Fact]
    public void SmallGoldenReferenceUnetReportsItsShortcutDifferences()
    {
        // Tiny widths (32,32,32,64) move the conv_shortcut layers: independent set arithmetic on the two key lists.
        var golden = MiniSafetensors.Read(GoldenData.PathOf("weights/reference_unet.safetensors")).Names;
        var full = Keys("reference_unet").Select(k => k.Name).ToList();
        using var c = Checkpoint.Open(GoldenData.PathOf("weights/reference_unet.pth"));
        var result = KeySetComparison.Compare(c.Tensors, RainKeySets.Get("reference_unet"));
        Assert.Equal(full.Except(golden), result.Missing.Select(m => m.Name));
        Assert.Equal(golden.Except(full), result.Unexpected.Select(u => u.Name));
        Assert.Equal(4, result.Missing.Count);
        Assert.Equal(2, result.Unexpected.Count);
    }
}

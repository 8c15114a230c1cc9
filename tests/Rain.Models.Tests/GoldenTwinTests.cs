using System.Runtime.InteropServices;
using Rain.Engine.Tensors;
using Rain.Models.Checkpoints;
using Rain.Testing;

namespace Rain.Models.Tests;

/// <summary>
/// Every genuine torch.save file of the golden set yields exactly the tensors of its safetensors twin (names,
/// order, dtypes, shapes, bytes), with the twin read by the independent test reader <see cref="MiniSafetensors"/>.
/// </summary>
public sealed class GoldenTwinTests
{
    public static TheoryData<string, string> Pairs() => new()
    {
        { "weights/reference_unet.pth", "weights/reference_unet.safetensors" },
        { "weights/denoising_unet.pth", "weights/denoising_unet.safetensors" },
        { "weights/pose_guider.pth", "weights/pose_guider.safetensors" },
        { "weights/taesdv.pth", "weights/taesdv.safetensors" },
        { "weights/vae/diffusion_pytorch_model.bin", "weights/vae/diffusion_pytorch_model.safetensors" },
        { "weights/image_encoder/pytorch_model.bin", "weights/image_encoder/model.safetensors" },
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void TorchFileMatchesTwinBitForBit(string torchFile, string twin)
    {
        using var checkpoint = Checkpoint.Open(GoldenData.PathOf(torchFile));
        Assert.Equal("torch-zip", checkpoint.Format);
        AssertSameAs(GoldenData.Open(twin), checkpoint);
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void SafetensorsReaderMatchesTestReader(string torchFile, string twin)
    {
        _ = torchFile;
        using var checkpoint = Checkpoint.Open(GoldenData.PathOf(twin));
        Assert.Equal("safetensors", checkpoint.Format);
        AssertSameAs(GoldenData.Open(twin), checkpoint);
        Assert.NotEmpty(checkpoint.Metadata);
    }

    [Fact]
    public void GoldenSetCoversF16F32AndI64()
    {
        var dtypes = new HashSet<TensorDType>();
        foreach (var row in Pairs())
        {
            using var c = Checkpoint.Open(GoldenData.PathOf((string)row[0]));
            dtypes.UnionWith(c.Tensors.Select(t => t.DType));
        }

        Assert.True(dtypes.SetEquals([TensorDType.F32, TensorDType.F16, TensorDType.I64]), string.Join(", ", dtypes));
    }

    [Theory]
    [InlineData("weights/vae", "diffusion_pytorch_model.safetensors")]
    [InlineData("weights/image_encoder", "model.safetensors")]
    public void HuggingFaceFolderPrefersSafetensors(string folder, string expectedFile)
    {
        using var checkpoint = Checkpoint.Open(GoldenData.PathOf(folder));
        Assert.Equal(GoldenData.PathOf(Path.Combine(folder, expectedFile)), checkpoint.Path);
        Assert.Equal("safetensors", checkpoint.Format);
    }

    [Fact]
    public void HuggingFaceFolderFallsBackToPytorchBin()
    {
        using var dir = new TempDir();
        File.Copy(GoldenData.PathOf("weights/image_encoder/pytorch_model.bin"), dir.File("pytorch_model.bin"));
        using var checkpoint = Checkpoint.Open(dir.Path);
        Assert.Equal("torch-zip", checkpoint.Format);
        AssertSameAs(GoldenData.Open("weights/image_encoder/model.safetensors"), checkpoint);
    }

    private static void AssertSameAs(MiniSafetensors expected, ICheckpoint actual)
    {
        Assert.Equal(expected.Names, actual.Tensors.Select(t => t.Name));
        var floats = new float[actual.Tensors.Max(t => t.ElementCount)];
        foreach (var t in actual.Tensors)
        {
            Assert.Equal(expected.DType(t.Name), t.DType.ToSafetensorsName());
            Assert.Equal(expected.Shape(t.Name), t.Shape);
            Assert.True(expected.Bytes(t.Name).SequenceEqual(actual.ReadRaw(t.Name)), $"{t.Name}: bytes differ");
            var want = expected.Floats(t.Name);
            actual.ReadFloat32(t.Name, floats);
            Assert.True(MemoryMarshal.AsBytes(want.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(floats.AsSpan(0, want.Length))), $"{t.Name}: float32 values differ");
            Assert.Equal(want, actual.ReadFloat32(t.Name));
        }
    }
}

using Rain.Testing;

namespace Rain.Kernels.Tests;

public sealed class KernelImagesTests
{
    private static bool HasImages => KernelImages.EmbeddedNames().Count > 0;

    [SkippableTheory]
    [InlineData(80, KernelImageKind.Cubin, 80)]
    [InlineData(86, KernelImageKind.Cubin, 86)]
    [InlineData(87, KernelImageKind.Ptx, 86)]   // Orin: no CUBIN of its own, the newest PTX not above it
    [InlineData(89, KernelImageKind.Cubin, 89)]
    [InlineData(90, KernelImageKind.Cubin, 90)]
    [InlineData(120, KernelImageKind.Ptx, 90)]  // Blackwell: driver JIT from compute_90
    public void TheBestImageIsTheExactCubinElseTheNewestPtxNotAbove(int sm, KernelImageKind kind, int imageSm)
    {
        Requires.Tool(HasImages, "the build embedded no kernel images (NVRTC was missing when Rain.Kernels was built)");
        foreach (string op in KernelImages.Ops)
        {
            var image = KernelImages.Best(op, sm);
            Assert.NotNull(image);
            Assert.Equal((op, kind, imageSm), (image.Op, image.Kind, image.Sm));
            if (kind == KernelImageKind.Ptx)
                Assert.StartsWith("//", System.Text.Encoding.ASCII.GetString(image.Bytes, 0, 2), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AnSmOlderThanEveryTargetHasNoImage()
    {
        Assert.Null(KernelImages.Best("noise", 75));
    }

    [Fact]
    public void SourcesAndHeadersAreEmbedded()
    {
        foreach (string op in KernelImages.Ops)
            Assert.Contains("extern \"C\" __global__", KernelImages.Source(op), StringComparison.Ordinal);
        var headers = KernelImages.Headers();
        Assert.Contains("cvt.rn.f16.f32", headers["common/half.cuh"], StringComparison.Ordinal);
        Assert.Contains("common/types.cuh", headers.Keys);
    }

    [Fact]
    public void AnUnknownOpIsRejectedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => KernelImages.Best("softmax", 90));
        Assert.Contains("softmax", e.Message, StringComparison.Ordinal);
        Assert.Contains("cross_noise_attention", e.Message, StringComparison.Ordinal);
    }
}

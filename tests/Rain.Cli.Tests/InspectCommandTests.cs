using System.CommandLine;
using System.Globalization;
using Rain.Testing;
using Rain.Testing.Checkpoints;

namespace Rain.Cli.Tests;

/// <summary><c>rain inspect</c> run in-process on the golden weights and on hand-built files.</summary>
public sealed class InspectCommandTests
{
    private static (int Code, string Out, string Err) Inspect(string path, string? expect = null, bool summary = false)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        int code = InspectCommand.Run(path, expect, summary, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void ListsEveryTensorWithTotals()
    {
        var twin = MiniSafetensors.Read(GoldenData.PathOf("weights/pose_guider.safetensors"));
        long bytes = twin.Names.Sum(n => (long)twin.Bytes(n).Length);
        var (code, output, _) = Inspect(GoldenData.PathOf("weights/pose_guider.pth"));
        Assert.Equal(0, code);
        Assert.Contains("(torch-zip, 16 tensors)", output, StringComparison.Ordinal);
        foreach (string name in twin.Names)
            Assert.Contains($"  {name} ", output, StringComparison.Ordinal);
        Assert.Contains($"{bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes", output, StringComparison.Ordinal);
        Assert.Contains("[32, 32, 3, 3]", output, StringComparison.Ordinal);
    }

    [Fact]
    public void SmallGoldenWeightsMismatchTheFullSizeShapes()
    {
        var (code, output, _) = Inspect(GoldenData.PathOf("weights/pose_guider.pth"), "pose_guider", summary: true);
        Assert.Equal(1, code);
        Assert.Contains("missing 0, unexpected 0, shape mismatches 16", output, StringComparison.Ordinal);
        Assert.Contains("shape mismatch: conv_out.weight: expected [320, 256, 3, 3], found [32, 32, 3, 3]", output, StringComparison.Ordinal);
        Assert.Contains("every key is present, but shapes differ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("  conv_in.bias  ", output, StringComparison.Ordinal); // --summary hides the listing
    }

    [Fact]
    public void FullSizeHalfPrecisionFileMatches()
    {
        // The full-size pose guider's shapes (from RAIN's conv sizes), stored as F16 like a released checkpoint.
        long[][] shapes = [[16, 3, 3, 3], [16], [16, 16, 3, 3], [16], [32, 16, 3, 3], [32], [32, 32, 3, 3], [32], [96, 32, 3, 3], [96], [96, 96, 3, 3], [96], [256, 96, 3, 3], [256], [320, 256, 3, 3], [320]];
        string[] names = ["conv_in", "blocks.0", "blocks.1", "blocks.2", "blocks.3", "blocks.4", "blocks.5", "conv_out"];
        var tensors = shapes.Select((s, i) => new WriterTensor($"{names[i / 2]}.{(i % 2 == 0 ? "weight" : "bias")}", "F16", s, new byte[2 * s.Aggregate(1L, (a, b) => a * b)])).ToList();
        string path = Path.Combine(Path.GetTempPath(), $"rain-inspect-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafetensorsWriter.Write(path, tensors);
            var (code, output, _) = Inspect(path, "pose_guider");
            Assert.Equal(0, code);
            Assert.Contains("matched 16, missing 0, unexpected 0, shape mismatches 0; dtype differences 16", output, StringComparison.Ordinal);
            Assert.Contains("result: MATCH (keys and shapes; the stored dtype differs", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MissingAndUnexpectedKeysAreListed()
    {
        var (code, output, _) = Inspect(GoldenData.PathOf("weights/reference_unet.safetensors"), "reference_unet", summary: true);
        Assert.Equal(1, code);
        Assert.Contains("missing: down_blocks.1.resnets.0.conv_shortcut.weight [640, 320, 1, 1] F32", output, StringComparison.Ordinal);
        Assert.Contains("unexpected: down_blocks.3.resnets.0.conv_shortcut.weight", output, StringComparison.Ordinal);
        Assert.Contains("dtype differences", output, StringComparison.Ordinal);
    }

    [Fact]
    public void UnreadableInputExitsWithTwoAndNamesTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"rain-inspect-{Guid.NewGuid():N}.pth");
        try
        {
            File.WriteAllBytes(path, [(byte)'P', (byte)'K', 3, 4, 0, 0]);
            var (code, _, error) = Inspect(path);
            Assert.Equal(2, code);
            Assert.Contains(path, error, StringComparison.Ordinal);
            Assert.Contains("too short", error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void UnknownModuleExitsWithTwo()
    {
        var (code, _, error) = Inspect(GoldenData.PathOf("weights/taesdv.pth"), "unet");
        Assert.Equal(2, code);
        Assert.Contains("known: reference_unet, denoising_unet", error, StringComparison.Ordinal);
    }

    [Fact]
    public void CommandLineWiresPathAndOptions()
    {
        var root = new RootCommand { InspectCommand.Create() };
        Assert.Equal(1, root.Parse(["inspect", GoldenData.PathOf("weights/pose_guider.safetensors"), "--expect", "pose_guider", "--summary"]).Invoke());
        Assert.Equal(2, root.Parse(["inspect", Path.Combine(GoldenData.Root, "no-such-file.pth")]).Invoke());
    }
}

using System.Text.Json.Nodes;
using Rain.Engine.Bundle;
using Rain.Engine.Media;
using Rain.Testing;
using Rain.Testing.Checkpoints;
using Xunit.Abstractions;

namespace Rain.Cli.Tests;

/// <summary>
/// The hostile-user findings of issue 14 through the CLI: corrupt weights are refused at inspect and export (CRC-32,
/// NaN), a failed export leaves nothing behind, yaml values are checked under their own names, decompression bombs and
/// absurd arguments cost nothing, and every failure is one line with exit code 2 (bad input) or 3 (a fault during the
/// run) — with the frames and the latency report written all the same.
/// </summary>
public sealed class ReliabilityCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("rain-reliab-").FullName;

    /// <summary>A RAIN root like the golden one whose pose_guider.pth is replaced by <paramref name="poseGuider"/>'s bytes.</summary>
    private string RootWith(byte[] poseGuider, Func<string, string>? editYaml = null)
    {
        string root = Path.Combine(_folder, "root-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(root, "configs"));
        Directory.CreateDirectory(Path.Combine(root, "weights"));
        foreach (string file in Directory.GetFiles(GoldenData.PathOf("configs")))
            File.Copy(file, Path.Combine(root, "configs", Path.GetFileName(file)));
        foreach (string entry in Directory.GetFileSystemEntries(GoldenData.PathOf("weights")))
        {
            string target = Path.Combine(root, "weights", Path.GetFileName(entry));
            if (Path.GetFileName(entry) != "pose_guider.pth")
                File.CreateSymbolicLink(target, entry);
        }

        File.WriteAllBytes(Path.Combine(root, "weights", "pose_guider.pth"), poseGuider);
        if (editYaml is not null)
        {
            string yaml = Path.Combine(root, "configs", "rain_morpher.yaml");
            File.WriteAllText(yaml, editYaml(File.ReadAllText(yaml)));
        }

        return root;
    }

    private static byte[] GoldenPoseGuider() => File.ReadAllBytes(GoldenData.PathOf("weights/pose_guider.pth"));

    private static void AssertOneLine(string stderr, string prefix)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => !l.StartsWith('[') && !l.StartsWith('\r')).ToList();
        Assert.Contains(lines, l => l.StartsWith(prefix, StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void StoredBytesOverwrittenAfterSavingFailTheZipCRCAtInspectAndExportAndLeaveNoBundle()
    {
        // The finding: 64 bytes of a storage set to 0xFF (NaN) passed inspect, export and run. Locate conv_out.weight's
        // bytes through its safetensors twin and overwrite them in the .pth.
        byte[] pth = GoldenPoseGuider();
        var twin = MiniSafetensors.Read(GoldenData.PathOf("weights/pose_guider.safetensors"));
        int at = pth.AsSpan().IndexOf(twin.Bytes("conv_out.weight")[..64]);
        Assert.True(at > 0);
        pth.AsSpan(at, 64).Fill(0xFF);
        string root = RootWith(pth), bundle = Path.Combine(_folder, "bundle");

        Assert.Equal(2, Cli.Invoke(output, out _, out string inspect, "inspect", Path.Combine(root, "weights", "pose_guider.pth")));
        Assert.Contains("CRC-32 mismatch", inspect, StringComparison.Ordinal);
        Assert.Matches(@"pose_guider\.pth: [^:]+/data/\d+: CRC-32 mismatch", inspect);
        AssertOneLine(inspect, "rain inspect: ");

        Assert.Equal(2, Cli.Invoke(output, out _, out string export, "export", "--rain-root", root, "--out", bundle));
        Assert.Contains("CRC-32 mismatch", export, StringComparison.Ordinal);
        AssertOneLine(export, "rain export: ");
        Assert.False(Directory.Exists(bundle), "a failed export left a bundle folder");
        Assert.Empty(Directory.GetFileSystemEntries(_folder, ".bundle.partial-*"));
    }

    [Fact]
    public void NonFiniteWeightsInASoundZipAreListedByInspectAndRefusedByExportNamingFileAndTensor()
    {
        // A correct zip (CRCs match) of the golden tensors, one of which holds a NaN and an infinity.
        var golden = MiniSafetensors.Read(GoldenData.PathOf("weights/pose_guider.safetensors"));
        var tensors = golden.Names.Select(n =>
        {
            byte[] data = golden.Bytes(n).ToArray();
            if (n == "blocks.2.weight")
            {
                BitConverter.TryWriteBytes(data.AsSpan(8), float.NaN);
                BitConverter.TryWriteBytes(data.AsSpan(12), float.PositiveInfinity);
            }

            return new WriterTensor(n, golden.DType(n), golden.Shape(n), data);
        }).ToList();
        string file = Path.Combine(_folder, "nan.pth");
        TorchZipWriter.WriteStateDict(file, tensors);

        Assert.Equal(1, Cli.Invoke(output, out string listing, out _, "inspect", file, "--summary"));
        Assert.Contains("1 tensor(s) hold NaN or infinite values", listing, StringComparison.Ordinal);
        Assert.Contains("non-finite: blocks.2.weight: 2 value(s), the first NaN at element 2", listing, StringComparison.Ordinal);

        string root = RootWith(File.ReadAllBytes(file)), bundle = Path.Combine(_folder, "bundle");
        Assert.Equal(2, Cli.Invoke(output, out _, out string export, "export", "--rain-root", root, "--out", bundle));
        Assert.Contains("pose_guider.pth: tensor 'blocks.2.weight' holds a non-finite value (NaN at element 2)", export, StringComparison.Ordinal);
        AssertOneLine(export, "rain export: ");
        Assert.False(Directory.Exists(bundle));
    }

    [Theory]
    [InlineData("num_inference_steps: 4", "num_inference_steps: 8", "'num_inference_steps' is 8, but 'temporal_window_size' is 4")]
    [InlineData("guidance_scale: 2.5", "guidance_scale: 1000000", "'guidance_scale' is 1000000; expected 0 to 50")]
    [InlineData("guidance_scale: 2.5", "guidance_scale: .nan", "'guidance_scale' is .nan, expected a finite number")]
    public void YamlValuesTheStreamCannotUseAreRefusedAtExportUnderTheNameTheUserWrote(string from, string to, string expected)
    {
        string root = RootWith(GoldenPoseGuider(), yaml => yaml.Replace(from, to, StringComparison.Ordinal));
        string bundle = Path.Combine(_folder, "bundle");
        Assert.Equal(2, Cli.Invoke(output, out _, out string error, "export", "--rain-root", root, "--out", bundle));
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains("rain_morpher.yaml", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(bundle));
    }

    [Fact]
    public void ExportReplacesABundleButNeverAFolderOfOtherFiles()
    {
        string folder = Path.Combine(_folder, "documents");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "thesis.txt"), "precious");
        Assert.Equal(2, Cli.Invoke(output, out _, out string error, "export", "--rain-root", GoldenData.Root, "--out", folder));
        Assert.Contains("holds files but no bundle.json", error, StringComparison.Ordinal);
        Assert.Equal("precious", File.ReadAllText(Path.Combine(folder, "thesis.txt")));

        string bundle = Path.Combine(_folder, "bundle");
        Assert.Equal(0, Cli.Invoke(output, "export", "--rain-root", GoldenData.Root, "--out", bundle));
        File.WriteAllText(Path.Combine(bundle, "stale.onnx"), "left from an older export");
        Assert.Equal(0, Cli.Invoke(output, "export", "--rain-root", GoldenData.Root, "--out", bundle));
        Assert.False(File.Exists(Path.Combine(bundle, "stale.onnx")), "the old bundle was not replaced as a whole");
        ModelBundle.Load(bundle);
    }

    [Fact]
    public void AbsurdArgumentsAndDecompressionBombsAreRefusedAtOnce()
    {
        Assert.Equal(2, Cli.Invoke(output, out string printed, out string steps, "schedule", "--steps", "2000000000"));
        Assert.Contains("--steps must be 0 to 10000", steps, StringComparison.Ordinal);
        Assert.Empty(printed);
        Assert.Equal(2, Cli.Invoke(output, out _, out string parse, "schedule", "--steps", "many"));
        Assert.Contains("rain schedule:", parse, StringComparison.Ordinal);

        // A 1 KB PNG claiming 16384² as the reference: refused from its header, before the bundle is even loaded.
        string bomb = Path.Combine(_folder, "bomb.png"), poses = Path.Combine(_folder, "poses");
        File.WriteAllBytes(bomb, PngBomb.Create(16384, 16384));
        Directory.CreateDirectory(poses);
        // Counted on this thread: `rain run` checks the reference synchronously on the invoking thread, and the process-wide
        // count would include whatever the tests running beside this one allocate meanwhile.
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(2, Cli.Invoke(output, out _, out string error, "run", "--bundle", Path.Combine(_folder, "nowhere"), "--reference", bomb, "--poses", poses, "--out", Path.Combine(_folder, "frames")));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 20, "the bomb was decoded");
        Assert.Contains("bomb.png: the header claims 16384x16384 pixels", error, StringComparison.Ordinal);
        AssertOneLine(error, "rain run: ");
    }

    [Fact]
    public void ARunWithNoPoseIsBadInputAndAStepFaultExits3WithTheReportWritten()
    {
        string bundle = Path.Combine(_folder, "bundle"), reference = Path.Combine(_folder, "reference.png"), poses = Path.Combine(_folder, "poses");
        Assert.Equal(0, Cli.Invoke(output, "export", "--rain-root", GoldenData.Root, "--out", bundle));
        ImageCodec.SavePng(DemoScene.Reference(96, 96), reference);
        Directory.CreateDirectory(poses);
        Assert.Equal(2, Cli.Invoke(output, out _, out string empty, "run", "--bundle", bundle, "--reference", reference, "--poses", poses, "--out", Path.Combine(_folder, "f0")));
        Assert.Contains("no pose images", empty, StringComparison.Ordinal);

        // The pose guider's weights turned to NaN (the bundle re-hashed and re-sealed, as a careless export would ship it):
        // the first step faults, naming step and stage; exit 3, one line, and latency.json still written.
        for (int i = 0; i < 8; i++)
            ImageCodec.SavePng(DemoScene.Pose(i, 128, 64), Path.Combine(poses, $"pose_{i:D3}.png"));
        string data = Path.Combine(bundle, "pose_guider.onnx.data");
        File.WriteAllBytes(data, Enumerable.Repeat((byte)0xFF, (int)new FileInfo(data).Length).ToArray());
        string manifest = Path.Combine(bundle, ModelBundle.ManifestFileName);
        var json = JsonNode.Parse(File.ReadAllText(manifest))!;
        json["parts"]!["pose_guider"]!["data_sha256"] = ModelBundle.Sha256Of(data);
        File.WriteAllText(manifest, System.Text.Json.JsonSerializer.Deserialize(json.ToJsonString(), BundleJson.Default.BundleManifest)!.ToSealedJson());

        string frames = Path.Combine(_folder, "frames");
        Assert.Equal(3, Cli.Invoke(output, out _, out string fault, "run", "--bundle", bundle, "--reference", reference, "--poses", poses, "--out", frames, "--threads", "1"));
        Assert.Contains("step 0", fault, StringComparison.Ordinal);
        Assert.Contains("UNetParts", fault, StringComparison.Ordinal);
        Assert.Contains("non-finite", fault, StringComparison.Ordinal);
        AssertOneLine(fault, "rain run: ");
        var report = JsonNode.Parse(File.ReadAllText(Path.Combine(frames, "latency.json")))!;
        Assert.Equal(0, report["frames"]!.GetValue<long>());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

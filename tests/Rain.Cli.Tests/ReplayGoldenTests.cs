using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Cli.Tests;

/// <summary>
/// The done-criterion of the CPU engine: `rain export` of the golden RAIN checkout, then `rain replay` of golden 06,
/// both through the CLI's root command in-process, reproduce every step's image, latents and pose features and the final
/// decoder memories within |a−b| ≤ 1e-4 + 1e-3·|ref|. The output is read with the test reader, not the product's.
/// </summary>
public sealed class ReplayGoldenTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("rain-replay-").FullName;

    [Fact]
    public void ExportThenReplayReproducesGoldenStream06()
    {
        string bundle = Path.Combine(_folder, "bundle"), result = Path.Combine(_folder, "replay.safetensors");
        Assert.Equal(0, Cli.Invoke(output, "export", "--rain-root", GoldenData.Root, "--out", bundle));
        Assert.Equal(0, Cli.Invoke(output, "replay", "--bundle", bundle, "--inputs", GoldenData.PathOf("06_stream.safetensors"), "--out", result, "--threads", "2"));

        var golden = GoldenData.Open("06_stream.safetensors");
        var replay = MiniSafetensors.Read(result);
        int compared = 0;
        foreach (string name in golden.Names.Where(n => n.StartsWith("step", StringComparison.Ordinal) && !n.EndsWith(".pose_u8", StringComparison.Ordinal) && !n.EndsWith("_noise", StringComparison.Ordinal)))
        {
            Assert.True(replay.Contains(name), $"replay output lacks '{name}'");
            Assert.Equal(golden.Shape(name), replay.Shape(name));
            Tolerance.AssertClose(name, golden.Floats(name), replay.Floats(name), 1e-4, 1e-3, output);
            compared++;
        }

        // 6 steps × (image, latents, pose features) + 10 memories.
        Assert.Equal(28, compared);
    }

    [Fact]
    public void ReplayOfOneNetworkMatchesGolden04Unet()
    {
        string bundle = Path.Combine(_folder, "bundle"), result = Path.Combine(_folder, "unet.safetensors");
        Assert.Equal(0, Cli.Invoke(output, "export", "--rain-root", GoldenData.Root, "--out", bundle));
        Assert.Equal(0, Cli.Invoke(output, "replay", "--bundle", bundle, "--network", "unet", "--inputs", GoldenData.PathOf("04_denoising_unet.safetensors"), "--out", result));
        Tolerance.AssertClose("model_output", GoldenData.Open("04_denoising_unet.safetensors").Floats("model_output"), MiniSafetensors.Read(result).Floats("model_output"), 1e-4, 1e-3, output);
        Assert.Equal(0, Cli.Invoke(output, "replay", "--bundle", bundle, "--network", "pose_guider", "--inputs", GoldenData.PathOf("02_pose_guider.safetensors"), "--out", result));
        Tolerance.AssertClose("pose_cond_fea", GoldenData.Open("02_pose_guider.safetensors").Floats("pose_cond_fea"), MiniSafetensors.Read(result).Floats("pose_cond_fea"), 1e-4, 1e-3, output);
    }

    [Fact]
    public void ReplayOfTheReferenceNetworksMatchesGolden07And03AndRefusesARecordingOfAnotherSize()
    {
        string bundle = Path.Combine(_folder, "bundle"), result = Path.Combine(_folder, "net.safetensors");
        Assert.Equal(0, Cli.Invoke(output, "export", "--rain-root", GoldenData.Root, "--out", bundle));
        (string Network, string Vector, string[] Outputs)[] cases =
        [
            ("clip_vision", "07_clip_image_encoder.safetensors", ["image_embeds"]),
            ("vae_encoder", "07_vae_encoder.safetensors", ["latents"]),
            ("reference_unet", "03_reference_unet.safetensors", ["d00", "d21", "m", "u32"]),
        ];
        foreach (var (network, vector, outputs) in cases)
        {
            Assert.Equal(0, Cli.Invoke(output, "replay", "--bundle", bundle, "--network", network, "--inputs", GoldenData.PathOf(vector), "--out", result));
            var golden = GoldenData.Open(vector);
            var replay = MiniSafetensors.Read(result);
            foreach (string name in outputs)
                Tolerance.AssertClose($"{network}.{name}", golden.Floats(name), replay.Floats(name), 1e-4, 1e-3, output);
        }

        // Golden 05 decodes a 2×3 latent slice; the bundle's decoder has the static 8×16 shape.
        Assert.Equal(2, Cli.Invoke(output, out _, out string error, "replay", "--bundle", bundle, "--network", "taesdv_decoder", "--inputs", GoldenData.PathOf("05_taesdv_decode_slice.safetensors"), "--out", result));
        Assert.Contains("latents_ntchw", error, StringComparison.Ordinal);
        Assert.Contains("[1, 4, 4, 2, 3]", error, StringComparison.Ordinal);
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

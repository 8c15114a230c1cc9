using Rain.Engine.Api;
using Rain.Engine.Backends.Cpu;
using Rain.Engine.Media;
using Rain.Engine.Tests.Api;

namespace Rain.Engine.Tests.Backends;

/// <summary>
/// The CPU backend's memory: the reference networks are loaded for a reference and released after it (the UNet released
/// while they run) unless kept, and either way a stream gives the same frames; the memory ledger's numbers add up to the
/// bundle's files on disk.
/// </summary>
public sealed class CpuMemoryTests(GoldenBundle bundle) : IClassFixture<GoldenBundle>
{
    private static readonly string[] ReferenceNetworks = ["clip_vision", "vae_encoder", "reference_unet"];

    [Fact]
    public void ReferenceNetworksAreReleasedAfterEachReferenceAndReloadedForTheNextWithTheSameFramesAsKeptOnes()
    {
        var first = SessionTests.Pose(7, 96, 80);
        var second = SessionTests.Pose(3, 64, 64);
        var released = new EngineOptions { Threads = 1, Seed = 5, VerifyBundleHashes = false };
        var kept = released with { KeepReferenceNetworks = true };

        var (_, releasedBackend) = RainEngine.CreateBackend(bundle.Folder, released);
        var (_, keptBackend) = RainEngine.CreateBackend(bundle.Folder, kept);
        using var r = (CpuBackend)releasedBackend;
        using var k = (CpuBackend)keptBackend;

        // Released: nothing of the reference or the UNet is loaded before the first reference.
        Assert.False(r.Pipeline.ReferenceNetworksLoaded);
        Assert.False(r.Pipeline.UNet.IsLoaded);
        Assert.True(k.Pipeline.ReferenceNetworksLoaded);
        Assert.True(k.Pipeline.UNet.IsLoaded);

        foreach (var (reference, round) in new[] { (first, 1), (second, 2) })
        {
            var a = Stream(r, reference);
            var b = Stream(k, reference);
            Assert.Equal(b.Count, a.Count);
            for (int i = 0; i < a.Count; i++)
                Assert.True(a[i].AsSpan().SequenceEqual(b[i]), $"reference {round}, frame {i}: released and kept reference networks give different frames");

            // The released engine loaded its reference networks once per reference and released them each time; its UNet
            // was released for every reference change after the first and loaded again after the reference networks.
            var ledger = r.Pipeline.Ledger;
            Assert.False(r.Pipeline.ReferenceNetworksLoaded);
            foreach (string name in ReferenceNetworks)
            {
                var n = ledger.Networks.Single(x => x.Name == name);
                Assert.Equal("reference", n.Group);
                Assert.False(n.Loaded);
                Assert.Equal(round, n.Loads);
                Assert.Equal(round, n.Releases);
            }

            var unet = ledger.Networks.Where(x => x.Group == "unet").ToList();
            Assert.Equal(43, unet.Count);
            Assert.All(unet, n => Assert.True(n.Loaded && n.Loads == round && n.Releases == round - 1, $"{n.Name}: loads {n.Loads}, releases {n.Releases}"));

            // The kept engine loaded everything once.
            Assert.All(k.Pipeline.Ledger.Networks, n => Assert.True(n.Loaded && n.Loads == 1 && n.Releases == 0, $"{n.Name} (kept): loads {n.Loads}, releases {n.Releases}"));
        }
    }

    [Fact]
    public void TheLedgerAddsUpToTheBundlesFilesAndItsLoadedParts()
    {
        var (b, backend) = RainEngine.CreateBackend(bundle.Folder, new EngineOptions { Threads = 1, VerifyBundleHashes = false });
        using var cpu = (CpuBackend)backend;
        Stream(cpu, SessionTests.Pose(7, 96, 80));
        var ledger = cpu.Pipeline.Ledger;

        // Every part, once, with its weights as the files on disk: the ONNX models and their external data.
        Assert.Equal(b.Manifest.Parts.Keys.Order(StringComparer.Ordinal), ledger.Networks.Select(n => n.Name).Order(StringComparer.Ordinal));
        long onDisk = Directory.EnumerateFiles(bundle.Folder, "*.onnx").Concat(Directory.EnumerateFiles(bundle.Folder, "*.onnx.data"))
            .Sum(f => new FileInfo(f).Length);
        Assert.Equal(onDisk, ledger.WeightBytes);
        Assert.Equal(ledger.Networks.Sum(n => n.WeightBytes), ledger.ByGroup.Values.Sum(g => g.Weights));
        Assert.Equal(ledger.Networks.Sum(n => n.LoadResidentDelta), ledger.ByGroup.Values.Sum(g => g.Load));
        Assert.Equal(ledger.Networks.Sum(n => n.FirstRunResidentDelta), ledger.ByGroup.Values.Sum(g => g.FirstRun));

        // After the reference: the reference networks are released, everything else is loaded and has run.
        Assert.Equal(ledger.Networks.Where(n => n.Group != "reference").Sum(n => n.WeightBytes), ledger.LoadedWeightBytes);
        Assert.Equal(ledger.Networks.Where(n => n.Group != "reference").Sum(n => n.LoadResidentDelta + n.FirstRunResidentDelta), ledger.LoadedResidentBytes);
        Assert.Equal(cpu.BufferBytes, ledger.BufferBytes);
        Assert.True(ledger.Now.Resident > 0 && ledger.Now.Peak >= ledger.Now.Resident);
        if (OperatingSystem.IsLinux())
            Assert.InRange(ledger.Now.Resident - (ledger.Now.Anonymous + ledger.Now.FileBacked), 0, 64L * 1024 * 1024); // RssShmem aside
    }

    // Starts a stream on the reference and runs L + 2 steps; the frames of the steps that emitted.
    private static List<byte[]> Stream(CpuBackend backend, RgbImage reference)
    {
        var m = backend.Pipeline.Bundle.Manifest;
        var streamer = backend.Start(reference, new StageTimings());
        int p = m.FramesPerLevel;
        var frames = new List<byte[]>();
        var buffers = Enumerable.Range(0, p).Select(_ => new byte[m.Width * m.Height * 3]).ToArray();
        for (int step = 0; step < m.Levels + 2; step++)
        {
            var poses = Enumerable.Range(step * p, p).Select(i => SessionTests.Pose(i)).ToArray();
            if (streamer.Step(poses, buffers).Emit)
                frames.AddRange(buffers.Select(x => x.ToArray()));
        }

        Assert.Equal(3 * p, frames.Count);
        return frames;
    }
}

using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using Rain.Engine.Tensors;
using Rain.Models.Checkpoints;
using Rain.Testing;
using Rain.Testing.Checkpoints;
using Xunit.Abstractions;

namespace Rain.Models.Tests;

/// <summary>
/// Seeded mutation fuzzing of the golden checkpoints: every mutant either opens and reads completely or fails
/// with a <see cref="CheckpointFormatException"/>; any other exception, a crash or a hang fails the test.
/// Mutations concentrate on the structural bytes (pickle, zip directory, JSON header), where parsers break.
/// </summary>
public sealed class MutationFuzzTests(ITestOutputHelper output)
{
    private static readonly long[] Interesting = [0, 1, 7, 8, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, long.MaxValue, -1];

    public static TheoryData<string, int> Seeds() => new()
    {
        { "weights/pose_guider.pth", 1 },
        { "weights/image_encoder/pytorch_model.bin", 2 },
        { "weights/pose_guider.safetensors", 3 },
        { "weights/image_encoder/model.safetensors", 4 },
        { "legacy:weights/pose_guider.safetensors", 5 },
    };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void MutantsOpenOrFailWithFormatException(string golden, int seed)
    {
        byte[] original;
        int hotStart, hotLength;
        if (golden.StartsWith("legacy:", StringComparison.Ordinal))
        {
            // A legacy torch.save file of the golden tensors: its structure is the pickles before the storages.
            var tensors = LegacyTorchReaderTests.TensorsOf(golden["legacy:".Length..]);
            original = LegacyTorchWriter.Write(tensors);
            (hotStart, hotLength) = (0, original.Length - tensors.Sum(t => 8 + t.Data.Length));
        }
        else
        {
            original = File.ReadAllBytes(GoldenData.PathOf(golden));
            (hotStart, hotLength) = StructuralRegion(GoldenData.PathOf(golden), original);
        }

        var rng = new Random(seed);
        using var dir = new TempDir();
        string path = dir.File("mutant");
        var clock = Stopwatch.StartNew();
        int runs = 0, refused = 0;
        long worstAllocation = 0;
        const int Budget = 4000;
        while (runs < Budget && clock.Elapsed < TimeSpan.FromSeconds(3))
        {
            byte[] mutant = Mutate(original, hotStart, hotLength, rng);
            File.WriteAllBytes(path, mutant);
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                using var c = Checkpoint.Open(path);
                foreach (var t in c.Tensors)
                {
                    _ = c.ReadRaw(t.Name).Length;
                    _ = c.ReadFloat32(t.Name).Length;
                }
            }
            catch (CheckpointFormatException)
            {
                refused++;
            }
            catch (Exception e)
            {
                File.WriteAllBytes(Path.Combine(Path.GetTempPath(), $"rain-fuzz-{seed}-{runs}.bin"), mutant);
                Assert.Fail($"mutant {runs} of {golden} (seed {seed}) threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }

            // Reading every tensor as float32 costs at most 4 bytes per stored byte; parsing must stay small beside it.
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            worstAllocation = Math.Max(worstAllocation, allocated);
            Assert.True(allocated < (4L * mutant.Length) + (4 << 20), $"mutant {runs} of {golden} (seed {seed}) allocated {allocated} bytes for a {mutant.Length}-byte file");
            runs++;
        }

        output.WriteLine($"{golden}: {runs} mutants in {clock.Elapsed.TotalSeconds:F1} s, {refused} refused, {runs - refused} read, at most {worstAllocation / 1024} KiB allocated by one");
        Assert.True(runs >= 200, $"only {runs} mutants ran");
        Assert.True(refused > 0 && refused < runs, "mutations should both break and spare files");
    }

    [Theory]
    [InlineData("weights/pose_guider.pth", 11)]
    [InlineData("weights/image_encoder/pytorch_model.bin", 12)]
    public void MutatedPicklesRunOrFailWithFormatException(string golden, int seed)
    {
        using var zip = new ZipArchive(File.OpenRead(GoldenData.PathOf(golden)));
        var entry = zip.Entries.Single(e => e.Name == "data.pkl");
        byte[] pickle = new byte[entry.Length];
        using (var s = entry.Open())
            s.ReadExactly(pickle);
        var rng = new Random(seed);
        var clock = Stopwatch.StartNew();
        int runs = 0, refused = 0;
        while (runs < 20000 && clock.Elapsed < TimeSpan.FromSeconds(2))
        {
            byte[] mutant = Mutate(pickle, 0, pickle.Length, rng);
            try
            {
                var root = RestrictedUnpickler.Load(mutant, golden, "data.pkl");
                _ = StateDictLocator.Find(root, golden, "data.pkl");
            }
            catch (CheckpointFormatException)
            {
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"pickle mutant {runs} (seed {seed}) threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }

            runs++;
        }

        output.WriteLine($"{golden} data.pkl: {runs} mutants in {clock.Elapsed.TotalSeconds:F1} s, {refused} refused");
        Assert.True(runs >= 500, $"only {runs} mutants ran");
    }

    // The bytes whose corruption matters: the pickle of a zip (from its local header), or a safetensors header.
    private static (int Start, int Length) StructuralRegion(string path, byte[] file)
    {
        if (file[0] == (byte)'P')
        {
            using var zip = new ZipArchive(File.OpenRead(path));
            var pkl = zip.Entries.Single(e => e.Name == "data.pkl");
            return (0, (int)Math.Min(file.Length, pkl.Length + 200));
        }

        return (0, (int)Math.Min(file.Length, 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(file)));
    }

    private static byte[] Mutate(byte[] original, int hotStart, int hotLength, Random rng)
    {
        byte[] m = (byte[])original.Clone();
        int rounds = 1 + rng.Next(3);
        for (int r = 0; r < rounds; r++)
        {
            // Half the mutations land in the structural region, a fifth in the zip's tail (central directory), the rest anywhere.
            double where = rng.NextDouble();
            int pos = where < 0.5 ? hotStart + rng.Next(hotLength)
                : where < 0.7 ? Math.Max(0, m.Length - 1 - rng.Next(Math.Min(m.Length, 4096)))
                : rng.Next(m.Length);
            switch (rng.Next(6))
            {
                case 0:
                    m[pos] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1:
                    m[pos] = (byte)rng.Next(256);
                    break;
                case 2:
                    long v = Interesting[rng.Next(Interesting.Length)];
                    int width = rng.Next(2) == 0 ? 4 : 8;
                    if (pos + width <= m.Length)
                    {
                        if (width == 4)
                            BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(pos), (uint)v);
                        else
                            BinaryPrimitives.WriteInt64LittleEndian(m.AsSpan(pos), v);
                    }

                    break;
                case 3:
                    return m[..rng.Next(m.Length)];
                case 4:
                    int count = 1 + rng.Next(16);
                    var inserted = new byte[count];
                    rng.NextBytes(inserted);
                    return [.. m[..pos], .. inserted, .. m[pos..]];
                default:
                    int cut = Math.Min(1 + rng.Next(16), m.Length - pos);
                    return [.. m[..pos], .. m[(pos + cut)..]];
            }
        }

        return m;
    }
}

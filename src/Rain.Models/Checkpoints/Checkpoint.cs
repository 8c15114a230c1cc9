using Rain.Engine.Tensors;

namespace Rain.Models.Checkpoints;

/// <summary>
/// Opens checkpoints whatever their format, detected from the content rather than the extension: torch.save zip
/// files (.pth, .bin, .pt), legacy pre-1.6 torch.save files, safetensors files, and Hugging Face model folders.
/// </summary>
public static class Checkpoint
{
    /// <summary>Weight files looked for in a Hugging Face folder, in order of preference (safetensors first: no pickle).</summary>
    public static IReadOnlyList<string> FolderCandidates { get; } =
    [
        "model.safetensors",
        "diffusion_pytorch_model.safetensors",
        "pytorch_model.bin",
        "diffusion_pytorch_model.bin",
        "model.fp16.safetensors",
        "diffusion_pytorch_model.fp16.safetensors",
        "pytorch_model.fp16.bin",
        "diffusion_pytorch_model.fp16.bin",
    ];

    /// <summary>
    /// Opens a checkpoint file, or a Hugging Face folder through <see cref="FindInFolder"/>. The caller owns the
    /// result and must dispose it.
    /// </summary>
    /// <exception cref="CheckpointFormatException">The content is not a readable checkpoint; the message says why.</exception>
    /// <exception cref="FileNotFoundException">Nothing exists at <paramref name="path"/>.</exception>
    public static ICheckpoint Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
            path = FindInFolder(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"No checkpoint file at {path}.", path);
        return DetectFormat(path) switch
        {
            Format.Zip => TorchZipReader.Open(path),
            Format.Safetensors => SafetensorsReader.Open(path),
            Format.LegacyTorch => LegacyTorchReader.Open(path),
            _ => throw new CheckpointFormatException(path, null, "the content is neither a torch.save zip (PK\\x03\\x04) nor safetensors (8-byte header length, then '{')."),
        };
    }

    /// <summary>The weight file a Hugging Face model folder holds (see <see cref="FolderCandidates"/>).</summary>
    /// <exception cref="CheckpointFormatException">The folder holds none of the candidates, or only a sharded checkpoint.</exception>
    public static string FindInFolder(string folder)
    {
        foreach (string name in FolderCandidates)
        {
            string candidate = System.IO.Path.Combine(folder, name);
            if (File.Exists(candidate))
                return candidate;
        }

        string sharded = Directory.EnumerateFiles(folder, "*.index.json").FirstOrDefault() is { } index
            ? $" It has {System.IO.Path.GetFileName(index)}: sharded checkpoints are not read; merge the shards into one file."
            : string.Empty;
        throw new CheckpointFormatException(folder, null, $"the folder holds none of {string.Join(", ", FolderCandidates)}.{sharded}");
    }

    private enum Format
    {
        Unknown,
        Zip,
        Safetensors,
        LegacyTorch,
    }

    private static Format DetectFormat(string path)
    {
        Span<byte> head = stackalloc byte[16];
        int n;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1))
            n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..n];
        if (head.Length >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] is 3 or 5 && head[3] is 4 or 6)
            return Format.Zip;
        // A '{' after the length field marks safetensors even when the length itself is broken, so the
        // safetensors reader can say what is wrong with it.
        if (SafetensorsReader.LooksLikeSafetensors(head) || (head.Length >= 9 && head[8] == (byte)'{'))
            return Format.Safetensors;

        if (LegacyTorchReader.LooksLikeLegacy(head))
            return Format.LegacyTorch;
        return Format.Unknown;
    }
}

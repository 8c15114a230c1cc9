using System.Text;
using Rain.Engine;
using Rain.Engine.Tensors;

namespace Rain.Models.Checkpoints;

/// <summary>
/// Reads a torch.save zip checkpoint (PyTorch ≥ 1.6): <c>&lt;archive&gt;/data.pkl</c> is run by a restricted
/// unpickler that only rebuilds tensors, and each storage <c>&lt;archive&gt;/data/&lt;key&gt;</c> is mapped in place
/// (torch writes them STORED and 64-byte aligned), so opening reads only the pickle and tensors stay zero-copy.
/// Tensors must be contiguous (every state dict torch.save writes from module.state_dict() is); a strided view
/// is refused with a message rather than gathered. Every entry read is checked against its CRC-32: the pickle when the
/// file is opened, a storage when a tensor of it is first read. Legacy (pre-1.6) files go to <see cref="LegacyTorchReader"/>.
/// </summary>
public static class TorchZipReader
{
    /// <summary>Largest data.pkl accepted (a state dict needs a few hundred KB: the golden denoising UNet's, with 1273 keys, is 323 KB).</summary>
    public const int MaxPickleBytes = 64 << 20;

    /// <summary>Opens and validates a torch.save zip checkpoint.</summary>
    /// <exception cref="CheckpointFormatException">The file is malformed, hostile, or not a state dict.</exception>
    public static ICheckpoint Open(string path)
    {
        using var owned = new Owned();
        var file = owned.Own(MappedFile.Open(path, 22));
        var (tensors, verify) = ReadTensors(file);
        return owned.Commit(new MappedCheckpoint(file, "torch-zip", tensors, null, verify));
    }

    private static (List<TensorInfo> Tensors, Action<TensorInfo> Verify) ReadTensors(MappedFile file)
    {
        var zip = ZipDirectory.Read(file);
        var pickles = zip.Entries.Where(e => e.Name.EndsWith("data.pkl", StringComparison.Ordinal) && e.Name.Count(c => c == '/') <= 1 && (e.Name.Length == 8 || e.Name[^9] == '/')).ToList();
        if (pickles.Count != 1)
            throw new CheckpointFormatException(file.Path, "data.pkl", pickles.Count == 0
                ? "the zip has no <archive>/data.pkl; it is not a torch.save checkpoint."
                : $"the zip has {pickles.Count} data.pkl entries, expected one.");
        string prefix = pickles[0].Name[..^"data.pkl".Length];
        if (zip.Find(prefix + "byteorder") is { } order)
        {
            string text = Encoding.ASCII.GetString(zip.ReadSmall(order, 16)).Trim();
            if (text != "little")
                throw new CheckpointFormatException(file.Path, order.Name, $"byte order '{text}'; only little-endian checkpoints are read (re-save the file on a little-endian machine).");
        }

        var root = RestrictedUnpickler.Load(zip.ReadSmall(pickles[0], MaxPickleBytes), file.Path, pickles[0].Name, RestrictedUnpickler.ItemLimit(file.Length));
        var stateDict = StateDictLocator.Find(root, file.Path, pickles[0].Name);
        var tensors = new List<TensorInfo>(stateDict.Count);
        var storageOf = new Dictionary<string, ZipEntry>(stateDict.Count, StringComparer.Ordinal);
        foreach (var (name, tensor) in stateDict)
        {
            var (info, entry) = Locate(file, zip, prefix, name, tensor);
            tensors.Add(info);
            storageOf[name] = entry;
        }

        // Each storage's CRC-32 is checked once, when a tensor of it is first read (several tensors may share one).
        var verified = new HashSet<ZipEntry>();
        var gate = new Lock();
        void Verify(TensorInfo t)
        {
            var entry = storageOf[t.Name];
            lock (gate)
            {
                if (verified.Contains(entry))
                    return;
            }

            zip.VerifyStored(entry);
            lock (gate)
                verified.Add(entry);
        }

        return (tensors, Verify);
    }

    private static (TensorInfo Info, ZipEntry Storage) Locate(MappedFile file, ZipDirectory zip, string prefix, string name, TensorRef t)
    {
        string entryName = prefix + "data/" + t.Storage.Key;
        var entry = zip.Find(entryName)
            ?? throw new CheckpointFormatException(file.Path, name, $"its storage entry '{entryName}' is not in the zip.");
        if (entry.Method != 0 || entry.CompressedSize != entry.UncompressedSize)
            throw new CheckpointFormatException(file.Path, entryName, $"storage is compressed (method {entry.Method}); torch.save writes storages STORED, re-save the file with torch.save.");
        return (TorchTensors.Locate(file.Path, name, t, entryName, () => zip.DataOffset(entry), entry.UncompressedSize), entry);
    }
}

using System.Buffers.Binary;
using Rain.Engine;
using Rain.Engine.Tensors;

namespace Rain.Models.Checkpoints;

/// <summary>
/// Reads the legacy (pre-1.6, non-zip) torch.save format: five pickles back to back (the magic number, protocol
/// version 1001, a sys_info dict, the object itself, the sorted list of storage keys), then each storage in
/// that order as an int64 element count followed by its bytes. The same restricted unpickler runs every pickle,
/// and storages are mapped in place like the zip reader's.
/// </summary>
public static class LegacyTorchReader
{
    /// <summary>The legacy format's first pickle: PROTO 2, LONG1 of 10 bytes 0x1950a86a20f9469cfc6c, STOP.</summary>
    private static readonly byte[] MagicPickle = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];

    private const long ProtocolVersion = 1001;

    /// <summary>True when <paramref name="prefix"/> (a file's first bytes) starts with the legacy magic number pickle.</summary>
    public static bool LooksLikeLegacy(ReadOnlySpan<byte> prefix) =>
        prefix.Length >= 4 && prefix[0] == 0x80 && prefix[2] == 0x8a && prefix[3] == 10;

    /// <summary>Opens and validates a legacy torch.save file.</summary>
    /// <exception cref="CheckpointFormatException">The file is malformed, hostile, or not a state dict.</exception>
    public static ICheckpoint Open(string path)
    {
        using var owned = new Owned();
        var file = owned.Own(MappedFile.Open(path, MagicPickle.Length));
        return owned.Commit(new MappedCheckpoint(file, "torch-legacy", ReadTensors(file), null));
    }

    private static List<TensorInfo> ReadTensors(MappedFile file)
    {
        string path = file.Path;

        // Pickles are only searched within the first MaxPickleBytes; the storages after them are only mapped.
        var head = file.Span(0, (int)Math.Min(file.Length, TorchZipReader.MaxPickleBytes));
        if (!head.StartsWith(MagicPickle))
            throw new CheckpointFormatException(path, "magic number", "the file does not start with torch's legacy magic number 0x1950a86a20f9469cfc6c.");
        int pos = MagicPickle.Length;
        long limit = RestrictedUnpickler.ItemLimit(file.Length);
        var (version, _, end) = RestrictedUnpickler.Load(head, pos, path, "protocol version", legacy: true, limit);
        if (version is not ProtocolVersion)
            throw new CheckpointFormatException(path, "protocol version", $"found {version}, expected {ProtocolVersion}.");
        var (sysInfo, _, afterInfo) = RestrictedUnpickler.Load(head, end, path, "sys_info", legacy: true, limit);
        if (sysInfo is not PickleDict info || !info.Items.TryGetValue("little_endian", out var little) || little is not true)
            throw new CheckpointFormatException(path, "sys_info", "the file was not written little-endian (sys_info.little_endian is not True); re-save it on a little-endian machine.");
        var (root, storages, afterRoot) = RestrictedUnpickler.Load(head, afterInfo, path, "object", legacy: true, limit);
        var (keyList, _, dataStart) = RestrictedUnpickler.Load(head, afterRoot, path, "storage keys", legacy: true, limit);
        if (keyList is not List<object> keys || keys.Any(k => k is not string))
            throw new CheckpointFormatException(path, "storage keys", "the fifth pickle is not a list of storage keys.");

        var places = Layout(file, keys.Cast<string>(), storages, dataStart);
        var tensors = new List<TensorInfo>();
        foreach (var (name, tensor) in StateDictLocator.Find(root, path, "object"))
        {
            if (!places.TryGetValue(tensor.Storage.Key, out var place))
                throw new CheckpointFormatException(path, name, $"its storage '{tensor.Storage.Key}' is not in the file's storage key list.");
            tensors.Add(TorchTensors.Locate(path, name, tensor, $"storage '{tensor.Storage.Key}'", () => place.Offset, place.Bytes));
        }

        return tensors;
    }

    // Walks the storages in key-list order: [int64 element count][bytes], each checked against the pickle and the file.
    private static Dictionary<string, (long Offset, long Bytes)> Layout(MappedFile file, IEnumerable<string> keys, IReadOnlyDictionary<string, StorageRef> storages, long pos)
    {
        var places = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        foreach (string key in keys)
        {
            if (!storages.TryGetValue(key, out var storage))
                throw new CheckpointFormatException(file.Path, $"storage '{key}'", "the key list names a storage no tensor uses, so its element size is unknown.");
            if (!file.Contains(pos, 8))
                throw new CheckpointFormatException(file.Path, $"storage '{key}'", $"its element count at byte {pos} lies past the end of the file ({file.Length} bytes).");
            long count = BinaryPrimitives.ReadInt64LittleEndian(file.Span(pos, 8));
            if (count != storage.ElementCount)
                throw new CheckpointFormatException(file.Path, $"storage '{key}'", $"the file stores {count} elements, the pickle declares {storage.ElementCount}.");
            long bytes = count * storage.DType.SizeOf();
            if (!file.Contains(pos + 8, bytes))
                throw new CheckpointFormatException(file.Path, $"storage '{key}'", $"{bytes} bytes at {pos + 8} run past the end of the file ({file.Length} bytes).");
            if (!places.TryAdd(key, (pos + 8, bytes)))
                throw new CheckpointFormatException(file.Path, $"storage '{key}'", "the key list names the storage twice.");
            pos += 8 + bytes;
        }

        return places;
    }
}

using System.IO.MemoryMappedFiles;

namespace Rain.Engine.Tensors;

/// <summary>
/// A whole file mapped read-only with one pointer acquired for its lifetime, so slicing is free and tensor reads
/// never copy. Bounds are checked against the real length on every slice.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _pointer;

    private MappedFile(string path, long length, MemoryMappedFile map, MemoryMappedViewAccessor view)
    {
        Path = path;
        Length = length;
        _map = map;
        _view = view;
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _pointer = p + view.PointerOffset;
    }

    public string Path { get; }

    public long Length { get; }

    /// <summary>Maps <paramref name="path"/>; files shorter than <paramref name="minLength"/> are a format error (an empty file cannot be mapped at all).</summary>
    public static MappedFile Open(string path, int minLength)
    {
        // The mapping takes ownership of the stream (leaveOpen: false): once it exists, disposing it closes the stream
        // too (the stream's own dispose after it is then a no-op).
        using var owned = new Owned();
        var stream = owned.Own(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None));
        long length = stream.Length;
        if (length < minLength)
            throw new CheckpointFormatException(path, null, $"file is {length} bytes, too short for a checkpoint (at least {minLength} expected).");
        var map = owned.Own(MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false));
        var view = owned.Own(map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read));
        return owned.Commit(new MappedFile(path, length, map, view));
    }

    /// <summary>A span over [offset, offset + length); the caller has validated the range against <see cref="Length"/>.</summary>
    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        if (offset < 0 || length < 0 || offset > Length - length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, +{length}) lies outside {Path} ({Length} bytes).");
        return new ReadOnlySpan<byte>(_pointer + offset, length);
    }

    /// <summary>True when [offset, offset + length) lies inside the file (overflow-safe).</summary>
    public bool Contains(long offset, long length) => offset >= 0 && length >= 0 && offset <= Length - length;

    public void Dispose()
    {
        if (_pointer == null)
            return;
        _pointer = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}

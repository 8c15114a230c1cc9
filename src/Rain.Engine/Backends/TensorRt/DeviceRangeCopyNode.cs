using Rain.Engine.Backends.Cuda;

namespace Rain.Engine.Backends.TensorRt;

/// <summary>A plan node copying a byte range between device buffers (the pose-feature window's newest slots and its roll).</summary>
internal sealed class DeviceRangeCopyNode : IPartRunner
{
    private readonly DeviceBuffer _source, _destination;
    private readonly long _sourceOffset, _destinationOffset, _bytes;

    public DeviceRangeCopyNode(DeviceBuffer source, long sourceOffset, DeviceBuffer destination, long destinationOffset, long bytes)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        if (bytes < 1 || sourceOffset < 0 || destinationOffset < 0 || sourceOffset + bytes > source.Bytes || destinationOffset + bytes > destination.Bytes)
            throw new ArgumentOutOfRangeException(nameof(bytes), $"copy of {bytes} bytes from {sourceOffset} (of {source.Bytes}) to {destinationOffset} (of {destination.Bytes}) is out of range.");
        if (source == destination && sourceOffset < destinationOffset + bytes && destinationOffset < sourceOffset + bytes)
            throw new ArgumentException("A device copy must not overlap itself (the order of its bytes is unspecified).", nameof(destination));
        (_source, _sourceOffset, _destination, _destinationOffset, _bytes) = (source, sourceOffset, destination, destinationOffset, bytes);
    }

    public string Name => $"copy {_bytes} bytes";

    public void Enqueue(CudaStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Copy(_source, _sourceOffset, _destination, _destinationOffset, _bytes);
    }
}

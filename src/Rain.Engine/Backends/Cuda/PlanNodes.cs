using Rain.Kernels;

namespace Rain.Engine.Backends.Cuda;

/// <summary>A plan node that runs one of our kernels with arguments fixed when the plan is built (e.g. an attention core between two network parts).</summary>
internal sealed class KernelNode : IPartRunner
{
    private readonly CudaKernels _kernels;
    private readonly KernelLaunch _launch;

    /// <summary>
    /// Creates the node; <paramref name="launch"/> comes from a Rain.Kernels launcher, which validated it. The kernel's
    /// module is loaded here, so that the node can be captured into a graph.
    /// </summary>
    public KernelNode(CudaKernels kernels, KernelLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(kernels);
        ArgumentNullException.ThrowIfNull(launch);
        _kernels = kernels;
        _launch = launch;
        kernels.Prepare(launch);
    }

    /// <inheritdoc/>
    public string Name => _launch.ToString();

    /// <inheritdoc/>
    public void Enqueue(CudaStream stream) => _kernels.Launch(stream, _launch);
}

/// <summary>A plan node that copies bytes between two device buffers.</summary>
internal sealed class DeviceCopyNode : IPartRunner
{
    private readonly DeviceBuffer _source;
    private readonly DeviceBuffer _destination;
    private readonly long _bytes;

    /// <summary>Creates the node copying the first <paramref name="bytes"/> of <paramref name="source"/> to <paramref name="destination"/>.</summary>
    public DeviceCopyNode(DeviceBuffer source, DeviceBuffer destination, long bytes)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        if (bytes < 1 || bytes > source.Bytes || bytes > destination.Bytes)
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, $"A copy must move 1 … min({source.Bytes}, {destination.Bytes}) bytes.");
        _source = source;
        _destination = destination;
        _bytes = bytes;
    }

    /// <inheritdoc/>
    public string Name => $"copy {_bytes} bytes";

    /// <inheritdoc/>
    public void Enqueue(CudaStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        stream.Copy(_source, 0, _destination, 0, _bytes);
    }
}

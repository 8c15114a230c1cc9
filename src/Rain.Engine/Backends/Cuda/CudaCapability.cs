namespace Rain.Engine.Backends.Cuda;

/// <summary>
/// What <see cref="CudaDevice.Probe"/> found: whether the CUDA backend can run here and, when it cannot, why (no driver,
/// with every library name tried; no device; a device older than SM 8.0). Never an exception: the absence of a GPU is a
/// normal condition.
/// </summary>
/// <param name="Available">Whether a usable device was found.</param>
/// <param name="Reason">One line: the device found, or why none is usable.</param>
/// <param name="DriverVersion">The driver's CUDA version (e.g. 13000), 0 when no driver loaded.</param>
/// <param name="DeviceCount">CUDA devices visible.</param>
/// <param name="DeviceName">The probed device's name, or null.</param>
/// <param name="ComputeCapability">The probed device's SM number (major·10 + minor, e.g. 90), or 0.</param>
/// <param name="TotalMemory">The probed device's memory in bytes, or 0.</param>
/// <param name="Multiprocessors">The probed device's SM count, or 0.</param>
internal sealed record CudaCapability(
    bool Available, string Reason, int DriverVersion, int DeviceCount, string? DeviceName, int ComputeCapability, long TotalMemory, int Multiprocessors)
{
    /// <summary>The device ordinal that was probed.</summary>
    public int Ordinal { get; init; }

    /// <summary>The oldest SM the kernels target (Ampere).</summary>
    public const int MinimumComputeCapability = 80;

    internal static CudaCapability Unavailable(string reason, int driverVersion = 0, int deviceCount = 0) =>
        new(false, reason, driverVersion, deviceCount, null, 0, 0, 0);

    /// <inheritdoc/>
    public override string ToString() => Reason;
}

namespace Rain.Engine.Interop;

/// <summary>
/// A CUDA driver call failed; the message names the call, the error and its description. Thrown by the raw layer's choke
/// point (<see cref="CudaDriver.ThrowIfFailed"/>); callers see a <see cref="RainException"/> of category
/// <see cref="RainErrorCategory.DeviceFault"/>.
/// </summary>
internal sealed class CudaException : RainException
{
    /// <summary>Creates the exception for a failed driver call.</summary>
    public CudaException(int result, string errorName, string call, string description)
        : base(RainErrorCategory.DeviceFault, $"{call} failed: {errorName} ({description}).")
    {
        Result = result;
        ErrorName = errorName;
        Call = call;
    }

    /// <summary>Creates the exception with a message (a CUDA condition that is not one call's result).</summary>
    public CudaException(string message)
        : this(message, null)
    {
    }

    /// <summary>Creates the exception with a message and the exception behind it.</summary>
    public CudaException(string message, Exception? innerException)
        : base(RainErrorCategory.DeviceFault, message, innerException)
    {
        Result = -1;
        ErrorName = "";
        Call = "";
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public CudaException()
        : this("A CUDA operation failed.")
    {
    }

    /// <summary>The CUresult (<see cref="CudaResult"/>), or −1 when the failure was not one call's result.</summary>
    public int Result { get; }

    /// <summary>The CUresult's name (<c>CUDA_ERROR_…</c>), empty when not a call's result.</summary>
    public string ErrorName { get; }

    /// <summary>The failing call as written in the source, empty when not a call's result.</summary>
    public string Call { get; }
}

namespace Rain.Engine.Interop.TensorRt;

/// <summary>A TensorRT call failed, TensorRT is missing, or its version is not one the binding supports.</summary>
internal sealed class TrtException : RainException
{
    /// <summary>Creates the exception.</summary>
    public TrtException(string message)
        : base(RainErrorCategory.DeviceFault, message)
    {
    }

    /// <summary>Creates the exception with an inner cause.</summary>
    public TrtException(string message, Exception inner)
        : base(RainErrorCategory.DeviceFault, message, inner)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public TrtException()
        : base(RainErrorCategory.DeviceFault, "A TensorRT call failed.")
    {
    }
}

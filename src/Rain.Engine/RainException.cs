using System.Text.Json;

namespace Rain.Engine;

/// <summary>
/// What kind of failure a <see cref="RainException"/> reports: who can fix it and how a front end should react. The C ABI
/// maps each to one status code and the <c>rain</c> command to one exit code (2 for the first four, 3 for the others).
/// </summary>
public enum RainErrorCategory
{
    /// <summary>An argument or option the caller passed is invalid (a pose of the wrong size, an option out of range). C ABI: <c>RAIN_ERR_ARGUMENT</c>.</summary>
    InvalidArgument,

    /// <summary>An input file or stream cannot be used: an image, checkpoint, configuration or video that is missing, corrupt, hostile or too large. C ABI: <c>RAIN_ERR_IO</c>.</summary>
    InvalidInput,

    /// <summary>The model bundle is missing, altered, malformed or of another format version. C ABI: <c>RAIN_ERR_BUNDLE</c>.</summary>
    Bundle,

    /// <summary>The backend asked for cannot run here (a library, the GPU or the bundle's plans are missing); nothing was loaded. C ABI: <c>RAIN_ERR_BACKEND_UNAVAILABLE</c>.</summary>
    BackendUnavailable,

    /// <summary>
    /// The device (a GPU driver, TensorRT, NVRTC, or the arithmetic itself) failed or computed non-finite values. Inside a session
    /// such a failure faults the session (<see cref="SessionFaulted"/>, with this as the inner exception). C ABI: <c>RAIN_ERR_INTERNAL</c> outside a session.
    /// </summary>
    DeviceFault,

    /// <summary>A step failed or hung and the session closed; the frames finished before it were still handed out. C ABI: <c>RAIN_ERR_SESSION_FAULTED</c>.</summary>
    SessionFaulted,

    /// <summary>A defect in Rain.Engine itself (or an exception it did not anticipate, such as running out of memory). C ABI: <c>RAIN_ERR_INTERNAL</c>.</summary>
    Internal,
}

/// <summary>
/// The base of every exception Rain.Engine throws on purpose: a user-facing message (which file, tensor, field or step;
/// expected versus found) and a <see cref="Category"/>, as ONNX Runtime's <c>OnnxRuntimeException.ErrorCode</c> and ILGPU's
/// <c>AcceleratorException</c> carry one. Catch <see cref="RainException"/> to handle them all; <see cref="CategoryOf"/>
/// classifies any exception (including .NET's own argument and I/O exceptions) the same way for front ends.
/// </summary>
public class RainException : Exception
{
    /// <summary>Creates the exception with a complete, user-facing message.</summary>
    public RainException(RainErrorCategory category, string message)
        : base(message) => Category = category;

    /// <summary>Creates the exception with a message and its cause.</summary>
    public RainException(RainErrorCategory category, string message, Exception? innerException)
        : base(message, innerException) => Category = category;

    /// <summary>Creates an <see cref="RainErrorCategory.Internal"/> exception with a generic message (prefer the other constructors).</summary>
    public RainException()
        : base("Rain.Engine failed.") => Category = RainErrorCategory.Internal;

    /// <summary>Creates an <see cref="RainErrorCategory.Internal"/> exception with a message.</summary>
    public RainException(string message)
        : base(message) => Category = RainErrorCategory.Internal;

    /// <summary>Creates an <see cref="RainErrorCategory.Internal"/> exception with a message and its cause.</summary>
    public RainException(string message, Exception innerException)
        : base(message, innerException) => Category = RainErrorCategory.Internal;

    /// <summary>What kind of failure this is.</summary>
    public RainErrorCategory Category { get; }

    /// <summary>
    /// The category of any exception: a <see cref="RainException"/>'s own; .NET's argument exceptions (and
    /// <see cref="NotSupportedException"/>: an option this build cannot do) are <see cref="RainErrorCategory.InvalidArgument"/>;
    /// I/O, format and JSON exceptions <see cref="RainErrorCategory.InvalidInput"/>; anything else
    /// <see cref="RainErrorCategory.Internal"/>.
    /// </summary>
    public static RainErrorCategory CategoryOf(Exception exception) => exception switch
    {
        RainException r => r.Category,
        ArgumentException or NotSupportedException => RainErrorCategory.InvalidArgument,
        IOException or UnauthorizedAccessException or InvalidDataException or FormatException or JsonException => RainErrorCategory.InvalidInput,
        _ => RainErrorCategory.Internal,
    };
}

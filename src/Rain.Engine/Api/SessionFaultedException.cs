namespace Rain.Engine.Api;

/// <summary>
/// A step of an <see cref="AnimationSession"/> failed or hung, so the session closed. Every frame finished before the fault
/// was still handed out; reads then throw this. <see cref="Exception.InnerException"/> is the cause (for example a
/// <see cref="NonFiniteValuesException"/>, a device error, <see cref="TimeoutException"/> for a step that outlived
/// <see cref="EngineOptions.StepTimeout"/>, or <see cref="OutOfMemoryException"/>).
/// </summary>
public sealed class SessionFaultedException : RainException
{
    /// <summary>Creates the exception for step <paramref name="step"/>, which would have emitted chunk <paramref name="chunk"/>.</summary>
    public SessionFaultedException(long step, long chunk, Stage? stage, Exception cause)
        : base(RainErrorCategory.SessionFaulted, Describe(step, chunk, stage, cause), cause)
    {
        Step = step;
        Chunk = chunk;
        Stage = stage;
    }

    /// <summary>Creates the exception with a message.</summary>
    public SessionFaultedException(string message)
        : base(RainErrorCategory.SessionFaulted, message) => Step = Chunk = -1;

    /// <summary>Creates the exception with a message and its cause.</summary>
    public SessionFaultedException(string message, Exception innerException)
        : base(RainErrorCategory.SessionFaulted, message, innerException) => Step = Chunk = -1;

    /// <summary>Creates the exception with a generic message.</summary>
    public SessionFaultedException()
        : base(RainErrorCategory.SessionFaulted, "The session closed after a step failed.") => Step = Chunk = -1;

    /// <summary>The step that failed (0 for the first), or −1 when unknown.</summary>
    public long Step { get; }

    /// <summary>The chunk whose frames that step would have emitted: step − (L − 1); negative while filler chunks leave the window.</summary>
    public long Chunk { get; }

    /// <summary>The stage that was running when the step failed, when the backend knows it.</summary>
    public Stage? Stage { get; }

    private static string Describe(long step, long chunk, Stage? stage, Exception cause)
    {
        string where = chunk >= 0 ? $"step {step} (the step that emits chunk {chunk})" : $"step {step} (before the first chunk is due)";
        string during = stage is { } s ? $" during {s}" : "";
        return $"The session closed: {where} failed{during}: {cause.Message}";
    }
}

/// <summary>
/// Non-finite values (NaN or ±∞) appeared in a step's tensors: the weights, the inputs or the arithmetic went wrong. The
/// session refuses to turn them into plausible-looking frames (see <see cref="EngineOptions.CheckNumerics"/>).
/// </summary>
public sealed class NonFiniteValuesException : RainException
{
    /// <summary>Creates the exception for <paramref name="tensor"/> of <paramref name="stage"/>.</summary>
    public NonFiniteValuesException(Stage stage, string tensor, long index, float value)
        : base(RainErrorCategory.DeviceFault, $"{tensor} holds a non-finite value ({value} at element {index}); the frames would be garbage, so none were written.")
    {
        Stage = stage;
        Tensor = tensor;
    }

    /// <summary>Creates the exception with a message.</summary>
    public NonFiniteValuesException(string message)
        : base(RainErrorCategory.DeviceFault, message) => Tensor = "";

    /// <summary>Creates the exception with a message and its cause.</summary>
    public NonFiniteValuesException(string message, Exception innerException)
        : base(RainErrorCategory.DeviceFault, message, innerException) => Tensor = "";

    /// <summary>Creates the exception with a generic message.</summary>
    public NonFiniteValuesException()
        : base(RainErrorCategory.DeviceFault, "A step produced non-finite values.") => Tensor = "";

    /// <summary>The stage whose output held the value.</summary>
    public Stage Stage { get; }

    /// <summary>The tensor that held it.</summary>
    public string Tensor { get; }
}

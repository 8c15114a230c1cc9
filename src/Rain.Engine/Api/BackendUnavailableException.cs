namespace Rain.Engine.Api;

/// <summary>
/// The backend the options asked for cannot run here: a library, the GPU or the bundle's prebuilt engines are missing.
/// Thrown before any work is done; the message names everything that was looked for and how to install or build what is
/// missing. The engine never falls back to another backend silently.
/// </summary>
public sealed class BackendUnavailableException : RainException
{
    /// <summary>Creates the exception with a complete, user-facing message.</summary>
    public BackendUnavailableException(string message)
        : base(RainErrorCategory.BackendUnavailable, message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public BackendUnavailableException(string message, Exception inner)
        : base(RainErrorCategory.BackendUnavailable, message, inner)
    {
    }

    /// <summary>Creates the exception with a default message.</summary>
    public BackendUnavailableException()
        : base(RainErrorCategory.BackendUnavailable, "The requested backend is not available.")
    {
    }
}

namespace Rain.Engine.Bundle;

/// <summary>A model bundle that cannot be used: a missing or altered file, a contract mismatch, an unsupported format
/// version. The message names the file and what was expected and found.</summary>
public sealed class BundleException : RainException
{
    /// <summary>Creates the exception with a complete, user-facing message.</summary>
    public BundleException(string message)
        : base(RainErrorCategory.Bundle, message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public BundleException(string message, Exception innerException)
        : base(RainErrorCategory.Bundle, message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message (prefer the other constructors).</summary>
    public BundleException()
        : base(RainErrorCategory.Bundle, "The model bundle cannot be used.")
    {
    }
}

using Rain.Engine;

namespace Rain.Models.Weights;

/// <summary>
/// A checkpoint or configuration the exporter cannot turn into the RAIN networks: a missing or unexpected key, a shape
/// that disagrees with the configuration, or a configuration value the architecture cannot take. The message names
/// the file, the key and both values so that the user can fix the input.
/// </summary>
public sealed class ModelExportException : RainException
{
    /// <summary>Creates the exception with a complete, user-facing message.</summary>
    public ModelExportException(string message)
        : base(RainErrorCategory.InvalidInput, message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public ModelExportException(string message, Exception innerException)
        : base(RainErrorCategory.InvalidInput, message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message (prefer the other constructors).</summary>
    public ModelExportException()
        : base(RainErrorCategory.InvalidInput, "The model could not be exported.")
    {
    }
}

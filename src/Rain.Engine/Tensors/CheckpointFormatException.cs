namespace Rain.Engine.Tensors;

/// <summary>
/// A checkpoint file is malformed, hostile or of an unsupported kind. The message names the file, the entry or key
/// concerned and what was expected versus found; <see cref="FilePath"/> and <see cref="Entry"/> carry the same for code.
/// </summary>
public sealed class CheckpointFormatException : RainException
{
    /// <summary>Creates an exception with a generic message.</summary>
    public CheckpointFormatException()
        : this("The checkpoint is malformed.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public CheckpointFormatException(string message)
        : base(RainErrorCategory.InvalidInput, message)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public CheckpointFormatException(string message, Exception innerException)
        : base(RainErrorCategory.InvalidInput, message, innerException)
    {
    }

    /// <summary>Creates an exception about <paramref name="entry"/> of <paramref name="filePath"/>.</summary>
    public CheckpointFormatException(string filePath, string? entry, string problem, Exception? innerException = null)
        : base(RainErrorCategory.InvalidInput, Compose(filePath, entry, problem), innerException)
    {
        FilePath = filePath;
        Entry = entry;
    }

    /// <summary>The checkpoint file, when known.</summary>
    public string? FilePath { get; }

    /// <summary>The zip entry, tensor key or header field concerned, when there is one.</summary>
    public string? Entry { get; }

    private static string Compose(string filePath, string? entry, string problem) =>
        entry is null ? $"{filePath}: {problem}" : $"{filePath}: {entry}: {problem}";
}

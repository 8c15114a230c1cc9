using Rain.Engine.Api;
using Rain.Engine.Bundle;

namespace Rain.Native;

/// <summary>The one place where an exception becomes a status and this thread's last-error message.</summary>
internal static class Failure
{
    /// <summary>Records <paramref name="e"/> as this thread's last error and returns its status.</summary>
    public static RainStatus Report(Exception e)
    {
        var (status, message) = Classify(e);
        LastError.Set(message);
        return status;
    }

    /// <summary>Records <paramref name="message"/> as this thread's last error and returns <paramref name="status"/>.</summary>
    public static RainStatus Report(RainStatus status, string message)
    {
        LastError.Set(message);
        return status;
    }

    private static (RainStatus Status, string Message) Classify(Exception e) => e switch
    {
        NativeStatusException n => (n.Status, n.Message),
        OperationCanceledException => (RainStatus.Timeout, "the wait ended before it could complete (timeout)."),
        ObjectDisposedException => (RainStatus.Closed, "the session or engine was closed."),
        ArgumentException => (RainStatus.Argument, e.Message),
        BundleException => (RainStatus.Bundle, e.Message),
        BackendUnavailableException or NotSupportedException => (RainStatus.BackendUnavailable, e.Message),
        // The session's own faults carry the failed step's exception inside.
        InvalidOperationException { InnerException: { } cause } => (RainStatus.SessionFaulted, $"{e.Message} Cause: {cause.Message}"),
        InvalidOperationException => (RainStatus.Closed, e.Message),
        IOException or UnauthorizedAccessException => (RainStatus.Io, e.Message),
        OutOfMemoryException => (RainStatus.Internal, "out of memory: " + e.Message),
        _ => (RainStatus.Internal, $"internal error ({e.GetType().Name}): {e.Message}"),
    };
}

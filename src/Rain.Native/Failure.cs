using Rain.Engine;
using Rain.Engine.Api;

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
        SessionFaultedException => (RainStatus.SessionFaulted, e.Message),
        // The session's other refusals: input was completed, another session is open.
        InvalidOperationException => (RainStatus.Closed, e.Message),
        OutOfMemoryException => (RainStatus.Internal, "out of memory: " + e.Message),
        _ => RainException.CategoryOf(e) switch
        {
            RainErrorCategory.InvalidArgument => (RainStatus.Argument, e.Message),
            RainErrorCategory.InvalidInput => (RainStatus.Io, e.Message),
            RainErrorCategory.Bundle => (RainStatus.Bundle, e.Message),
            RainErrorCategory.BackendUnavailable => (RainStatus.BackendUnavailable, e.Message),
            RainErrorCategory.SessionFaulted => (RainStatus.SessionFaulted, e.Message),
            RainErrorCategory.DeviceFault => (RainStatus.Internal, "device fault: " + e.Message),
            _ when e is RainException => (RainStatus.Internal, e.Message),
            _ => (RainStatus.Internal, $"internal error ({e.GetType().Name}): {e.Message}"),
        },
    };
}

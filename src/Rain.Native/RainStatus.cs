namespace Rain.Native;

/// <summary>The C ABI's status codes (include/rain.h, <c>rain_status</c>).</summary>
internal enum RainStatus
{
    Ok = 0,
    Argument = 1,
    Io = 2,
    Bundle = 3,
    BackendUnavailable = 4,
    SessionFaulted = 5,
    Timeout = 6,
    Closed = 7,
    Busy = 8,
    Internal = 9,
}

/// <summary>A failure the C ABI reports with a status of its own choosing (a precise code the exception type alone cannot tell).</summary>
internal sealed class NativeStatusException(RainStatus status, string message) : Exception(message)
{
    public RainStatus Status { get; } = status;
}

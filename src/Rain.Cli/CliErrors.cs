using Rain.Engine;

namespace Rain.Cli;

/// <summary>
/// The one place the <c>rain</c> command turns an exception into a message and an exit code: one line on stderr,
/// "rain &lt;command&gt;: &lt;what went wrong&gt;" (the cause included, no stack trace), and exit code 2 for bad input — an
/// argument, an input file, the bundle, a backend this machine lacks — or 3 for a fault during the run (a failed step, a
/// device error, an internal error). Exit code 1 is left to <c>rain inspect --expect</c>'s key-set mismatch.
/// </summary>
internal static class CliErrors
{
    /// <summary>Exit code of bad input.</summary>
    public const int BadInput = 2;

    /// <summary>Exit code of a fault during the run.</summary>
    public const int RunFault = 3;

    /// <summary>Runs a command's body; any exception becomes one line on <paramref name="err"/> and its exit code.</summary>
    public static int Run(string command, TextWriter err, Func<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            return body();
        }
        catch (Exception e)
        {
            return Report(command, e, err);
        }
    }

    /// <summary>Prints <paramref name="e"/> as one line and returns its exit code.</summary>
    public static int Report(string command, Exception e, TextWriter err)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(err);
        err.WriteLine();
        err.WriteLine($"{Prefix(command)}: {OneLine(e)}");
        return ExitCode(e);
    }

    /// <summary>"rain &lt;command&gt;", or "rain" for the root command.</summary>
    public static string Prefix(string command) => command.Length == 0 ? "rain" : $"rain {command}";

    /// <summary>2 for bad input, 3 for a fault during the run (see the class remarks).</summary>
    public static int ExitCode(Exception e) => RainException.CategoryOf(e) switch
    {
        RainErrorCategory.InvalidArgument or RainErrorCategory.InvalidInput or RainErrorCategory.Bundle or RainErrorCategory.BackendUnavailable => BadInput,
        _ => RunFault,
    };

    /// <summary>The message on one line; an unanticipated exception is named as such so that it can be reported.</summary>
    public static string OneLine(Exception e)
    {
        string message = e switch
        {
            OutOfMemoryException => $"out of memory ({e.Message})",
            _ when RainException.CategoryOf(e) == RainErrorCategory.Internal && e is not RainException => $"internal error: {e.Message} ({e.GetType().Name}; please report it with the command line)",
            _ => e.Message,
        };
        return string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}

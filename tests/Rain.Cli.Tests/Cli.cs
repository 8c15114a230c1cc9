using Xunit.Abstractions;

namespace Rain.Cli.Tests;

/// <summary>Invokes the `rain` root command in-process and echoes what it printed into the test output.</summary>
internal static class Cli
{
    private static readonly Lock ConsoleLock = new();

    public static int Invoke(ITestOutputHelper output, params string[] args) => Invoke(output, out _, out _, args);

    public static int Invoke(ITestOutputHelper output, out string stdout, out string stderr, params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code;
        lock (ConsoleLock)
        {
            var (savedOut, savedErr) = (Console.Out, Console.Error);
            Console.SetOut(o);
            Console.SetError(e);
            try
            {
                code = RainCommand.Invoke(args);
            }
            finally
            {
                Console.SetOut(savedOut);
                Console.SetError(savedErr);
            }
        }

        stdout = o.ToString();
        stderr = e.ToString();
        output.WriteLine($"rain {string.Join(' ', args)} → {code}");
        output.WriteLine(stdout.TrimEnd());
        if (stderr.Length > 0)
            output.WriteLine("stderr: " + stderr.Replace("\r", "\n", StringComparison.Ordinal).Split('\n').LastOrDefault(l => l.Trim().Length > 0));
        return code;
    }
}

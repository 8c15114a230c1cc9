using System.CommandLine;

namespace Rain.Cli;

/// <summary>The <c>rain</c> root command with every subcommand (Program and the in-process CLI tests use it).</summary>
internal static class RainCommand
{
    public static RootCommand Create()
    {
        var root = new RootCommand("Rain.Engine: animate a character image from a live stream of poses (RAIN, arXiv 2412.19489).");
        root.Subcommands.Add(ScheduleCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(ReplayCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(PosesCommand.Create());
        root.Subcommands.Add(LiveCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        return root;
    }

    /// <summary>
    /// Parses and runs a command line: a parse error is bad input (exit 2, the errors on stderr); an exception no command
    /// handled becomes one line through <see cref="CliErrors"/> instead of System.CommandLine's stack trace.
    /// </summary>
    public static int Invoke(string[] args)
    {
        var parse = Create().Parse(args);
        string command = parse.CommandResult.Command is RootCommand ? "" : parse.CommandResult.Command.Name;
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
                Console.Error.WriteLine($"{CliErrors.Prefix(command)}: {error.Message}");
            Console.Error.WriteLine($"({CliErrors.Prefix(command)} --help lists the options)");
            return CliErrors.BadInput;
        }

        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            return CliErrors.Report(command, e, Console.Error);
        }
    }
}

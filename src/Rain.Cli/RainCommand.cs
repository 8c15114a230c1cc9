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
        return root;
    }
}

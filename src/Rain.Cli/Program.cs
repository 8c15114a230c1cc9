using System.CommandLine;
using Rain.Cli;

var root = new RootCommand("Rain.Engine: animate a character image from a live stream of poses (RAIN, arXiv 2412.19489).");
root.Subcommands.Add(ScheduleCommand.Create());
root.Subcommands.Add(InspectCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
return root.Parse(args).Invoke();

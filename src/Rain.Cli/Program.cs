using Rain.Cli;

return RainCommand.Invoke(args);

using Rain.Cli;

return RainCommand.Create().Parse(args).Invoke();

using System.CommandLine;
using System.Globalization;
using Rain.Engine;
using Rain.Engine.Streaming;

namespace Rain.Cli;

/// <summary><c>rain schedule</c>: prints the stream schedule (timesteps, LCM coefficients, chunk timeline) of a configuration.</summary>
internal static class ScheduleCommand
{
    /// <summary>Most timeline rows printed: the timeline repeats with period 1 after step L − 1, so more say nothing new.</summary>
    internal const int MaxSteps = 10_000;

    public static Command Create()
    {
        var p = new Option<int>("--frames-per-level", "-p") { Description = "p: frames per chunk (frames in and out per step)", DefaultValueFactory = _ => 4 };
        var levels = new Option<int>("--levels", "-L") { Description = "L: noise levels in the window (= LCM steps per chunk)", DefaultValueFactory = _ => 4 };
        var height = new Option<int>("--height") { Description = "image height in pixels (multiple of 64)", DefaultValueFactory = _ => 512 };
        var width = new Option<int>("--width") { Description = "image width in pixels (multiple of 64)", DefaultValueFactory = _ => 512 };
        var steps = new Option<int>("--steps") { Description = $"steps of the chunk timeline to print (0 to {MaxSteps})", DefaultValueFactory = _ => 8 };
        var command = new Command("schedule", "Print the stream schedule of a configuration: per-frame timesteps and LCM coefficients, and which chunk sits at which level at each step.")
        {
            p, levels, height, width, steps,
        };
        command.SetAction(result => CliErrors.Run("schedule", Console.Error, () =>
        {
            int rows = result.GetValue(steps);
            if (rows is < 0 or > MaxSteps)
                throw new RainException(RainErrorCategory.InvalidArgument, $"--steps must be 0 to {MaxSteps}; got {rows}.");
            var config = new StreamConfig
            {
                FramesPerLevel = result.GetValue(p),
                Levels = result.GetValue(levels),
                Height = result.GetValue(height),
                Width = result.GetValue(width),
            };
            config.Validate();
            Print(new LcmSchedule(config), rows, Console.Out);
            return 0;
        }));
        return command;
    }

    internal static void Print(LcmSchedule s, int steps, TextWriter o)
    {
        var c = s.Config;
        var ci = CultureInfo.InvariantCulture;
        o.WriteLine(string.Create(ci, $"stream: p = {c.FramesPerLevel} frames per level, L = {c.Levels} levels, F = {c.Frames} frames; image {c.Height}x{c.Width}, latent {c.LatentHeight}x{c.LatentWidth}"));
        o.WriteLine(string.Create(ci, $"scheduler: {c.Scheduler.TrainTimesteps} train steps, {c.Scheduler.BetaSchedule} betas {c.Scheduler.BetaStart}..{c.Scheduler.BetaEnd}, zero-SNR rescale {(c.Scheduler.RescaleZeroTerminalSnr ? "on" : "off")}, {SchedulerConfig.TimestepSpacing} spacing, {SchedulerConfig.PredictionType}"));
        o.WriteLine(string.Create(ci, $"inference timesteps (noisiest first): {string.Join(", ", s.InferenceTimesteps)}"));
        o.WriteLine();
        o.WriteLine("level  frames    t  t_prev   alpha_t     sqrt(a_t)   sqrt(1-a_t)  alpha_prev  noise_w     c_skip      c_out");
        for (int level = 0; level < c.Levels; level++)
        {
            int f = level * c.FramesPerLevel;
            o.WriteLine(string.Create(ci, $"{level,5}  {f,2}..{f + c.FramesPerLevel - 1,-3} {s.FrameTimesteps[f],4}  {s.PrevTimesteps[f],6}  {s.AlphaProd[f],-10:G6}  {s.SqrtAlphaProd[f],-10:G6}  {s.SqrtOneMinusAlphaProd[f],-11:G6}  {s.AlphaProdPrev[f],-10:G6}  {s.SqrtOneMinusAlphaProdPrev[f],-10:G6}  {s.CSkip[f],-10:G4}  {s.COut[f]:G9}"));
        }

        o.WriteLine();
        o.WriteLine("chunk timeline (chunk c = the c-th group of p pose frames; negative = filler before the first real chunk):");
        o.Write("step ");
        for (int level = 0; level < c.Levels; level++)
            o.Write(string.Create(ci, $"| level {level} (t={s.LevelTimesteps[level]}) "));
        o.WriteLine("| output");
        for (long k = 0; k < steps; k++)
        {
            o.Write(string.Create(ci, $"{k,4} "));
            for (int level = 0; level < c.Levels; level++)
            {
                long chunk = k - (c.Levels - 1 - level);
                o.Write(string.Create(ci, $"| {chunk,-17}"));
            }

            long decoded = k - (c.Levels - 1);
            o.WriteLine(decoded >= 0 ? $"| frames of chunk {decoded}" : $"| none (filler {decoded} decoded and dropped)");
        }

        o.WriteLine();
        o.WriteLine(string.Create(ci, $"first output: step {c.Levels - 1} (the {c.Levels}th step), the frames of chunk 0 after all {c.Levels} levels; latency {c.Levels - 1} steps = {(c.Levels - 1) * c.FramesPerLevel} frames after its pose chunk is complete."));
    }
}

using Rain.Engine;
using Rain.Engine.Api;
using Rain.Engine.Bundle;

namespace Rain.Cli.Tests;

/// <summary>The CLI's one catch helper: one line, exit 2 for bad input and 3 for a fault during the run.</summary>
public sealed class CliErrorsTests
{
    [Theory]
    [InlineData(RainErrorCategory.InvalidArgument, 2)]
    [InlineData(RainErrorCategory.InvalidInput, 2)]
    [InlineData(RainErrorCategory.Bundle, 2)]
    [InlineData(RainErrorCategory.BackendUnavailable, 2)]
    [InlineData(RainErrorCategory.DeviceFault, 3)]
    [InlineData(RainErrorCategory.SessionFaulted, 3)]
    [InlineData(RainErrorCategory.Internal, 3)]
    public void CategoriesMapToExitCodes(RainErrorCategory category, int code) =>
        Assert.Equal(code, CliErrors.ExitCode(new RainException(category, "x")));

    [Fact]
    public void AFailureIsOneLineNamingTheCommandAndTheCause()
    {
        var err = new StringWriter();
        int code = CliErrors.Run("run", err, () => throw new SessionFaultedException(3, 0, Stage.Decode, new BundleException("line one\nline two")));
        Assert.Equal(3, code);
        string[] lines = err.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("rain run: The session closed: step 3 (the step that emits chunk 0) failed during Decode: line one line two", Assert.Single(lines));

        err = new StringWriter();
        Assert.Equal(3, CliErrors.Run("bench", err, () => throw new KeyNotFoundException("no such key")));
        Assert.Contains("rain bench: internal error: no such key (KeyNotFoundException; please report it", err.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, CliErrors.Run("export", new StringWriter(), () => throw new FileNotFoundException("gone")));
    }
}

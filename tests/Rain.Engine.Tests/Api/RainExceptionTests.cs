using Rain.Engine.Api;
using Rain.Engine.Bundle;
using Rain.Engine.Interop;
using Rain.Engine.Interop.TensorRt;
using Rain.Engine.Media;
using Rain.Engine.Tensors;
using Rain.Models.Weights;

namespace Rain.Engine.Tests.Api;

/// <summary>One exception family: every exception the engine throws on purpose is a <see cref="RainException"/> with the category front ends map to status and exit codes.</summary>
public sealed class RainExceptionTests
{
    public static TheoryData<Exception, RainErrorCategory> Cases() => new()
    {
        { new BundleException("b"), RainErrorCategory.Bundle },
        { new BackendUnavailableException("b"), RainErrorCategory.BackendUnavailable },
        { new CheckpointFormatException("f", "e", "p"), RainErrorCategory.InvalidInput },
        { new ModelExportException("m"), RainErrorCategory.InvalidInput },
        { new ImageFormatException("i"), RainErrorCategory.InvalidInput },
        { new CudaException(700, "CUDA_ERROR_ILLEGAL_ADDRESS", "cuStreamSynchronize(stream)", "an illegal memory access"), RainErrorCategory.DeviceFault },
        { new TrtException("t"), RainErrorCategory.DeviceFault },
        { new NvrtcException("n"), RainErrorCategory.DeviceFault },
        { new NonFiniteValuesException(Stage.Decode, "images", 3, float.NaN), RainErrorCategory.DeviceFault },
        { new SessionFaultedException(5, 2, Stage.UNetParts, new InvalidDataException("x")), RainErrorCategory.SessionFaulted },
        { new ArgumentOutOfRangeException("p"), RainErrorCategory.InvalidArgument },
        { new NotSupportedException("n"), RainErrorCategory.InvalidArgument },
        { new FileNotFoundException("f"), RainErrorCategory.InvalidInput },
        { new InvalidDataException("d"), RainErrorCategory.InvalidInput },
        { new System.Text.Json.JsonException("j"), RainErrorCategory.InvalidInput },
        { new InvalidOperationException("i"), RainErrorCategory.Internal },
        { new KeyNotFoundException("k"), RainErrorCategory.Internal },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryExceptionHasItsCategory(Exception e, RainErrorCategory category)
    {
        Assert.Equal(category, RainException.CategoryOf(e));
        if (e.GetType().Namespace!.StartsWith("Rain.", StringComparison.Ordinal))
            Assert.Equal(category, Assert.IsAssignableFrom<RainException>(e).Category);
    }

    [Fact]
    public void EveryPublicExceptionTypeOfTheEngineAndTheExporterJoinsTheFamily()
    {
        // Public and internal alike: the device exceptions (CudaException, NvrtcException, TrtException) are internal and
        // reach callers as RainException.
        var types = typeof(RainException).Assembly.GetTypes().Concat(typeof(ModelExportException).Assembly.GetTypes())
            .Where(t => typeof(Exception).IsAssignableFrom(t)).ToList();
        Assert.True(types.Count >= 11, $"only {types.Count} exception types found");
        Assert.All(types, t => Assert.True(typeof(RainException).IsAssignableFrom(t), $"{t.FullName} is not a RainException"));
    }

    [Fact]
    public void ASessionFaultNamesStepChunkStageAndCause()
    {
        var e = new SessionFaultedException(7, 4, Stage.Decode, new InvalidDataException("the decoder's run failed"));
        Assert.Equal("The session closed: step 7 (the step that emits chunk 4) failed during Decode: the decoder's run failed", e.Message);
        Assert.Equal((7L, 4L, Stage.Decode), (e.Step, e.Chunk, e.Stage));
        var filler = new SessionFaultedException(1, -2, null, new InvalidDataException("x"));
        Assert.Contains("step 1 (before the first chunk is due) failed: x", filler.Message, StringComparison.Ordinal);
    }
}

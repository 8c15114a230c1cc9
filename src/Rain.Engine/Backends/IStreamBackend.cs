using Rain.Engine.Api;
using Rain.Engine.Media;
using Rain.Engine.Streaming;

namespace Rain.Engine.Backends;

/// <summary>
/// A bundle's networks loaded on one backend with every buffer allocated (made once per <see cref="RainEngine"/>).
/// <see cref="Start"/> fuses a reference image and returns the stream that the session steps. One stream at a time.
/// </summary>
internal interface IStreamBackend : IDisposable
{
    /// <summary>Bytes of the buffers the backend holds (activations, inputs, outputs, scratch; not the weights).</summary>
    long BufferBytes { get; }

    /// <summary>What runs where, in words (e.g. "TensorRT 10.16.0 FP16 plans on NVIDIA H200 (SM 9.0)").</summary>
    string Description { get; }

    /// <summary>Fuses <paramref name="reference"/> and starts a stream from the clean start (step 0).</summary>
    IStreamer Start(RgbImage reference, StageTimings timings);
}

/// <summary>One stream on a backend, step by step: p poses in, p frames out once a real chunk leaves the window. Not thread-safe.</summary>
internal interface IStreamer
{
    /// <summary>Where step times go (the bench swaps in a fresh one after warm-up).</summary>
    StageTimings Timings { get; set; }

    /// <summary>The stage the step in progress is in (for the session's fault report); null when the backend does not track it.</summary>
    Stage? CurrentStage => null;

    /// <summary>Checks that <paramref name="pose"/> fits the stream (its size) without touching any state.</summary>
    /// <exception cref="ArgumentException">The image is not the bundle's size.</exception>
    void CheckPose(RgbImage pose);

    /// <summary>
    /// Runs one step on the p poses of the newest chunk. When the step emits (a real chunk left the window), its p frames
    /// are written as interleaved RGB into <paramref name="frames"/> (p buffers of H·W·3 bytes).
    /// </summary>
    StepOutcome Step(ReadOnlySpan<RgbImage> poses, ReadOnlySpan<byte[]> frames);
}

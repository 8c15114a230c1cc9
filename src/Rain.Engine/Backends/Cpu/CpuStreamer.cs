using System.Diagnostics;
using Rain.Engine.Api;
using Rain.Engine.Bundle;
using Rain.Engine.Media;
using Rain.Engine.Streaming;
using Rain.Kernels;

namespace Rain.Engine.Backends.Cpu;

/// <summary>
/// One stream on the CPU pipeline, step by step: p pose images in, the UNet over the window, the LCM step and roll
/// (<see cref="StreamState"/>, with its clean start), and — for real chunks only — the TAESDV decode of the p cleanest
/// frames into caller buffers. A step allocates nothing. Not thread-safe.
/// </summary>
internal sealed class CpuStreamer : IStreamer
{
    private readonly CpuPipeline _pipe;
    private readonly int _p, _height, _width;
    private readonly bool _checkNumerics;
    private volatile int _stage = -1; // the Stage in progress, −1 between steps (an int: read whole from another thread)

    /// <param name="pipe">The pipeline (one stream at a time).</param>
    /// <param name="seed">Noise seed.</param>
    /// <param name="timings">Where step times go.</param>
    /// <param name="checkNumerics">Check the UNet's output and the decoded frames for NaN/∞ every step (<see cref="EngineOptions.CheckNumerics"/>).</param>
    public CpuStreamer(CpuPipeline pipe, ulong seed, StageTimings timings, bool checkNumerics = true)
    {
        _pipe = pipe;
        _checkNumerics = checkNumerics;
        var m = pipe.Bundle.Manifest;
        _p = m.FramesPerLevel;
        _height = m.Height;
        _width = m.Width;
        State = new StreamState(new LcmSchedule(pipe.Bundle.Stream), m.PoseChannels, seed);
        Timings = timings;
        pipe.ResetMemories();
    }

    public StreamState State { get; }

    /// <summary>Where step times go (the bench swaps in a fresh one after warm-up).</summary>
    public StageTimings Timings { get; set; }

    /// <summary>The stage the step in progress is in; read by the session when a step fails or hangs.</summary>
    public Stage? CurrentStage => _stage is var s and >= 0 ? (Stage)s : null;

    /// <summary>Checks that <paramref name="pose"/> fits the stream (size, buffer) without touching any state.</summary>
    public void CheckPose(RgbImage pose) => StepArguments.CheckPose(pose, _width, _height);

    /// <summary>
    /// Runs one step on the p poses of the newest chunk. When the step emits (a real chunk left the window), its p
    /// frames are written as interleaved RGB into <paramref name="frames"/> (p buffers of H·W·3 bytes).
    /// </summary>
    public StepOutcome Step(ReadOnlySpan<RgbImage> poses, ReadOnlySpan<byte[]> frames)
    {
        StepArguments.CheckStep(poses, frames, _p, _width, _height);
        long stepStart = Stopwatch.GetTimestamp();
        long t = stepStart;
        Enter(Stage.PoseInput);
        var u8 = _pipe.PoseU8.U8;
        int plane = _height * _width;
        for (int i = 0; i < _p; i++)
            FrameConversion.Rgb8ToPlanar(poses[i].Pixels, u8.Slice(i * 3 * plane, 3 * plane), 1, _height, _width);

        Timings.Add(Stage.PoseInput, t);
        Enter(Stage.PoseGuider);
        _pipe.RunPoseGuider(Timings);

        t = Stopwatch.GetTimestamp();
        Enter(Stage.Copies);
        _pipe.PoseFeatures.F.CopyTo(State.NewPoseFeatureSlots());
        State.Latents.CopyTo(_pipe.UNet.Buffer(TensorNames.Sample).F);
        State.PoseFeatures.CopyTo(_pipe.UNet.Buffer(TensorNames.PoseCondFeatures).F);
        Timings.Add(Stage.Copies, t);

        Enter(Stage.UNetParts);
        _pipe.RunUNet(Timings);
        var modelOutput = _pipe.UNet.Buffer(TensorNames.ModelOutput).F;
        if (_checkNumerics)
            NumericCheck.ThrowIfNonFinite(modelOutput, Stage.UNetParts, "the UNet's output (model_output, every frame of the window)");

        t = Stopwatch.GetTimestamp();
        Enter(Stage.Scheduler);
        var outcome = State.Advance(modelOutput);
        Timings.Add(Stage.Scheduler, t);

        // Clean start: filler chunks are never decoded, so the first real frame meets zero decoder memories.
        if (outcome.Emit)
        {
            t = Stopwatch.GetTimestamp();
            State.DecodeInput.CopyTo(_pipe.DecoderLatents.F);
            Timings.Add(Stage.Copies, t);
            Enter(Stage.Decode);
            _pipe.RunDecoder(Timings);
            var images = _pipe.Images.F;
            if (_checkNumerics)
                NumericCheck.ThrowIfNonFinite(images, Stage.Decode, "the decoded frames (taesdv_decoder's images)");
            t = Stopwatch.GetTimestamp();
            Enter(Stage.FrameOutput);
            for (int i = 0; i < _p; i++)
                Preprocess.FrameToRgb(images.Slice(i * 3 * plane, 3 * plane), _width, _height, frames[i]);
            Timings.Add(Stage.FrameOutput, t);
        }

        _stage = -1;
        Timings.EndStep(stepStart, outcome);
        return outcome;
    }

    private void Enter(Stage stage) => _stage = (int)stage;
}

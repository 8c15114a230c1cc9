using System.Diagnostics;
using Rain.Engine.Api;
using Rain.Engine.Backends.Cuda;
using Rain.Engine.Bundle;
using Rain.Engine.Media;
using Rain.Engine.Streaming;

namespace Rain.Engine.Backends.TensorRt;

/// <summary>
/// RAIN's stream on TensorRT engines, mirroring the CPU pipeline and streamer: the reference fused once (CLIP, VAE
/// encoder, ReferenceNet and the fold, whose keys, values and cross-attention rows stay on the device in the UNet's
/// buffers), then per step the pose guider on the p new pose
/// images into the newest slots of the pose-feature window, the UNet plan (engines and fp32 attention kernels), the
/// counter noise and <c>lcm_step_roll</c>, the pose window's roll, and — for real chunks only — the TAESDV decoder with
/// its memories, all in the <see cref="CudaStepDriver"/>'s step (one CUDA graph after the clean start).
/// </summary>
/// <remarks>
/// The UNet runs in the plan folder's form (<see cref="UNetLayout"/>): one engine, or the cut parts with our attention
/// kernel between them. Verified against the CPU streamer on the fake CUDA driver with engines that run ONNX Runtime
/// (FakeCudaDriverTests); on a real GPU with TensorRT, <c>Rain.Bench.Gpu --tensorrt</c> makes the same comparison. Not
/// thread-safe; dispose before the engine set, the kernels and the device.
/// </remarks>
internal sealed class TrtPipeline : IStreamer, IDisposable
{
    private readonly Owned _owned = new();
    private readonly ModelBundle _bundle;
    private readonly TrtEngineSet _engines;
    private readonly CudaDevice _device;
    private readonly CudaStream _stream;
    private readonly DeviceBuffer _poseWindow, _poseRoll, _clipPixels, _vaePixels, _referenceEmbedding;
    private readonly DeviceBuffer[] _memories, _memoriesOut;
    private readonly Dictionary<string, DeviceBuffer> _clipOut = new(StringComparer.Ordinal);
    private readonly int _p, _height, _width;

    public TrtPipeline(ModelBundle bundle, UNetLayout unet, TrtEngineSet engines, CudaDevice device, CudaKernels kernels, ulong seed, bool useGraph)
    {
        ArgumentNullException.ThrowIfNull(unet);
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(engines);
        ArgumentNullException.ThrowIfNull(device);
        _bundle = bundle;
        _engines = engines;
        _device = device;
        var m = bundle.Manifest;
        (_p, _height, _width) = (m.FramesPerLevel, m.Height, m.Width);
        using (var built = new Owned(this))
        {
            _stream = Own(device.CreateStream());
            var arena = Own(device.Allocate(Math.Max(256, engines.ArenaBytes)));
            engines.UseArena(arena.Address, arena.Bytes);
            Driver = Own(new CudaStepDriver(device, kernels, new CudaStepOptions(new LcmSchedule(bundle.Stream), seed, useGraph, WarmupSteps: 1, Io: StepIo.TensorRt)));

            // The UNet reads the driver's latent window and writes its model output directly; the pose window is ours.
            UNet = Own(new TrtUNet(unet.Plan, unet.Parts, engines, device, kernels,
                new Dictionary<string, DeviceBuffer>(StringComparer.Ordinal) { [TensorNames.Sample] = Driver.Latents, [TensorNames.ModelOutput] = Driver.ModelOutput }));
            _poseWindow = UNet.Buffer(TensorNames.PoseCondFeatures);
            long poseChunk = _poseWindow.Bytes / m.Levels;
            _poseRoll = Own(device.Allocate(_poseWindow.Bytes - poseChunk));
            // As the CPU pipeline: the manifest's per-frame timesteps, zero beyond them.
            int frameCount = m.FramesPerLevel * m.Levels;
            UNet.Buffer(TensorNames.Timestep).Upload<long>([.. Enumerable.Range(0, frameCount).Select(i => i < m.Timesteps.Length ? (long)m.Timesteps[i] : 0L)]);
            UNet.Buffer(TensorNames.TimestepCond).Upload<float>(m.GuidanceEmbedding);

            var pose = engines[NetworkNames.PoseGuider];
            var poseOut = Own(device.Allocate(Bytes(pose.Tensors.Single(t => t.Name == bundle.Part(NetworkNames.PoseGuider).Outputs[0].Name))));
            if (poseOut.Bytes != poseChunk)
                throw new BundleException($"{bundle.PathOf("pose_guider")}: its output ({poseOut.Bytes} bytes) is not one chunk of the UNet's pose_cond_fea ({poseChunk} bytes).");
            pose.Bind(new Dictionary<string, ulong> { [bundle.Part(NetworkNames.PoseGuider).Inputs[0].Name] = Driver.PoseImages.Address, [bundle.Part(NetworkNames.PoseGuider).Outputs[0].Name] = poseOut.Address });

            // Decoder: latents from the driver, frames to the driver; memories read from one set, written to the other and
            // copied back after each decode (a context's addresses are fixed, so the sets cannot swap as on the CPU).
            var decoder = engines[NetworkNames.TaesdvDecoder];
            var decoderPart = bundle.Part(NetworkNames.TaesdvDecoder);
            var pmem = decoderPart.Inputs.Where(c => c.Name.StartsWith(TensorNames.MemoryInPrefix, StringComparison.Ordinal)).ToArray();
            _memories = [.. pmem.Select(c => Own(device.Allocate(Bytes(c))))];
            _memoriesOut = [.. pmem.Select(c => Own(device.Allocate(Bytes(c))))];
            var decoderAddresses = new Dictionary<string, ulong>(StringComparer.Ordinal) { [TensorNames.Latents] = Driver.DecodeInput.Address, [TensorNames.Images] = Driver.Frames.Address };
            for (int i = 0; i < pmem.Length; i++)
            {
                string index = pmem[i].Name[4..];
                decoderAddresses[pmem[i].Name] = _memories[i].Address;
                decoderAddresses[TensorNames.MemoryOutPrefix + index] = _memoriesOut[i].Address;
            }

            decoder.Bind(decoderAddresses);

            // Reference networks: inputs uploaded per session, outputs into the UNet's constant inputs.
            var clip = engines[NetworkNames.ClipVision];
            var clipPart = bundle.Part(NetworkNames.ClipVision);
            _clipPixels = Own(device.Allocate(Bytes(clipPart.Inputs[0])));
            foreach (var output in clipPart.Outputs)
                _clipOut[output.Name] = Own(device.Allocate(Bytes(output)));
            clip.Bind(new Dictionary<string, ulong>(_clipOut.Select(p => KeyValuePair.Create(p.Key, p.Value.Address)), StringComparer.Ordinal) { [clipPart.Inputs[0].Name] = _clipPixels.Address });
            var reference = bundle.Part(NetworkNames.ReferenceUNet); // ModelBundle.Load checked its encoder_hidden_states input
            _referenceEmbedding = Own(device.Allocate(Bytes(reference.Inputs.First(c => c.Name == TensorNames.EncoderHiddenStates))));
            if (!_clipOut.TryGetValue(TensorNames.ImageEmbeds, out var embeds) || embeds.Bytes != _referenceEmbedding.Bytes)
                throw new BundleException($"{bundle.PathOf(NetworkNames.ClipVision)}: no output 'image_embeds' of the ReferenceNet's encoder_hidden_states size.");
            var vaePart = bundle.Part(NetworkNames.VaeEncoder);
            _vaePixels = Own(device.Allocate(Bytes(vaePart.Inputs[0])));
            var vaeOut = Own(device.Allocate(Bytes(vaePart.Outputs[0])));
            engines[NetworkNames.VaeEncoder].Bind(new Dictionary<string, ulong> { [vaePart.Inputs[0].Name] = _vaePixels.Address, [vaePart.Outputs[0].Name] = vaeOut.Address });
            // The ReferenceNet writes the taps; the fold reads them with the CLIP embedding and writes the UNet's reference inputs.
            var taps = reference.Outputs.ToDictionary(c => c.Name, c => Own(device.Allocate(Bytes(c))), StringComparer.Ordinal);
            engines[NetworkNames.ReferenceUNet].Bind(reference.Inputs.Concat(reference.Outputs).ToDictionary(c => c.Name,
                c => c.Name == TensorNames.Latents ? vaeOut.Address : c.Name == TensorNames.EncoderHiddenStates ? _referenceEmbedding.Address : taps[c.Name].Address, StringComparer.Ordinal));
            var fold = bundle.Part(NetworkNames.ReferenceFold);
            engines[NetworkNames.ReferenceFold].Bind(fold.Inputs.Concat(fold.Outputs).ToDictionary(c => c.Name,
                c => c.Name == TensorNames.EncoderHiddenStates ? _referenceEmbedding.Address : taps.TryGetValue(c.Name, out var tap) ? tap.Address : UNet.Buffer(c.Name).Address, StringComparer.Ordinal));

            var denoiser = new List<IPartRunner> { pose, new DeviceRangeCopyNode(poseOut, 0, _poseWindow, _poseWindow.Bytes - poseChunk, poseChunk) };
            denoiser.AddRange(UNet.Nodes);
            // The pose window rolls one level down after the UNet read it (the newest slots are overwritten next step).
            denoiser.Add(new DeviceRangeCopyNode(_poseWindow, poseChunk, _poseRoll, 0, _poseRoll.Bytes));
            denoiser.Add(new DeviceRangeCopyNode(_poseRoll, 0, _poseWindow, 0, _poseRoll.Bytes));
            var decode = new List<IPartRunner> { decoder };
            decode.AddRange(_memoriesOut.Select((m, i) => new DeviceCopyNode(m, _memories[i], m.Bytes)));
            Driver.SetParts(denoiser, decode);
            ResetStream();
            built.Commit();
        }
    }

    /// <summary>The step driver (stable buffers, the graph, pinned staging).</summary>
    public CudaStepDriver Driver { get; }

    /// <summary>The UNet plan on the device.</summary>
    public TrtUNet UNet { get; }

    /// <summary>Where step times go: pose input and frame output (host copies) and the device step (<see cref="Stage.Device"/>).</summary>
    public StageTimings Timings { get; set; } = new();

    /// <summary>Bytes of the device buffers: the step driver's, the UNet plan's, the activation arena and the pipeline's own.</summary>
    public long BufferBytes => Driver.BufferBytes + UNet.BufferBytes + _owned.Items.OfType<DeviceBuffer>().Sum(b => b.Bytes);

    /// <inheritdoc/>
    public void CheckPose(RgbImage pose) => StepArguments.CheckPose(pose, _width, _height);

    /// <summary>Fuses a reference image (CLIP, VAE encoder, ReferenceNet and fold, run once on the device) and restarts the stream.</summary>
    public void SetReference(RgbImage reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var m = _bundle.Manifest;
        _clipPixels.Upload<float>(Preprocess.ClipPixels(reference, m.ClipImageSize));
        _vaePixels.Upload<float>(Preprocess.VaePixels(reference, m.ReferenceWidth, m.ReferenceHeight));
        _engines[NetworkNames.ClipVision].Enqueue(_stream);
        _stream.Copy(_clipOut[TensorNames.ImageEmbeds], 0, _referenceEmbedding, 0, _referenceEmbedding.Bytes);
        _engines[NetworkNames.VaeEncoder].Enqueue(_stream);
        _engines[NetworkNames.ReferenceUNet].Enqueue(_stream);
        _engines[NetworkNames.ReferenceFold].Enqueue(_stream);
        _stream.Synchronize();
        ResetStream();
    }

    /// <summary>One step: p poses in; when a real chunk left the window, its p frames (H·W·3 bytes each) out.</summary>
    public StepOutcome Step(ReadOnlySpan<RgbImage> poses, ReadOnlySpan<byte[]> frames)
    {
        StepArguments.CheckStep(poses, frames, _p, _width, _height);
        long stepStart = Stopwatch.GetTimestamp();
        int imageBytes = _height * _width * 3;
        var input = Driver.PoseInput;
        for (int i = 0; i < _p; i++)
            poses[i].Pixels.CopyTo(input.Slice(i * imageBytes, imageBytes));

        Timings.Add(Stage.PoseInput, stepStart);
        long t = Stopwatch.GetTimestamp();
        Driver.Profiler.Trace = Timings.Trace;
        var outcome = Driver.Step();
        Timings.Add(Stage.Device, t);
        if (outcome.Emit)
        {
            t = Stopwatch.GetTimestamp();
            for (int i = 0; i < _p; i++)
                Driver.FrameOutput.Slice(i * imageBytes, imageBytes).CopyTo(frames[i]);
            Timings.Add(Stage.FrameOutput, t);
        }

        Timings.EndStep(stepStart, outcome);
        return outcome;
    }

    public void Dispose() => _owned.DisposeAll();

    private void ResetStream()
    {
        Driver.Reset();
        _poseWindow.Fill(0); // filler chunks' pose features are zero (StreamState)
        foreach (var m in _memories.Concat(_memoriesOut))
            m.Fill(0);
    }

    private static long Bytes(TensorContract c) => c.ElementCount * PlanBufferLayout.ElementBytes(c.DType);

    private T Own<T>(T resource)
        where T : IDisposable => _owned.Own(resource);
}

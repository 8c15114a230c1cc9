using Rain.Engine.Bundle;
using Rain.Engine.Streaming;
using Rain.Engine.Tensors;

namespace Rain.Engine.Backends.Cpu;

/// <summary>
/// Deterministic replay for regression checks: the raw stream step from an explicit initial state with explicit per-step
/// inputs, in RAIN's tensor names and <c>[B, C, F, H, W]</c> layout (those of golden 06), or one network on recorded
/// inputs (the names of golden 07, 03, 02, 04, 05). Every output is written in the same names and layout.
/// </summary>
internal static class CpuReplay
{
    /// <summary>
    /// Replays stream steps <c>step00</c>, <c>step01</c>, … of <paramref name="input"/>; returns the tensors to write, the
    /// decoder memories after the last step K as <c>stepKK.omem0…</c> (golden 06's names).
    /// </summary>
    public static List<(string Name, long[] Shape, float[] Data)> Stream(CpuPipeline pipe, ICheckpoint input, Action<int>? stepDone = null)
    {
        var m = pipe.Bundle.Manifest;
        int p = m.FramesPerLevel, frames = p * m.Levels, c0 = m.PoseChannels;
        int h = m.Height / 8, w = m.Width / 8, plane = h * w, latentFrame = 4 * plane, poseFrame = c0 * plane;
        var schedule = new LcmSchedule(pipe.Bundle.Stream);
        var unet = pipe.UNet;
        ReadReference(pipe, input);
        Read(input, TensorNames.TimestepCond, unet.Buffer(TensorNames.TimestepCond).F);
        var timesteps = new float[frames];
        Read(input, TensorNames.Timestep, timesteps);
        for (int f = 0; f < frames; f++)
            unet.Buffer(TensorNames.Timestep).I64[f] = (long)timesteps[f];

        var sample = new float[frames * latentFrame];
        ReadLayout(input, "init.sample", sample, 4, frames, plane);
        var poseCache = new float[(frames - p) * poseFrame];
        if (input.TryGet("init.pose_cond_fea", out _))
            ReadLayout(input, "init.pose_cond_fea", poseCache, c0, frames - p, plane);
        pipe.ResetMemories();
        for (int i = 0; i < pipe.MemoryCount; i++)
        {
            if (input.TryGet($"init.pmem{i}", out _))
                Read(input, $"init.pmem{i}", pipe.CurrentMemories[i].F);
        }

        var output = new List<(string, long[], float[])>();
        int lastStep = -1;
        var addNoise = new float[frames * latentFrame];
        var newNoise = new float[p * latentFrame];
        var poseU8 = new float[p * 3 * m.Height * m.Width];
        var poseAllTensor = unet.Buffer(TensorNames.PoseCondFeatures);
        for (int step = 0; input.TryGet($"step{step:D2}.pose_u8", out _); step++)
        {
            string k = $"step{step:D2}";
            ReadLayout(input, k + ".pose_u8", poseU8, 3, p, m.Height * m.Width);
            var bytes = pipe.PoseU8.U8;
            for (int i = 0; i < poseU8.Length; i++)
            {
                float v = poseU8[i];
                bytes[i] = v is >= 0 and <= 255 && v == MathF.Floor(v) ? (byte)v : throw new InvalidDataException($"{input.Path}: '{k}.pose_u8' holds {v} at element {i}; pose pixels are integers 0–255.");
            }

            ReadLayout(input, k + ".add_noise", addNoise, 4, frames, plane);
            ReadLayout(input, k + ".new_noise", newNoise, 4, p, plane);
            pipe.RunPoseGuider(null);
            var poseAll = poseAllTensor.F;
            poseCache.CopyTo(poseAll);
            pipe.PoseFeatures.F.CopyTo(poseAll[poseCache.Length..]);
            sample.CopyTo(unet.Buffer(TensorNames.Sample).F);
            pipe.RunUNet(null);
            var next = new float[sample.Length];
            LcmStep.StepRoll(schedule, unet.Buffer(TensorNames.ModelOutput).F, sample, addNoise, newNoise, next, pipe.DecoderLatents.F, latentFrame);
            pipe.RunDecoder(null);
            output.Add((k + ".image", [1, p, 3, m.Height, m.Width], pipe.Images.F.ToArray()));
            output.Add((k + ".latents", [1, 4, frames, h, w], ToLayout(next, 4, frames, plane)));
            poseAll[(p * poseFrame)..].CopyTo(poseCache);
            output.Add((k + ".pose_cond_fea_out", [1, c0, frames - p, h, w], ToLayout(poseCache, c0, frames - p, plane)));
            sample = next;
            lastStep = step;
            stepDone?.Invoke(step);
        }

        if (output.Count == 0)
            throw new InvalidDataException($"{input.Path}: no 'step00.pose_u8'; a stream replay file holds init.sample, the constants and stepKK.pose_u8/add_noise/new_noise per step.");
        for (int i = 0; i < pipe.MemoryCount; i++)
            output.Add(($"step{lastStep:D2}.omem{i}", pipe.CurrentMemories[i].Contract.Shape, pipe.CurrentMemories[i].F.ToArray()));
        return output;
    }

    /// <summary>Runs one network on recorded inputs; returns its outputs in the recorded names and layouts.</summary>
    public static List<(string Name, long[] Shape, float[] Data)> Network(CpuPipeline pipe, string network, ICheckpoint input)
    {
        var m = pipe.Bundle.Manifest;
        var unet = pipe.UNet;
        int frames = m.FramesPerLevel * m.Levels, plane = m.Height / 8 * (m.Width / 8);
        var output = new List<(string, long[], float[])>();
        switch (network)
        {
            case NetworkNames.ClipVision:
                Read(input, "pixel_values", pipe.ClipPixels.F);
                pipe.RunNetwork(network);
                output.Add((TensorNames.ImageEmbeds, pipe.ClipEmbeds.Contract.Shape, pipe.ClipEmbeds.F.ToArray()));
                break;
            case NetworkNames.VaeEncoder:
                Read(input, TensorNames.Images, pipe.VaeImages.F);
                pipe.RunNetwork(network);
                output.Add((TensorNames.Latents, pipe.ReferenceLatents.Contract.Shape, pipe.ReferenceLatents.F.ToArray()));
                break;
            case NetworkNames.ReferenceUNet:
                Read(input, TensorNames.Latents, pipe.ReferenceLatents.F);
                Read(input, "clip_embeds", pipe.ReferenceEmbedding.F);
                pipe.RunNetwork(network);
                foreach (string tap in m.Taps)
                    output.Add((tap, pipe.Tap(tap).Contract.Shape, pipe.Tap(tap).F.ToArray()));
                break;
            case NetworkNames.PoseGuider:
            {
                int p = m.FramesPerLevel;
                var u8 = new float[pipe.PoseU8.U8.Length];
                ReadLayout(input, "pose_u8", u8, 3, p, m.Height * m.Width);
                for (int i = 0; i < u8.Length; i++)
                    pipe.PoseU8.U8[i] = (byte)Math.Clamp(u8[i], 0, 255);
                pipe.RunNetwork(network);
                output.Add((TensorNames.PoseCondFeatures, [1, m.PoseChannels, p, m.Height / 8, m.Width / 8], ToLayout(pipe.PoseFeatures.F, m.PoseChannels, p, plane)));
                break;
            }

            case NetworkNames.UNet:
            {
                ReadLayout(input, TensorNames.Sample, unet.Buffer(TensorNames.Sample).F, 4, frames, plane);
                ReadLayout(input, TensorNames.PoseCondFeatures, unet.Buffer(TensorNames.PoseCondFeatures).F, m.PoseChannels, frames, plane);
                ReadReference(pipe, input);
                Read(input, TensorNames.TimestepCond, unet.Buffer(TensorNames.TimestepCond).F);
                var t = new float[frames];
                Read(input, TensorNames.Timestep, t);
                for (int f = 0; f < frames; f++)
                    unet.Buffer(TensorNames.Timestep).I64[f] = (long)t[f];
                pipe.RunUNet(null);
                output.Add((TensorNames.ModelOutput, [1, 4, frames, m.Height / 8, m.Width / 8], ToLayout(unet.Buffer(TensorNames.ModelOutput).F, 4, frames, plane)));
                break;
            }

            case NetworkNames.TaesdvDecoder:
            {
                int p = m.FramesPerLevel;
                Read(input, "latents_ntchw", pipe.DecoderLatents.F);
                pipe.ResetMemories();
                for (int i = 0; i < pipe.MemoryCount; i++)
                    Read(input, $"pmem{i}", pipe.CurrentMemories[i].F);
                pipe.RunNetwork(network);
                output.Add(("images_ntchw", [1, p, 3, m.Height, m.Width], pipe.Images.F.ToArray()));
                for (int i = 0; i < pipe.MemoryCount; i++)
                    output.Add(($"omem{i}", pipe.CurrentMemories[i].Contract.Shape, pipe.CurrentMemories[i].F.ToArray()));
                break;
            }

            default:
                throw new ArgumentException($"unknown network '{network}'; replay runs clip_vision, vae_encoder, reference_unet, pose_guider, unet or taesdv_decoder.", nameof(network));
        }

        return output;
    }

    // The recorded CLIP embedding and taps, folded into the UNet's reference inputs as a reference is.
    private static void ReadReference(CpuPipeline pipe, ICheckpoint input)
    {
        Read(input, TensorNames.EncoderHiddenStates, pipe.ReferenceEmbedding.F);
        foreach (string tap in pipe.Bundle.Manifest.Taps)
            Read(input, tap, pipe.Tap(tap).F);
        pipe.FoldReference();
    }

    private static void Read(ICheckpoint input, string name, Span<float> destination)
    {
        if (!input.TryGet(name, out var info))
            throw new InvalidDataException($"{input.Path}: tensor '{name}' is missing.");
        if (info.ElementCount != destination.Length)
            throw new InvalidDataException($"{input.Path}: tensor '{name}' has shape {info.ShapeText} ({info.ElementCount} elements); the bundle's network takes {destination.Length} elements here.");
        input.ReadFloat32(name, destination);
    }

    private static void ReadLayout(ICheckpoint input, string name, Span<float> destination, int channels, int frames, int plane)
    {
        var raw = new float[destination.Length];
        Read(input, name, raw);
        Layouts.ChannelsFirstToFrames(raw, destination, channels, frames, plane);
    }

    private static float[] ToLayout(ReadOnlySpan<float> frameMajor, int channels, int frames, int plane)
    {
        var result = new float[frameMajor.Length];
        Layouts.FramesToChannelsFirst(frameMajor, result, channels, frames, plane);
        return result;
    }
}

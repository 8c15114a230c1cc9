using Microsoft.ML.OnnxRuntime;
using Rain.Engine.Backends.Cpu;
using Rain.Engine.Bundle;
using Rain.Engine.Streaming;
using Rain.Models.Config;
using Rain.Models.Networks;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Models.Tests;

/// <summary>
/// The exported networks composed into RAIN's stream step (pose guider → cut UNet with the C# attention → LCM step and
/// roll → TAESDV with memories) reproduce golden 06 over its 6 steps, state fed back step to step.
/// </summary>
public sealed class StreamTests(ITestOutputHelper output)
{
    private const int P = 4, F = 16, C0 = 32, H = 64, W = 128, LatentPlane = 8 * 16;

    [Fact]
    public void Exported_networks_reproduce_the_golden_stream_06()
    {
        var golden = GoldenData.Open("06_stream.safetensors");
        using var ort = new OrtHarness();
        RainExport.Write(RainConfig.Load(GoldenData.PathOf("configs/rain_morpher.yaml")), ort.Folder);
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var poseGuider = new InferenceSession(Path.Combine(ort.Folder, "pose_guider.onnx"), options);
        using var decoder = new InferenceSession(Path.Combine(ort.Folder, "taesdv_decoder.onnx"), options);
        using var unet = new CpuPlanRunner(ort.Folder, StepPlan.FromJson(File.ReadAllText(Path.Combine(ort.Folder, "unet.plan.json"))), options);
        var schedule = new LcmSchedule(new StreamConfig { FramesPerLevel = P, Levels = 4, Height = H, Width = W });

        var sample = Layouts.BcfhwToFchw(golden.Floats("init.sample"), 4, F, LatentPlane);
        var poseCache = new float[12 * C0 * LatentPlane];
        var memories = Enumerable.Range(0, 10).Select(i => new float[64 * (LatentPlane << (2 * Math.Min(i / 3, 3)))]).ToArray();
        var constants = new List<NamedOnnxValue>
        {
            OrtHarness.Longs("timestep", golden.Longs("timestep"), F),
            OrtHarness.Float("encoder_hidden_states", golden.Floats("encoder_hidden_states"), 1, 1, 32),
            OrtHarness.Float("timestep_cond", golden.Floats("timestep_cond"), 1, 16),
        };
        foreach (var tap in UNetTests.Taps)
            constants.Add(OrtHarness.Float(tap, golden.Floats(tap), golden.Shape(tap).Select(d => (int)d).ToArray()));

        double worst = 0;
        for (int step = 0; step < 6; step++)
        {
            string k = $"step{step:D2}";
            var poseU8 = Layouts.BcfhwToFchw(golden.Floats(k + ".pose_u8"), 3, P, H * W);
            float[] newFeatures;
            using (var r = poseGuider.Run([OrtHarness.Bytes("pose_u8", poseU8, P, 3, H, W)]))
                newFeatures = r[0].AsTensor<float>().ToArray();
            float[] poseAll = [.. poseCache, .. newFeatures];

            var v = unet.Run([.. constants, OrtHarness.Float("sample", sample, F, 4, 8, 16), OrtHarness.Float("pose_cond_fea", poseAll, F, C0, 8, 16)])["model_output"].Buffer.ToArray();
            var next = new float[sample.Length];
            var decodeInput = new float[P * 4 * LatentPlane];
            LcmStep.StepRoll(schedule, v, sample, Layouts.BcfhwToFchw(golden.Floats(k + ".add_noise"), 4, F, LatentPlane),
                Layouts.BcfhwToFchw(golden.Floats(k + ".new_noise"), 4, P, LatentPlane), next, decodeInput, 4 * LatentPlane);

            var decoderInputs = new List<NamedOnnxValue> { OrtHarness.Float("latents", decodeInput, P, 4, 8, 16) };
            for (int i = 0; i < 10; i++)
            {
                int scale = 1 << Math.Min(i / 3, 3);
                decoderInputs.Add(OrtHarness.Float($"pmem{i}", memories[i], 1, 64, 8 * scale, 16 * scale));
            }

            float[] image;
            using (var r = decoder.Run(decoderInputs))
            {
                var byName = r.ToDictionary(x => x.Name, x => x.AsTensor<float>().ToArray());
                image = byName["images"]; // the exported decoder clamps to [0, 1]
                for (int i = 0; i < 10; i++)
                    memories[i] = byName[$"omem{i}"];
            }

            sample = next;
            poseCache = poseAll[(P * C0 * LatentPlane)..];
            worst = Math.Max(worst, Tolerance.AssertClose(k + ".image", golden.Floats(k + ".image"), image, 1e-4, 1e-3, output));
            worst = Math.Max(worst, Tolerance.AssertClose(k + ".latents", Layouts.BcfhwToFchw(golden.Floats(k + ".latents"), 4, F, LatentPlane), sample, 1e-4, 1e-3, output));
            Tolerance.AssertClose(k + ".pose_cond_fea_out", Layouts.BcfhwToFchw(golden.Floats(k + ".pose_cond_fea_out"), C0, 12, LatentPlane), poseCache, 1e-4, 1e-3, output);
        }

        for (int i = 0; i < 10; i++)
            Tolerance.AssertClose($"step05.omem{i}", golden.Floats($"step05.omem{i}"), memories[i], 1e-4, 1e-3, output);
        output.WriteLine($"largest image/latent error over 6 steps: {worst:E3}");
    }
}

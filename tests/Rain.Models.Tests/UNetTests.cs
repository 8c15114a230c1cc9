using Microsoft.ML.OnnxRuntime;
using Rain.Models.Config;
using Rain.Models.Networks;
using Rain.Models.Onnx;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Models.Tests;

public sealed class UNetTests(ITestOutputHelper output)
{
    internal static readonly string[] Taps = ["d00", "d01", "d10", "d11", "d20", "d21", "m", "u10", "u11", "u12", "u20", "u21", "u22", "u30", "u31", "u32"];

    internal static UNetConfig Config => UNetConfig.Load(JsonConfig.Load(GoldenData.PathOf("configs/unet.json")));

    internal static MotionModuleConfig Motion => MotionModuleConfig.Load(RainConfig.Load(GoldenData.PathOf("configs/rain_morpher.yaml")));

    [Fact]
    public void ReferenceUnetMatchesGolden03Taps()
    {
        var golden = GoldenData.Open("03_reference_unet.safetensors");
        var g = UNetNetwork.BuildReference(Config, new GoldenWeights("weights/reference_unet.safetensors"), 8, 16);
        using var ort = new OrtHarness();
        string path = ort.Write(GraphPart.Whole(g));
        output.WriteLine(OnnxReport.Read(path).ToString());
        var result = OrtHarness.Run(path,
        [
            OrtHarness.Float("latents", golden.Floats("latents"), 1, 4, 8, 16),
            OrtHarness.Float("encoder_hidden_states", golden.Floats("clip_embeds"), 1, 1, 32),
        ]);
        Assert.Equal(Taps.Order(), result.Keys.Order());
        foreach (var tap in Taps)
            Tolerance.AssertClose(tap, golden.Floats(tap), result[tap], 1e-4, 1e-3, output);
    }

    [Fact]
    public void DenoisingUnetUncutMatchesGolden04()
    {
        var golden = GoldenData.Open("04_denoising_unet.safetensors");
        var g = UNetNetwork.BuildDenoising(Config, Motion, new GoldenWeights("weights/denoising_unet.safetensors"), 16, 8, 16, cut: false);
        using var ort = new OrtHarness();
        string path = ort.Write(GraphPart.Whole(g));
        output.WriteLine(OnnxReport.Read(path).ToString());
        var result = OrtHarness.Run(path, DenoisingInputs(golden));
        var expected = Layouts.BcfhwToFchw(golden.Floats("model_output"), 4, 16, 8 * 16);
        Tolerance.AssertClose("model_output", expected, result["model_output"], 1e-4, 1e-3, output);
    }

    [Fact]
    public void DenoisingUnetWithoutStoredPeBuffersRecomputesThemAndStillMatchesGolden04()
    {
        var golden = GoldenData.Open("04_denoising_unet.safetensors");
        var stored = new GoldenWeights("weights/denoising_unet.safetensors");
        var weights = new WithoutKeys(stored, k => k.EndsWith(".pos_encoder.pe", StringComparison.Ordinal));
        Assert.Equal(stored.Keys.Count - 42, weights.Keys.Count);
        var g = UNetNetwork.BuildDenoising(Config, Motion, weights, 16, 8, 16, cut: false);
        using var ort = new OrtHarness();
        var result = OrtHarness.Run(ort.Write(GraphPart.Whole(g)), DenoisingInputs(golden));
        var expected = Layouts.BcfhwToFchw(golden.Floats("model_output"), 4, 16, 8 * 16);
        Tolerance.AssertClose("model_output (computed pe)", expected, result["model_output"], 1e-4, 1e-3, output);
    }

    private sealed class WithoutKeys(Rain.Models.Weights.IWeightSource inner, Func<string, bool> hidden) : Rain.Models.Weights.IWeightSource
    {
        public string Origin => inner.Origin;

        public IReadOnlyCollection<string> Keys { get; } = inner.Keys.Where(k => !hidden(k)).ToList();

        public bool TryGetShape(string key, out long[] shape)
        {
            shape = [];
            return !hidden(key) && inner.TryGetShape(key, out shape);
        }

        public float[] Read(string key) => hidden(key) ? throw new KeyNotFoundException(key) : inner.Read(key);
    }

    [Fact]
    public void ReferenceFoldIsTheClosedFormProjectionOfGoldenTapsAndClipEmbedding()
    {
        // Independent reference: K = tap·W_kᵀ, V = tap·W_vᵀ and cross = W_out·(W_v·clip) + b_out in double precision, from
        // the checkpoint's [out, in] matrices as stored (the graph stores them transposed for MatMul).
        var golden = GoldenData.Open("04_denoising_unet.safetensors");
        var weights = GoldenData.Open("weights/denoising_unet.safetensors");
        var folded = Fold(golden);
        var clip = golden.Floats("encoder_hidden_states");
        var sites = UNetNetwork.SpatialTransformers(Config);
        Assert.Equal(Taps, sites.Select(t => t.Tap));
        Assert.Equal(3 * Taps.Length, folded.Count);
        float[] Project(float[] rows, string key, bool bias) =>
            Linear(rows, weights.Floats(key + ".weight"), bias ? weights.Floats(key + ".bias") : null, (int)weights.Shape(key + ".weight")[0]);
        foreach (var site in sites)
        {
            string tb = site.Prefix + ".transformer_blocks.0";
            var tap = golden.Floats(site.Tap);
            Tolerance.AssertClose(site.Tap + ".k", Project(tap, tb + ".attn1.to_k", false), folded[site.Tap + ".k"], 1e-5, 1e-4, output);
            Tolerance.AssertClose(site.Tap + ".v", Project(tap, tb + ".attn1.to_v", false), folded[site.Tap + ".v"], 1e-5, 1e-4, output);
            Tolerance.AssertClose(site.Tap + ".cross", Project(Project(clip, tb + ".attn2.to_v", false), tb + ".attn2.to_out.0", true), folded[site.Tap + ".cross"], 1e-5, 1e-4, output);
        }
    }

    // rows [N, in] · W[out, in]ᵀ + b, accumulated in double.
    private static float[] Linear(float[] rows, float[] w, float[]? bias, int outs)
    {
        int ins = w.Length / outs, n = rows.Length / ins;
        var result = new float[n * outs];
        for (int r = 0; r < n; r++)
        {
            for (int o = 0; o < outs; o++)
            {
                double sum = bias?[o] ?? 0;
                for (int i = 0; i < ins; i++)
                    sum += (double)rows[(r * ins) + i] * w[(o * ins) + i];
                result[(r * outs) + o] = (float)sum;
            }
        }

        return result;
    }

    /// <summary>The reference fold, exported from the golden denoising weights, run on golden 04's taps and CLIP embedding.</summary>
    internal static Dictionary<string, float[]> Fold(MiniSafetensors golden)
    {
        using var ort = new OrtHarness();
        var g = UNetNetwork.BuildReferenceFold(Config, new GoldenWeights("weights/denoising_unet.safetensors"), 8, 16);
        var inputs = new List<NamedOnnxValue> { OrtHarness.Float("encoder_hidden_states", golden.Floats("encoder_hidden_states"), 1, 1, 32) };
        foreach (var tap in Taps)
            inputs.Add(OrtHarness.Float(tap, golden.Floats(tap), Dims(golden.Shape(tap))));
        return OrtHarness.Run(ort.Write(GraphPart.Whole(g)), inputs);
    }

    private static int[] Dims(long[] shape) => [.. shape.Select(d => (int)d)];

    /// <summary>Golden 04's inputs for the denoising UNet: the recorded sample, timesteps, pose features and guidance, and the fold of its taps.</summary>
    internal static List<NamedOnnxValue> DenoisingInputs(MiniSafetensors golden)
    {
        var inputs = new List<NamedOnnxValue>
        {
            OrtHarness.Float("sample", Layouts.BcfhwToFchw(golden.Floats("sample"), 4, 16, 8 * 16), 16, 4, 8, 16),
            OrtHarness.Longs("timestep", golden.Longs("timestep"), 16),
            OrtHarness.Float("pose_cond_fea", Layouts.BcfhwToFchw(golden.Floats("pose_cond_fea"), 32, 16, 8 * 16), 16, 32, 8, 16),
            OrtHarness.Float("timestep_cond", golden.Floats("timestep_cond"), 1, 16),
        };
        foreach (var (name, data) in Fold(golden))
        {
            var tapShape = golden.Shape(name[..name.LastIndexOf('.')]);
            inputs.Add(OrtHarness.Float(name, data, name.EndsWith(".cross", StringComparison.Ordinal) ? [1, 1, (int)tapShape[2]] : Dims(tapShape)));
        }

        return inputs;
    }
}

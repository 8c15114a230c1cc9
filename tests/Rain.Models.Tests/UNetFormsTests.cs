using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Rain.Engine.Backends.TensorRt;
using Rain.Engine.Bundle;
using Rain.Kernels;
using Rain.Models.Bundle;
using Rain.Models.Config;
using Rain.Models.Onnx;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Models.Tests;

/// <summary>The golden RAIN checkout exported once into a bundle (its UNet is golden 04's: F = 16, 8×16 latents).</summary>
public sealed class GoldenBundleFixture : IDisposable
{
    public GoldenBundleFixture()
    {
        Root = Directory.CreateTempSubdirectory("rain-unet-forms-").FullName;
        string folder = Path.Combine(Root, "bundle");
        BundleExport.Write(RainConfig.Load(GoldenData.PathOf("configs/rain_morpher.yaml")), folder);
        Bundle = ModelBundle.Load(folder);
    }

    public string Root { get; }

    public ModelBundle Bundle { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// The UNet's TensorRT forms as ONNX rewrites of the bundle's parts, run on ONNX Runtime against golden 04 (the original
/// PyTorch UNet): the whole UNet, its attention cores as standard ops, must give the golden output; the cut parts with
/// fp16 cut tensors, chained through the C# attention, must stay within fp16 rounding of the float32 parts.
/// </summary>
public sealed class UNetFormsTests(GoldenBundleFixture fixture, ITestOutputHelper output) : IClassFixture<GoldenBundleFixture>
{
    [Fact]
    public void TheWholeUNetWithAttentionAsStandardOpsMatchesGolden04()
    {
        var bundle = fixture.Bundle;
        var written = UNetForms.Write(bundle, UNetForm.Whole, fp16: true);
        string path = Assert.Single(written);
        Assert.Equal(Path.Combine(bundle.Folder, UNetLayout.WholeFile), path);
        // Small: the weights stay in the parts' external data files, which the model names as they are.
        Assert.True(new FileInfo(path).Length < 2 << 20, $"{path} is {new FileInfo(path).Length} bytes");

        // Its inputs and outputs are the plan's, as UNetLayout (what the engine checks plans against) says.
        var contract = UNetLayout.For(bundle.Manifest, UNetForm.Whole, fp16: true).Parts[UNetLayout.WholePart];
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        Assert.Equal(contract.Inputs.Select(c => c.Name), session.InputMetadata.Keys);
        Assert.Equal(contract.Outputs.Select(c => c.Name), session.OutputMetadata.Keys);
        Assert.Equal(42, CountOps(path, n => n.OpType == "Softmax" && n.Name.EndsWith("/attention/softmax", StringComparison.Ordinal)));

        var golden = GoldenData.Open("04_denoising_unet.safetensors");
        var result = OrtHarness.Run(path, UNetTests.DenoisingInputs(golden));
        var expected = Layouts.BcfhwToFchw(golden.Floats("model_output"), 4, 16, 8 * 16);
        Tolerance.AssertClose("whole UNet vs golden 04", expected, result["model_output"], 1e-4, 1e-3, output);
    }

    [Fact]
    public void TheCutPartsWithFp16CutTensorsStayWithinFp16RoundingOfTheFloat32Parts()
    {
        var bundle = fixture.Bundle;
        var layout = UNetLayout.For(bundle.Manifest, UNetForm.Cut, fp16: true);
        var written = UNetForms.Write(bundle, UNetForm.Cut, fp16: true);
        Assert.Equal(layout.Parts.Count, written.Count);
        Assert.Empty(UNetForms.Write(bundle, UNetForm.Cut, fp16: false)); // FP32 plans build the bundle's parts as they are

        // Every cut tensor (and only those) is float16 at the parts' boundaries; the plan's own tensors stay as they were.
        var cut = UNetLayout.CutTensors(bundle.Manifest.UNetPlan);
        foreach (var (name, part) in layout.Parts)
        {
            using var session = new InferenceSession(UNetLayout.OnnxPath(bundle, part));
            foreach (var c in part.Inputs)
                Assert.Equal(cut.Contains(c.Name) ? typeof(Float16) : c.DType == "int64" ? typeof(long) : typeof(float), session.InputMetadata[c.Name].ElementType);
            foreach (var c in part.Outputs)
                Assert.Equal(cut.Contains(c.Name) ? typeof(Float16) : typeof(float), session.OutputMetadata[c.Name].ElementType);
            Assert.Equal(c16(part.Inputs) + c16(part.Outputs), part.Inputs.Concat(part.Outputs).Count(c => cut.Contains(c.Name)));
        }

        var golden = GoldenData.Open("04_denoising_unet.safetensors");
        var inputs = UNetTests.DenoisingInputs(golden);
        var fp32 = RunPlan(bundle, UNetLayout.For(bundle.Manifest, UNetForm.Cut, fp16: false), inputs);
        var fp16 = RunPlan(bundle, layout, inputs);
        // Each cut tensor is rounded to fp16 once (2^-11 relative) and the attention reads and writes fp16, as on the GPU;
        // through 43 parts that is a relative L2 error of some 1e-3. A wiring error (a tensor in the wrong slot, a Cast on
        // the wrong side) gives errors of order 1.
        double relL2 = RelativeL2(fp32, fp16);
        output.WriteLine($"fp16 cut tensors vs float32 parts: relative L2 {relL2:E2} over {fp32.Length} values");
        Assert.InRange(relL2, 1e-6, 2e-2); // above 0: the tensors really were rounded to fp16
        var expected = Layouts.BcfhwToFchw(golden.Floats("model_output"), 4, 16, 8 * 16);
        Tolerance.AssertClose("float32 parts vs golden 04", expected, fp32, 1e-4, 1e-3, output);

        static int c16(TensorContract[] contracts) => contracts.Count(c => c.DType == "float16");
    }

    /// <summary>
    /// Runs the plan of <paramref name="layout"/> part by part on ONNX Runtime with the C# attention between the parts,
    /// keeping every tensor in its contract's type (fp16 cut tensors are stored as fp16, as on the GPU).
    /// </summary>
    private static float[] RunPlan(ModelBundle bundle, UNetLayout layout, IReadOnlyList<NamedOnnxValue> inputs)
    {
        var values = inputs.ToDictionary(v => v.Name, v => v, StringComparer.Ordinal);
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        foreach (var step in layout.Plan.Steps)
        {
            if (step.StepKind == PlanStepKind.RunPart)
            {
                var part = layout.Parts[step.Part!];
                using var session = new InferenceSession(UNetLayout.OnnxPath(bundle, part), options);
                using var results = session.Run(part.Inputs.Select(c => values[c.Name]).ToList());
                foreach (var r in results)
                {
                    values[r.Name] = r.ElementType == TensorElementType.Float16
                        ? NamedOnnxValue.CreateFromTensor(r.Name, new DenseTensor<Float16>(r.AsTensor<Float16>().ToArray(), r.AsTensor<Float16>().Dimensions.ToArray()))
                        : NamedOnnxValue.CreateFromTensor(r.Name, new DenseTensor<float>(r.AsTensor<float>().ToArray(), r.AsTensor<float>().Dimensions.ToArray()));
                }

                continue;
            }

            int f = step.Frames!.Value, n = step.Tokens!.Value, c = step.Channels!.Value;
            float[] Read(string name) => values[name].Value is DenseTensor<Float16> h ? [.. h.Buffer.ToArray().Select(x => (float)BitConverter.UInt16BitsToHalf(x.value))] : ((DenseTensor<float>)values[name].Value).Buffer.ToArray();
            var o = new float[f * n * c];
            CrossNoiseAttention.Reference(Read(step.Inputs[0]), Read(step.Inputs[1]), Read(step.Inputs[2]), o, f, n, c, step.Heads!.Value);
            bool half = values[step.Inputs[0]].Value is DenseTensor<Float16>;
            values[step.Outputs[0]] = half
                ? NamedOnnxValue.CreateFromTensor(step.Outputs[0], new DenseTensor<Float16>(o.Select(x => new Float16(BitConverter.HalfToUInt16Bits((Half)x))).ToArray(), [f, n, c]))
                : NamedOnnxValue.CreateFromTensor(step.Outputs[0], new DenseTensor<float>(o, [f, n, c]));
        }

        return ((DenseTensor<float>)values[layout.Plan.Outputs[0]].Value).Buffer.ToArray();
    }

    private static double RelativeL2(float[] reference, float[] actual)
    {
        double err = 0, norm = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            err += (actual[i] - reference[i]) * (double)(actual[i] - reference[i]);
            norm += reference[i] * (double)reference[i];
        }

        return Math.Sqrt(err / norm);
    }

    private static int CountOps(string path, Func<Rain.Models.Onnx.Proto.NodeProto, bool> which) =>
        Rain.Models.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Node.Count(which);
}

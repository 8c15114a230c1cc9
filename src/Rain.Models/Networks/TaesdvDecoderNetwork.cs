using Rain.Models.Onnx;
using Rain.Models.Weights;
using Rain.Engine.Bundle;

namespace Rain.Models.Networks;

/// <summary>
/// The TAESDV decoder as RAIN streams it (spec §2.6): soft clamp 3·tanh(x/3), conv, ReLU, then MemBlocks ×3, 2× nearest
/// upsample + conv (no bias) three times with MemBlocks ×3, ×3, ×1, and a final conv to RGB. Each of the 10 MemBlocks
/// sees its own input one frame earlier: frame 0 reads <c>pmem_i</c>, frame t reads frame t−1, and <c>omem_i</c> is the
/// block input of the last frame. Inputs <c>latents [T, 4, h, w]</c> and <c>pmem0..9 [1, 64, h_i, w_i]</c>; outputs
/// <c>images [T, 3, 8h, 8w]</c> and <c>omem0..9</c>. The TAESDV encoder's keys are accepted and unused.
/// </summary>
public static class TaesdvDecoderNetwork
{
    /// <summary>Decoder indices of the MemBlocks, in memory order 0..9.</summary>
    public static readonly IReadOnlyList<int> MemBlockIndices = [3, 4, 5, 8, 9, 10, 13, 14, 15, 18];

    private static readonly int[] UpsampleConvs = [7, 12, 17];

    /// <summary>
    /// Builds the decoder for <paramref name="frames"/> latent frames of <paramref name="height"/>×<paramref name="width"/>.
    /// With <paramref name="clampImages"/> the images are clamped to [0, 1], as RAIN's stream step does after decoding.
    /// </summary>
    public static GraphBuilder Build(IWeightSource weights, int frames, int height, int width, bool clampImages = false)
    {
        var g = new GraphBuilder(NetworkNames.TaesdvDecoder, new WeightBinder(weights));
        foreach (var key in weights.Keys.Where(k => k.StartsWith("encoder.", StringComparison.Ordinal)))
            g.Weights.Ignore(key);
        long latentChannels = g.Weights.ShapeOf("decoder.1.weight")[1];
        long channels = g.Weights.ShapeOf("decoder.1.weight")[0];
        var x = g.Input("latents", OnnxDataType.F32, frames, latentChannels, height, width);
        var memories = new string[MemBlockIndices.Count];
        for (int i = 0; i < memories.Length; i++)
        {
            int scale = 1 << (i < 3 ? 0 : i < 6 ? 1 : i < 9 ? 2 : 3);
            memories[i] = g.Input($"{TensorNames.MemoryInPrefix}{i}", OnnxDataType.F32, 1, channels, height * scale, width * scale);
        }

        x = g.Mul("decoder.0", g.Unary("Tanh", "decoder.0/tanh", g.Div("decoder.0/div", x, g.Constant("three", [3f]))), g.Constant("three", [3f]));
        x = g.Unary("Relu", "decoder.2", Layers.Conv(g, "decoder.1", x, channels, 3, 1, 1));
        var omem = new string[memories.Length];
        int memory = 0;
        for (int index = 3; index <= 18; index++)
        {
            if (MemBlockIndices.Contains(index))
            {
                omem[memory] = g.Slice($"decoder.{index}.last_frame", x, 0, frames - 1, frames);
                x = MemBlock(g, $"decoder.{index}", x, memories[memory], frames);
                memory++;
            }
            else if (UpsampleConvs.Contains(index))
            {
                x = Layers.Conv(g, $"decoder.{index}", g.Upsample2x($"decoder.{index - 1}", x), channels, 3, 1, 1, bias: false);
            }
        }

        var images = Layers.Conv(g, "decoder.19", x, 3, 3, 1, 1);
        g.Output(clampImages ? g.Clip("images_clamp", images, 0f, 1f) : images, "images");
        for (int i = 0; i < omem.Length; i++)
            g.Output(omem[i], $"{TensorNames.MemoryOutPrefix}{i}");
        g.Weights.EnsureAllConsumed();
        return g;
    }

    private static string MemBlock(GraphBuilder g, string prefix, string x, string pmem, int frames)
    {
        long c = g.Shape(x)[1];
        var past = frames == 1 ? pmem : g.Concat(prefix + ".past", 0, pmem, g.Slice(prefix + ".previous_frames", x, 0, 0, frames - 1));
        var h = g.Unary("Relu", prefix + ".conv.1", Layers.Conv(g, prefix + ".conv.0", g.Concat(prefix + ".cat", 1, x, past), c, 3, 1, 1));
        h = g.Unary("Relu", prefix + ".conv.3", Layers.Conv(g, prefix + ".conv.2", h, c, 3, 1, 1));
        h = Layers.Conv(g, prefix + ".conv.4", h, c, 3, 1, 1);
        return g.Unary("Relu", prefix + ".act", g.Add(prefix + ".skip", h, x));
    }
}

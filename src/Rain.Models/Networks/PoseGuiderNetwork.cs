using Rain.Models.Onnx;
using Rain.Models.Weights;
using Rain.Engine.Bundle;

namespace Rain.Models.Networks;

/// <summary>
/// RAIN's pose guider (spec §2.4): conv_in → SiLU → pairs of (3×3 conv, 3×3 stride-2 conv) each followed by SiLU →
/// conv_out. RAIN hard-codes its widths in code, so they are read from the weight shapes. Input: the pose images as
/// uint8 <c>pose_u8 [F, 3, H, W]</c>, divided by 255 in the graph; output <c>pose_cond_fea [F, C, H/8, W/8]</c>.
/// </summary>
public static class PoseGuiderNetwork
{
    /// <summary>Builds the graph for <paramref name="frames"/> images of <paramref name="height"/>×<paramref name="width"/>.</summary>
    public static GraphBuilder Build(IWeightSource weights, int frames, int height, int width)
    {
        var g = new GraphBuilder(NetworkNames.PoseGuider, new WeightBinder(weights));
        var binder = g.Weights;
        var x = g.Div("pose_scale", g.Cast("pose_float", g.Input("pose_u8", OnnxDataType.U8, frames, 3, height, width), OnnxDataType.F32), g.Constant("u8_max", [255f]));
        long width0 = binder.ShapeOf("conv_in.weight")[0];
        x = g.SiLU("conv_in.act", Layers.Conv(g, "conv_in", x, width0, 3, 1, 1));
        int blocks = 0;
        while (binder.Has($"blocks.{blocks}.weight"))
            blocks++;
        if (blocks % 2 != 0)
            throw new ModelExportException($"{weights.Origin}: the pose guider has {blocks} 'blocks.*' convolutions; RAIN's PoseGuider has pairs (same-width conv, stride-2 conv).");
        for (int i = 0; i < blocks; i++)
        {
            long cout = binder.ShapeOf($"blocks.{i}.weight")[0];
            int stride = i % 2 == 1 ? 2 : 1;
            x = g.SiLU($"blocks.{i}.act", Layers.Conv(g, $"blocks.{i}", x, cout, 3, stride, 1));
        }

        long outChannels = binder.ShapeOf("conv_out.weight")[0];
        g.Output(Layers.Conv(g, "conv_out", x, outChannels, 3, 1, 1), "pose_cond_fea");
        binder.EnsureAllConsumed();
        return g;
    }
}

namespace Rain.Kernels;

/// <summary>Which implementation of the fp16 cross-noise attention kernel a launch uses.</summary>
public enum AttentionKernel
{
    /// <summary>v2 (tensor cores) where it applies, else v1: what the engine uses.</summary>
    Auto,

    /// <summary>v1: one warp per (n, head), scalar fp32 math in shared memory (the baseline; any F ≤ 32 and head size).</summary>
    Warp,

    /// <summary>v2: mma.sync m16n8k16 on tensor cores with cp.async double buffering (F ≤ 16, head size a multiple of 8).</summary>
    TensorCore,
}

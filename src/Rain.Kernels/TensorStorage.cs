namespace Rain.Kernels;

/// <summary>The element type a kernel reads and writes in device memory (its arithmetic is float32 either way).</summary>
public enum TensorStorage
{
    /// <summary>IEEE half precision, 2 bytes (our own FP16 buffers).</summary>
    Fp16,

    /// <summary>IEEE single precision, 4 bytes (the I/O of TensorRT engines built from the float32 bundle).</summary>
    Fp32,
}

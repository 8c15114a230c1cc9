namespace Rain.Engine.Backends.Cuda;

/// <summary>
/// A network part of the step plan on the GPU (a TensorRT engine, later a native executor): enqueues its work on the
/// step's stream, reading and writing device buffers whose addresses were fixed when it was built, and never
/// synchronising with the host, so that the step can be captured into one CUDA graph.
/// </summary>
internal interface IPartRunner
{
    /// <summary>A name for traces and errors.</summary>
    string Name { get; }

    /// <summary>Enqueues the part on <paramref name="stream"/> (called once per eager step, or once during capture).</summary>
    void Enqueue(CudaStream stream);
}

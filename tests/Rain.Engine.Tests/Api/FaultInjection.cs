using Rain.Engine.Api;
using Rain.Engine.Backends;
using Rain.Engine.Backends.Cpu;
using Rain.Engine.Bundle;
using Rain.Engine.Media;
using Rain.Engine.Streaming;

namespace Rain.Engine.Tests.Api;

/// <summary>What a <see cref="FaultyBackend"/>'s stream does at its faulty step.</summary>
public enum Fault
{
    /// <summary>Throws an exception of the kind a failing part would.</summary>
    Throw,

    /// <summary>Throws <see cref="OutOfMemoryException"/>.</summary>
    OutOfMemory,

    /// <summary>Blocks until <see cref="FaultyBackend.Release"/> (a hung driver call).</summary>
    Hang,
}

/// <summary>
/// The real CPU backend with a fault injected at one step of its stream: the step runs for real up to that point, then
/// fails as configured. Disposing it disposes the real backend.
/// </summary>
internal sealed class FaultyBackend(CpuBackend inner, long faultyStep, Fault fault) : IStreamBackend
{
    private readonly ManualResetEventSlim _release = new();

    public long BufferBytes => inner.BufferBytes;

    public string Description => inner.Description + " (fault injected)";

    /// <summary>Signalled once the hanging step has started.</summary>
    public ManualResetEventSlim Hanging { get; } = new();

    public static RainEngine Engine(ModelBundle bundle, EngineOptions options, long faultyStep, Fault fault, out FaultyBackend backend)
    {
        backend = new FaultyBackend(new CpuBackend(bundle, options), faultyStep, fault);
        return RainEngine.Create(bundle, options, backend);
    }

    public IStreamer Start(RgbImage reference, StageTimings timings) => new Streamer(inner.Start(reference, timings), this);

    /// <summary>Lets a hanging step return (it then throws, as a call that finally failed would).</summary>
    public void Release() => _release.Set();

    public void Dispose()
    {
        inner.Dispose();
        _release.Dispose();
        Hanging.Dispose();
    }

    private sealed class Streamer(IStreamer real, FaultyBackend owner) : IStreamer
    {
        private long _step;

        public StageTimings Timings
        {
            get => real.Timings;
            set => real.Timings = value;
        }

        public Stage? CurrentStage => real.CurrentStage;

        public void CheckPose(RgbImage pose) => real.CheckPose(pose);

        public StepOutcome Step(ReadOnlySpan<RgbImage> poses, ReadOnlySpan<byte[]> frames)
        {
            if (_step++ == owner.FaultyStep)
            {
                switch (owner.FaultKind)
                {
                    case Fault.Throw:
                        throw new InvalidDataException("injected: the part's run failed");
                    case Fault.OutOfMemory:
#pragma warning disable CA2201 // the point: what the runtime throws when a step runs out of memory
                        throw new OutOfMemoryException("injected: no memory for the step");
#pragma warning restore CA2201
                    default:
                        owner.Hanging.Set();
                        owner._release.Wait();
                        throw new InvalidOperationException("injected: the hung call returned an error");
                }
            }

            return real.Step(poses, frames);
        }
    }

    private long FaultyStep => faultyStep;

    private Fault FaultKind => fault;
}

using BenchmarkDotNet.Attributes;
using Rain.Engine.Streaming;

namespace Rain.Bench;

/// <summary>The vectorised LCM step + roll against a plain scalar loop over the same bytes, RAIN's 64×64 latent window.</summary>
[MemoryDiagnoser]
public class LcmStepBenchmarks
{
    private readonly LcmSchedule _schedule = new(StreamConfig.Rain);
    private float[] _v = [], _x = [], _noise = [], _newNoise = [], _next = [], _decode = [];
    private int _fe;

    [GlobalSetup]
    public void Setup()
    {
        var c = _schedule.Config;
        _fe = c.LatentFrameElements;
        var rng = new CounterNoise(1);
        _v = new float[c.Frames * _fe];
        _x = new float[c.Frames * _fe];
        _noise = new float[c.Frames * _fe];
        rng.Fill(0, 0, 0, _v);
        rng.Fill(0, 1, 0, _x);
        rng.Fill(0, 2, 0, _noise);
        _newNoise = new float[c.FramesPerLevel * _fe];
        _next = new float[c.Frames * _fe];
        _decode = new float[c.FramesPerLevel * _fe];
    }

    [Benchmark(Baseline = true)]
    public void ScalarLoop()
    {
        var s = _schedule;
        int p = s.Config.FramesPerLevel;
        for (int f = 0; f < s.Config.Frames; f++)
        {
            float sa = s.SqrtAlphaProd[f], s1a = s.SqrtOneMinusAlphaProd[f], co = s.COut[f], cs = s.CSkip[f];
            float sap = s.SqrtAlphaProdPrev[f], w = s.SqrtOneMinusAlphaProdPrev[f];
            for (int i = 0; i < _fe; i++)
            {
                int src = (f * _fe) + i;
                float den = (co * ((sa * _x[src]) - (s1a * _v[src]))) + (cs * _x[src]);
                if (f < p)
                    _decode[src] = den;
                else
                    _next[src - (p * _fe)] = (sap * den) + (w * _noise[src]);
            }
        }

        _newNoise.CopyTo(_next, (s.Config.Frames - p) * _fe);
    }

    [Benchmark]
    public void Vectorised() => LcmStep.StepRoll(_schedule, _v, _x, _noise, _newNoise, _next, _decode, _fe);

    [Benchmark]
    public void NoiseForOneChunk() => new CounterNoise(3).Fill(5, 2, 0, _decode);
}

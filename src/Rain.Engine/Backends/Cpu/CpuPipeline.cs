using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Rain.Engine.Api;
using Rain.Engine.Bundle;
using Rain.Engine.Media;

namespace Rain.Engine.Backends.Cpu;

/// <summary>
/// Every network of a bundle on the CPU with its buffers, wired as RAIN's pipeline: the reference networks write the
/// UNet's constant inputs (the ReferenceNet's taps and the CLIP embedding feed the reference fold, whose keys, values and
/// cross-attention rows go straight into the UNet's buffers), the pose
/// guider, the UNet plan and the TAESDV decoder (its 10 memories ping-pong between two buffer sets, so the decoder
/// never reads and writes one buffer). Every buffer is allocated here; the pose guider and the decoder are loaded here.
/// Unless <c>keepReferenceNetworks</c>, the reference networks (CLIP vision, VAE encoder, ReferenceNet, fold) are loaded for
/// each reference and released after it, with the UNet released while they run, so the two are never in memory
/// together; the UNet is loaded when a reference has been fused (or by the first step that needs it). Not thread-safe;
/// one stream at a time.
/// </summary>
internal sealed class CpuPipeline : IDisposable
{
    internal static readonly string[] ReferenceNetworkNames = [NetworkNames.ClipVision, NetworkNames.VaeEncoder, NetworkNames.ReferenceUNet, NetworkNames.ReferenceFold];

    private readonly CpuSessionFactory _sessions;
    private readonly RunOptions _run = new();
    private readonly List<CpuTensor> _owned = [];
    private readonly OrtNetwork _poseGuider, _decoder;
    private readonly Dictionary<string, CpuTensor> _clipTensors = [], _vaeTensors = [], _referenceOutputs = [];
    private readonly CpuTensor[][] _memories = new CpuTensor[2][];
    private OrtNetwork? _clip, _vae, _reference, _fold;
    private int _memoryBinding;

    public CpuPipeline(ModelBundle bundle, int threads, bool parallelAttention, bool keepReferenceNetworks = false, bool prepackWeights = true)
    {
        Bundle = bundle;
        KeepReferenceNetworks = keepReferenceNetworks;
        _sessions = new CpuSessionFactory(bundle, threads, prepackWeights);
        using (var built = new Owned(this))
        {
            var m = bundle.Manifest;
            // The attention shares the cores ONNX Runtime uses for the parts (they never run at the same time).
            int cores = threads > 0 ? threads : Environment.ProcessorCount;
            UNet = new CpuPlan(bundle, _sessions, parallelAttention ? cores - 1 : 0);
            foreach (var c in bundle.Part(NetworkNames.ClipVision).Inputs.Concat(bundle.Part(NetworkNames.ClipVision).Outputs))
                _clipTensors[c.Name] = New(c);
            foreach (var c in bundle.Part(NetworkNames.VaeEncoder).Inputs.Concat(bundle.Part(NetworkNames.VaeEncoder).Outputs))
                _vaeTensors[c.Name] = New(c);
            _poseGuider = _sessions.Load(NetworkNames.PoseGuider, "stream");
            var pose = BindOwn(_poseGuider);
            _decoder = _sessions.Load(NetworkNames.TaesdvDecoder, "stream");
            var decoderTensors = new Dictionary<string, CpuTensor>(StringComparer.Ordinal);
            int memoryCount = _decoder.Manifest.Inputs.Count(c => c.Name.StartsWith(TensorNames.MemoryInPrefix, StringComparison.Ordinal));
            for (int s = 0; s < 2; s++)
                _memories[s] = _decoder.Manifest.Inputs.Where(c => c.Name.StartsWith(TensorNames.MemoryInPrefix, StringComparison.Ordinal)).Select(New).ToArray();
            foreach (var c in _decoder.Manifest.Inputs.Concat(_decoder.Manifest.Outputs).Where(c => !c.Name.Contains("mem", StringComparison.Ordinal)))
                decoderTensors[c.Name] = New(c);

            // Binding s reads memory set s and writes set 1−s.
            for (int s = 0; s < 2; s++)
            {
                int read = s;
                _decoder.Bind(c => c.Name.StartsWith(TensorNames.MemoryInPrefix, StringComparison.Ordinal) ? _memories[read][int.Parse(c.Name[4..], System.Globalization.CultureInfo.InvariantCulture)]
                    : c.Name.StartsWith(TensorNames.MemoryOutPrefix, StringComparison.Ordinal) ? _memories[1 - read][int.Parse(c.Name[4..], System.Globalization.CultureInfo.InvariantCulture)]
                    : decoderTensors[c.Name]);
            }

            MemoryCount = memoryCount;
            DecoderLatents = decoderTensors[TensorNames.Latents];
            Images = decoderTensors[TensorNames.Images];
            PoseU8 = pose[_poseGuider.Manifest.Inputs[0].Name];
            PoseFeatures = pose[_poseGuider.Manifest.Outputs[0].Name];
            ClipPixels = _clipTensors[bundle.Part(NetworkNames.ClipVision).Inputs[0].Name];
            ClipEmbeds = _clipTensors.TryGetValue(TensorNames.ImageEmbeds, out var e) ? e : throw new BundleException($"{bundle.PathOf(NetworkNames.ClipVision)}: no output 'image_embeds'.");
            VaeImages = _vaeTensors[bundle.Part(NetworkNames.VaeEncoder).Inputs[0].Name];
            // The ReferenceNet's CLIP input (ModelBundle.Load checked it is there) and its taps: the fold reads both.
            var referencePart = bundle.Part(NetworkNames.ReferenceUNet);
            ReferenceEmbedding = New(referencePart.Inputs.First(c => c.Name == TensorNames.EncoderHiddenStates));
            if (ClipEmbeds.F.Length != ReferenceEmbedding.F.Length)
                throw new BundleException($"{bundle.Folder}: clip_vision's image_embeds ({ClipEmbeds.Contract}) does not fit the ReferenceNet's encoder_hidden_states ({ReferenceEmbedding.Contract}).");
            foreach (var c in referencePart.Outputs)
                _referenceOutputs[c.Name] = New(c);
            ReferenceLatents = _vaeTensors[bundle.Part(NetworkNames.VaeEncoder).Outputs[0].Name];
            // The manifest's sizes drive the host-side loops; the parts' contracts must agree with them.
            int p = m.FramesPerLevel, f = p * m.Levels, h = m.Height / 8, w = m.Width / 8;
            Expect(PoseU8, [p, 3, m.Height, m.Width]);
            Expect(PoseFeatures, [p, m.PoseChannels, h, w]);
            Expect(DecoderLatents, [p, 4, h, w]);
            Expect(Images, [p, 3, m.Height, m.Width]);
            Expect(UNet.Buffer(TensorNames.Sample), [f, 4, h, w]);
            Expect(UNet.Buffer(TensorNames.PoseCondFeatures), [f, m.PoseChannels, h, w]);
            Expect(UNet.Buffer(TensorNames.ModelOutput), [f, 4, h, w]);
            Expect(UNet.Buffer(TensorNames.Timestep), [f]);
            Expect(UNet.Buffer(TensorNames.TimestepCond), [1, m.GuidanceEmbedding.Length]);
            UNet.Buffer(TensorNames.Timestep).I64.Clear();
            for (int i = 0; i < m.Timesteps.Length; i++)
                UNet.Buffer(TensorNames.Timestep).I64[i] = m.Timesteps[i];
            m.GuidanceEmbedding.CopyTo(UNet.Buffer(TensorNames.TimestepCond).F);
            if (keepReferenceNetworks)
            {
                // Everything now, as one process holds it for its life.
                LoadReferenceNetworks();
                UNet.Load();
            }

            built.Commit();
        }
    }

    /// <summary>Whether the reference networks stay loaded between references.</summary>
    public bool KeepReferenceNetworks { get; }

    /// <summary>Whether CLIP vision, the VAE encoder, the ReferenceNet and the fold are loaded now.</summary>
    public bool ReferenceNetworksLoaded => _fold is not null;

    /// <summary>Where the memory goes: every part loaded so far, and the engine's buffers.</summary>
    public CpuMemoryLedger Ledger => new(_sessions.Ledger, BufferBytes, _sessions.PrepackWeights, KeepReferenceNetworks, _sessions.SharedArena, ProcessMemory.Now());

    public ModelBundle Bundle { get; }

    public CpuPlan UNet { get; }

    public CpuTensor PoseU8 { get; }

    public CpuTensor PoseFeatures { get; }

    public CpuTensor DecoderLatents { get; }

    public CpuTensor Images { get; }

    public CpuTensor ClipPixels { get; }

    public CpuTensor VaeImages { get; }

    public CpuTensor ClipEmbeds { get; }

    /// <summary>The CLIP embedding as the ReferenceNet and the fold read it.</summary>
    public CpuTensor ReferenceEmbedding { get; }

    /// <summary>The ReferenceNet's taps, which the fold reads.</summary>
    public CpuTensor Tap(string name) => _referenceOutputs.TryGetValue(name, out var t) ? t : throw new BundleException($"{Bundle.PathOf(NetworkNames.ReferenceUNet)}: no output '{name}'.");

    /// <summary>The VAE encoder's latents, which the ReferenceNet reads.</summary>
    public CpuTensor ReferenceLatents { get; }

    public int MemoryCount { get; }

    /// <summary>The memories the next decode reads.</summary>
    public CpuTensor[] CurrentMemories => _memories[_memoryBinding];

    /// <summary>Bytes of every engine-held buffer.</summary>
    public long BufferBytes => UNet.BufferBytes + _owned.Sum(t => t.Bytes64);

    /// <summary>
    /// Fuses a reference image: CLIP embedding and VAE latents → ReferenceNet → taps; taps and CLIP embedding → fold →
    /// the UNet's reference keys, values and cross-attention rows. Unless the reference networks are kept, the UNet is
    /// released first, the reference networks are loaded, run and released, and the UNet is loaded again: the two are
    /// never in memory together.
    /// </summary>
    public void SetReference(RgbImage reference)
    {
        var m = Bundle.Manifest;
        InReferencePhase(() =>
        {
            float[] clip = Preprocess.ClipPixels(reference, m.ClipImageSize);
            clip.CopyTo(ClipPixels.F);
            _clip!.Run(_run);
            ClipEmbeds.F.CopyTo(ReferenceEmbedding.F);
            Preprocess.VaePixels(reference, m.ReferenceWidth, m.ReferenceHeight).CopyTo(VaeImages.F);
            _vae!.Run(_run);
            _reference!.Run(_run);
            _fold!.Run(_run);
        });
    }

    /// <summary>
    /// Runs the fold alone on <see cref="ReferenceEmbedding"/> and the taps as they are (replay of recorded taps), in the
    /// reference phase as <see cref="SetReference"/> runs it.
    /// </summary>
    public void FoldReference() => InReferencePhase(() => _fold!.Run(_run));

    private void InReferencePhase(Action run)
    {
        if (!KeepReferenceNetworks && UNet.IsLoaded)
        {
            UNet.Unload();
            NativeHeap.Trim();
        }

        LoadReferenceNetworks();
        try
        {
            run();
        }
        finally
        {
            if (!KeepReferenceNetworks)
            {
                ReleaseReferenceNetworks();
                NativeHeap.Trim();
            }
        }

        UNet.Load();
    }

    /// <summary>Loads CLIP vision, the VAE encoder, the ReferenceNet and the fold (a no-op when loaded).</summary>
    public void LoadReferenceNetworks()
    {
        if (_fold is not null)
            return;
        try
        {
            _clip = _sessions.Load(NetworkNames.ClipVision, "reference");
            _clip.Bind(c => _clipTensors[c.Name]);
            _vae = _sessions.Load(NetworkNames.VaeEncoder, "reference");
            _vae.Bind(c => _vaeTensors[c.Name]);

            // The ReferenceNet reads the VAE latents and the CLIP embedding and writes the taps; the fold reads the taps
            // and the embedding and writes the UNet's reference inputs.
            _reference = _sessions.Load(NetworkNames.ReferenceUNet, "reference");
            _reference.Bind(c => c.Name == TensorNames.Latents ? ReferenceLatents : c.Name == TensorNames.EncoderHiddenStates ? ReferenceEmbedding : Tap(c.Name));
            _fold = _sessions.Load(NetworkNames.ReferenceFold, "reference");
            _fold.Bind(c => c.Name == TensorNames.EncoderHiddenStates ? ReferenceEmbedding : _referenceOutputs.TryGetValue(c.Name, out var tap) ? tap : UNet.Buffer(c.Name));
        }
        catch
        {
            ReleaseReferenceNetworks();
            throw;
        }
    }

    /// <summary>Releases the reference networks' sessions (their outputs stay in the UNet's buffers).</summary>
    public void ReleaseReferenceNetworks()
    {
        _clip?.Dispose();
        _vae?.Dispose();
        _reference?.Dispose();
        _fold?.Dispose();
        (_clip, _vae, _reference, _fold) = (null, null, null, null);
    }

    /// <summary>Runs one whole network by name on its bound buffers (replay of recorded inputs); the decoder advances its memories.</summary>
    public void RunNetwork(string name)
    {
        if (ReferenceNetworkNames.Contains(name))
            LoadReferenceNetworks();
        var n = name switch
        {
            NetworkNames.ClipVision => _clip!,
            NetworkNames.VaeEncoder => _vae!,
            NetworkNames.ReferenceUNet => _reference!,
            NetworkNames.ReferenceFold => _fold!,
            NetworkNames.PoseGuider => _poseGuider,
            NetworkNames.TaesdvDecoder => _decoder,
            _ => throw new ArgumentException($"no whole network '{name}'.", nameof(name)),
        };
        if (n == _decoder)
            RunDecoder(null);
        else
            n.Run(_run);
    }

    public void RunPoseGuider(StageTimings? timings)
    {
        long start = Stopwatch.GetTimestamp();
        _poseGuider.Run(_run);
        timings?.Add(Stage.PoseGuider, start);
    }

    /// <summary>Runs the UNet plan (loading its parts first if they are not loaded: replay without a reference).</summary>
    public void RunUNet(StageTimings? timings)
    {
        if (!UNet.IsLoaded)
            UNet.Load();
        UNet.Run(_run, timings);
    }

    /// <summary>Decodes <see cref="DecoderLatents"/> into <see cref="Images"/>, reading and then advancing the memories.</summary>
    public void RunDecoder(StageTimings? timings)
    {
        long start = Stopwatch.GetTimestamp();
        _decoder.Run(_run, _memoryBinding);
        _memoryBinding = 1 - _memoryBinding;
        timings?.Add(Stage.Decode, start);
    }

    /// <summary>Zeroes the decoder memories (a new stream).</summary>
    public void ResetMemories()
    {
        foreach (var set in _memories)
        {
            foreach (var t in set)
                t.F.Clear();
        }

        _memoryBinding = 0;
    }

    public void Dispose()
    {
        ReleaseReferenceNetworks();
        _poseGuider?.Dispose();
        _decoder?.Dispose();
        UNet?.Dispose();
        foreach (var t in _owned)
            t.Dispose();
        _run.Dispose();
        _sessions.Dispose();
    }

    private CpuTensor New(TensorContract c)
    {
        var t = new CpuTensor(c);
        _owned.Add(t);
        return t;
    }

    private void Expect(CpuTensor t, long[] shape)
    {
        if (!t.Contract.Shape.AsSpan().SequenceEqual(shape))
            throw new BundleException($"{Path.Combine(Bundle.Folder, ModelBundle.ManifestFileName)}: tensor '{t.Contract.Name}' is [{string.Join(", ", t.Contract.Shape)}] in its part's contract, but the manifest's sizes imply [{string.Join(", ", shape)}].");
    }

    private Dictionary<string, CpuTensor> BindOwn(OrtNetwork n)
    {
        var tensors = n.Manifest.Inputs.Concat(n.Manifest.Outputs).ToDictionary(c => c.Name, New, StringComparer.Ordinal);
        n.Bind(c => tensors[c.Name]);
        return tensors;
    }
}

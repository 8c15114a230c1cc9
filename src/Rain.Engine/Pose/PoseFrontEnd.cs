using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Microsoft.ML.OnnxRuntime;
using Rain.Engine.Bundle;
using Rain.Engine.Media;

namespace Rain.Engine.Pose;

/// <summary>
/// RAIN's live pose front end (spec <c>pose-frontend.md</c>; RAIN's DWPose detector with <c>face_only=True</c>): a camera
/// frame of any size in, RAIN's pose image out — the web UI's centre crop, Pillow's bilinear resize to the detection size,
/// YOLOX (letterbox, ONNX Runtime, decoding, class-aware NMS, largest person box), DWPose/RTMPose (affine crop, ONNX
/// Runtime, SimCC), neck and OpenPose order, the face cache with damping, the retargeting translations and the 26
/// coloured circles on black. Every stage reproduces RAIN bit for bit where its libraries are integer (Pillow, OpenCV)
/// and to the last float64 ulp elsewhere, including RAIN's quirks (documented where they happen).
/// </summary>
/// <remarks>
/// <para>Threading: one instance per stream. <see cref="Process(ReadOnlySpan{byte}, int, int, int, Span{byte})"/> and
/// <see cref="Reset"/> are not thread-safe (call them from one thread at a time); <see cref="Retarget"/> may be set from
/// any thread while frames are processed and takes effect on the next frame.</para>
/// <para>State: the face cache carries landmarks from frame to frame (RAIN's single detector never resets it); frames of
/// one sequence must go through one instance, in order.</para>
/// <para>Memory: buffers are made when the instance is created, plus a resize plan per camera frame size (remade only when
/// the size changes), so a steady stream allocates nothing per frame.</para>
/// </remarks>
public sealed class PoseFrontEnd : IDisposable
{
    private static readonly double[] Mean = [123.675, 116.28, 103.53];
    private static readonly double[] Std = [58.395, 57.12, 57.375];
    private static readonly float[] Lut = MakeLut();

    // Byte permute taking 16 interleaved RGB pixels to their R, G and B bytes in lanes 0-15, 16-31, 32-47.
    private static readonly Vector512<byte> Deinterleave = Vector512.Create<byte>([.. Enumerable.Range(0, 64).Select(k => (byte)(k < 48 ? (3 * (k % 16)) + (k / 16) : 0))]);

    private readonly PoseModel _detector, _estimator;
    private readonly SessionOptions _sessionOptions;
    private readonly Letterbox _letterbox;
    private readonly YoloxDecoder _decoder;
    private readonly FaceCache _cache;
    private readonly byte[] _resized, _crop;
    private readonly WarpAffine _warpAffine;
    private readonly double[] _warp = new double[6];
    private readonly float[] _locations, _scores133, _maxima;
    private readonly long[] _argmax;
    private readonly double[] _keypoints133;
    private readonly double[] _faceNorm = new double[FaceCache.Values], _faceFilled = new double[FaceCache.Values], _faceDamped = new double[FaceCache.Values];
    private readonly bool[] _visible = new bool[FaceTranslation.FacePoints];
    private readonly double[] _keypoints134 = new double[2 * WholeBody.OpenPoseKeypoints];
    private readonly double[] _scores134 = new double[WholeBody.OpenPoseKeypoints];
    private PilResizePlan? _resize;
    private RetargetOptions _retarget;
    private long _frames;

    private PoseFrontEnd(PoseModel detector, PoseModel estimator, SessionOptions sessionOptions, PoseFrontEndOptions options)
    {
        (_detector, _estimator, _sessionOptions, Options) = (detector, estimator, sessionOptions, options);
        _retarget = options.Retarget;
        var det = detector.Input.Contract.Shape;
        DetectorWidth = (int)det[3];
        DetectorHeight = (int)det[2];
        var pose = estimator.Input.Contract.Shape;
        EstimatorWidth = (int)pose[3];
        EstimatorHeight = (int)pose[2];
        _letterbox = new Letterbox(Width, Height, DetectorWidth, DetectorHeight);
        _decoder = new YoloxDecoder(DetectorWidth, DetectorHeight);
        _cache = new FaceCache(options.DampingStep);
        _resized = new byte[Width * Height * 3];
        _crop = new byte[EstimatorWidth * EstimatorHeight * 3];
        _warpAffine = new WarpAffine(EstimatorWidth, EstimatorHeight);
        int k = WholeBody.Keypoints;
        (_locations, _scores133, _maxima, _argmax, _keypoints133) = (new float[2 * k], new float[k], new float[2 * k], new long[2 * k], new double[2 * k]);
        Frame = new PoseFrame(this);
    }

    /// <summary>The options this front end was created with.</summary>
    public PoseFrontEndOptions Options { get; }

    /// <summary>Pose image width (the detection size).</summary>
    public int Width => Options.Width;

    /// <summary>Pose image height (the detection size).</summary>
    public int Height => Options.Height;

    /// <summary>The detector's input width (640 for YOLOX as RAIN runs it).</summary>
    public int DetectorWidth { get; }

    /// <summary>The detector's input height.</summary>
    public int DetectorHeight { get; }

    /// <summary>The pose model's input width, read from the model (288 for dw-ll_ucoco_384, 192 for the 256×192 models).</summary>
    public int EstimatorWidth { get; }

    /// <summary>The pose model's input height (384 or 256).</summary>
    public int EstimatorHeight { get; }

    /// <summary>The detector model file.</summary>
    public string DetectorPath => _detector.Path;

    /// <summary>The pose model file.</summary>
    public string EstimatorPath => _estimator.Path;

    /// <summary>
    /// The face retargeting applied from the next frame on. Thread-safe: set it from any thread (a UI, a web request)
    /// while another thread processes frames; a frame uses one value throughout.
    /// </summary>
    public RetargetOptions Retarget
    {
        get => Volatile.Read(ref _retarget);
        set => Volatile.Write(ref _retarget, value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>The last frame's results (see <see cref="PoseFrame"/> for how long its views stay valid).</summary>
    public PoseFrame Frame { get; }

    internal ReadOnlySpan<double> Keypoints134 => _keypoints134;

    internal ReadOnlySpan<double> Scores134 => _scores134;

    internal ReadOnlySpan<double> FaceDampedBuffer => _faceDamped;

    internal FaceDrawing Drawing { get; } = new();

    /// <summary>The detection-size image of the last frame (after crop and resize), when a resize was needed.</summary>
    internal ReadOnlySpan<byte> Resized => _resized;

    internal ReadOnlySpan<float> DetectorInput => _detector.Input.F;

    internal ReadOnlySpan<float> DetectorOutput => _detector.Outputs[0].F;

    internal YoloxDecoder Decoder => _decoder;

    internal ReadOnlySpan<double> WarpMatrix => _warp;

    internal CropGeometry Geometry { get; private set; }

    internal ReadOnlySpan<byte> Crop => _crop;

    internal ReadOnlySpan<float> EstimatorInput => _estimator.Input.F;

    internal ReadOnlySpan<float> SimccX => _estimator.Outputs[0].F;

    internal ReadOnlySpan<float> SimccY => _estimator.Outputs[1].F;

    internal ReadOnlySpan<long> SimccArgmax => _argmax;

    internal ReadOnlySpan<float> SimccMax => _maxima;

    internal ReadOnlySpan<float> DecodedLocations => _locations;

    internal ReadOnlySpan<float> Scores133 => _scores133;

    internal ReadOnlySpan<double> Keypoints133 => _keypoints133;

    internal ReadOnlySpan<double> FaceNorm => _faceNorm;

    internal ReadOnlySpan<bool> FaceVisible => _visible;

    internal ReadOnlySpan<double> FaceFilled => _faceFilled;

    internal int ChosenIndex { get; private set; }

    /// <summary>Bench only: skip the two ONNX Runtime runs (their output buffers keep the last frame's values), leaving the front end's own work.</summary>
    internal bool SkipModels { get; set; }

    /// <summary>
    /// Creates a front end from the two ONNX models RAIN uses: a YOLOX person detector (<c>yolox_s.onnx</c>: input
    /// float32 [1, 3, 640, 640], output [1, 8400, 85]) and a DWPose/RTMPose whole-body model (<c>dw-ll_ucoco_384.onnx</c>
    /// [1, 3, 384, 288] or <c>dw-mm_ucoco.onnx</c> [1, 3, 256, 192]; outputs simcc_x [1, 133, 2·w], simcc_y [1, 133, 2·h]).
    /// Input sizes are read from the models.
    /// </summary>
    /// <exception cref="PoseModelException">A model is missing, cannot be loaded, or has another interface (the message says which and why).</exception>
    public static PoseFrontEnd Load(string detectorPath, string estimatorPath, PoseFrontEndOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(detectorPath);
        ArgumentNullException.ThrowIfNull(estimatorPath);
        options ??= new PoseFrontEndOptions();
        using var owned = new Owned();
        var session = owned.Own(new SessionOptions { IntraOpNumThreads = options.Threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL });
        // As in the CPU backend: threads that do not spin leave the cores to the engine between runs.
        session.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        var detector = owned.Own(PoseModel.Open(detectorPath, "detector (YOLOX)", 1, session, ResolveDetector(detectorPath)));
        var estimator = owned.Own(PoseModel.Open(estimatorPath, "pose estimator (DWPose/RTMPose)", 2, session, ResolveEstimator(estimatorPath)));
        return owned.Commit(new PoseFrontEnd(detector, estimator, session, options));
    }

    /// <summary>
    /// Creates a front end from the pose models a bundle carries (<c>rain export --pose-detector … --pose-estimator …</c>,
    /// or read from <c>rain_morpher.yaml</c>). Without <paramref name="options"/> the detection size is the bundle's image
    /// size, so the pose images fit its engine.
    /// </summary>
    /// <exception cref="BundleException">The bundle has no pose models (the message says how to add them), or they do not match its manifest.</exception>
    /// <exception cref="PoseModelException">A model cannot be loaded.</exception>
    public static PoseFrontEnd Load(ModelBundle bundle, PoseFrontEndOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var pose = bundle.Manifest.PoseModels;
        string manifest = Path.Combine(bundle.Folder, ModelBundle.ManifestFileName);
        if (pose is null)
        {
            throw new BundleException($"{manifest}: this bundle has no pose models, so it animates pose images but cannot make them from camera frames. " +
                "Add RAIN's DWPose models with `rain export --rain-root RAIN --out BUNDLE` (it reads dwpose_detection_model_path and dwpose_landmark_model_path " +
                "from rain_morpher.yaml) or `rain export … --pose-detector yolox_s.onnx --pose-estimator dw-ll_ucoco_384.onnx`, or give the two models directly.");
        }

        options ??= new PoseFrontEndOptions { Width = bundle.Manifest.Width, Height = bundle.Manifest.Height };
        using var owned = new Owned();
        var frontEnd = owned.Own(Load(Path.Combine(bundle.Folder, pose.Detector.File), Path.Combine(bundle.Folder, pose.Estimator.File), options));
        CheckContract(manifest, "pose_detector", pose.Detector, frontEnd._detector);
        CheckContract(manifest, "pose_estimator", pose.Estimator, frontEnd._estimator);
        return owned.Commit(frontEnd);
    }

    /// <summary>
    /// Makes the pose image of one camera frame. <paramref name="rgb"/> holds <paramref name="width"/>×<paramref name="height"/>
    /// interleaved RGB pixels, rows <paramref name="stride"/> bytes apart (any size up to 16384 per side; RAIN's channel order
    /// is RGB, and whatever order comes in reaches both models and the drawing unchanged). The pose image
    /// (<see cref="Width"/>×<see cref="Height"/> RGB, no padding) is written to <paramref name="poseImage"/>; details of the
    /// frame are in <see cref="Frame"/>. Not thread-safe; frames of a sequence in order.
    /// </summary>
    /// <exception cref="ArgumentException">A size, the stride or a buffer is wrong (nothing is changed then).</exception>
    /// <exception cref="PoseModelException">ONNX Runtime failed on a model.</exception>
    public PoseFrame Process(ReadOnlySpan<byte> rgb, int width, int height, int stride, Span<byte> poseImage)
    {
        if (width < 1 || height < 1 || width > PoseFrontEndOptions.MaxFrameSide || height > PoseFrontEndOptions.MaxFrameSide)
            throw new ArgumentException($"a camera frame must be 1 to {PoseFrontEndOptions.MaxFrameSide} pixels per side; got {width}x{height}.");
        PilResizePlan.CheckSpan(rgb.Length, width, height, stride, nameof(rgb));
        if (poseImage.Length < Width * Height * 3)
            throw new ArgumentException($"the pose image is {Width}x{Height} RGB ({Width * Height * 3} bytes); the buffer has {poseImage.Length}.", nameof(poseImage));
        var (cx, cy, cw, ch) = Options.CenterCrop is double crop ? CenterCropRect(width, height, crop) : (0, 0, width, height);
        if (cw < 1 || ch < 1)
            throw new ArgumentException($"the centre crop {Options.CenterCrop} leaves nothing of a {width}x{height} frame.");

        long start = Stopwatch.GetTimestamp();
        var retarget = Retarget;
        var view = rgb.Slice((cy * stride) + (cx * 3));
        ReadOnlySpan<byte> image = view;
        int imageStride = stride;
        if (cw != Width || ch != Height)
        {
            if (_resize is null || _resize.InWidth != cw || _resize.InHeight != ch)
                _resize = new PilResizePlan(cw, ch, Width, Height, ResampleFilter.Bilinear);
            _resize.Resize(view, stride, _resized, Width * 3);
            image = _resized;
            imageStride = Width * 3;
        }

        _letterbox.Run(image, imageStride, _detector.Input.F);
        long t0 = Stopwatch.GetTimestamp();
        if (!SkipModels)
            _detector.Run();
        long t1 = Stopwatch.GetTimestamp();
        ChosenIndex = _decoder.Run(_detector.Outputs[0].F, _letterbox.Ratio);
        PersonBox? person = null;
        (double x1, double y1, double x2, double y2) box = (0, 0, Width, Height);
        if (ChosenIndex >= 0)
        {
            var d = _decoder.Detections[ChosenIndex];
            box = (d.X1, d.Y1, d.X2, d.Y2);
            person = new PersonBox(d.X1, d.Y1, d.X2, d.Y2, d.Score);
        }

        Geometry = CropGeometry.Of(box.x1, box.y1, box.x2, box.y2, EstimatorWidth, EstimatorHeight);
        Geometry.WarpMatrix(EstimatorWidth, EstimatorHeight, _warp);
        _warpAffine.Run(image, Width, Height, imageStride, _warp, _crop);
        Normalise(_crop, _estimator.Input.F);
        long t2 = Stopwatch.GetTimestamp();
        if (!SkipModels)
            _estimator.Run();
        long t3 = Stopwatch.GetTimestamp();

        int k = WholeBody.Keypoints;
        WholeBody.Decode(_estimator.Outputs[0].F, _estimator.Outputs[1].F, k, _locations, _scores133, _argmax, _maxima);
        WholeBody.ToImage(_locations, k, EstimatorWidth, EstimatorHeight, Geometry.CenterX, Geometry.CenterY, Geometry.ScaleW, Geometry.ScaleH, _keypoints133);
        WholeBody.ToOpenPose(_keypoints133, _scores133, _keypoints134, _scores134);
        WholeBody.Face(_keypoints134, _scores134, Width, Height, _faceNorm, _visible);
        _cache.Push(_faceNorm, _faceFilled, _faceDamped);
        Drawing.Draw(_faceDamped, retarget, poseImage, Width, Height, Width * 3);
        long end = Stopwatch.GetTimestamp();

        Frame.Index = _frames++;
        Frame.Person = person;
        double ms = 1000.0 / Stopwatch.Frequency;
        Frame.Timings = new PoseTimings((t1 - t0) * ms, (t3 - t2) * ms, ((t0 - start) + (t2 - t1) + (end - t3)) * ms);
        return Frame;
    }

    /// <summary>Makes the pose image of <paramref name="frame"/> into <paramref name="poseImage"/> (see the span overload).</summary>
    public PoseFrame Process(RgbImage frame, Span<byte> poseImage)
    {
        ArgumentNullException.ThrowIfNull(frame);
        return Process(frame.Pixels, frame.Width, frame.Height, frame.Width * 3, poseImage);
    }

    /// <summary>Makes the pose image of <paramref name="frame"/> as a new image (allocates; the span overload does not).</summary>
    public RgbImage Process(RgbImage frame)
    {
        var pose = new RgbImage(Width, Height);
        Process(frame, pose.Pixels);
        return pose;
    }

    /// <summary>Empties the face cache, so the next frame starts a new sequence (RAIN never does this; use it between unrelated streams).</summary>
    public void Reset() => _cache.Clear();

    /// <summary>Releases the ONNX Runtime sessions and buffers.</summary>
    public void Dispose()
    {
        _detector.Dispose();
        _estimator.Dispose();
        _sessionOptions.Dispose();
    }

    /// <summary>The web UI's centre crop (spec §1): d = trunc(min(h, w)·crop); margins (dim − d) div 2 on each side.</summary>
    internal static (int X, int Y, int Width, int Height) CenterCropRect(int width, int height, double crop)
    {
        int d = (int)(Math.Min(height, width) * crop);
        int mh = (height - d) / 2, mw = (width - d) / 2;
        return (mw, mh, width - (2 * mw), height - (2 * mh));
    }

    /// <summary>(pixel − mean) / std per channel in float64, rounded once to float32, HWC → CHW (spec §4.4): a table lookup per byte.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Normalise(ReadOnlySpan<byte> crop, Span<float> chw)
    {
        int plane = crop.Length / 3;
        if (chw.Length != 3 * plane)
            throw new ArgumentException($"the pose input holds {chw.Length} values; the crop has {plane} pixels.", nameof(chw));
        int i = 0;
        fixed (byte* src = crop)
        fixed (float* dst = chw, lut = Lut)
        {
            if (Media.BytePermute.IsSupported)
            {
                // 16 pixels per step: one permute puts their R, G and B bytes in lanes 0-15, 16-31, 32-47; a 64-byte load
                // must stay inside the crop, so the last pixels go the next way.
                var planar = Deinterleave;
                for (; i <= plane - 22; i += 16)
                {
                    var s = Avx512Vbmi.PermuteVar64x8(Vector512.Load(src + (3 * i)), planar);
                    for (int c = 0; c < 3; c++)
                    {
                        var bytes = c == 0 ? s.GetLower().GetLower() : c == 1 ? s.GetLower().GetUpper() : s.GetUpper().GetLower();
                        var idx = Avx512F.ConvertToVector512Int32(bytes);
                        Avx2.GatherVector256(lut + (256 * c), idx.GetLower(), 4).Store(dst + (c * plane) + i);
                        Avx2.GatherVector256(lut + (256 * c), idx.GetUpper(), 4).Store(dst + (c * plane) + i + 8);
                    }
                }
            }

            if (ByteGather.IsSupported)
            {
                // 8 pixels per step: gather each channel's bytes, then their table entries. The byte gather reads 4 bytes
                // from each offset, so the last pixels (whose reads would pass the crop's end) go the scalar way.
                var lanes = Vector256.Create(0, 3, 6, 9, 12, 15, 18, 21);
                for (; i <= plane - 9; i += 8)
                {
                    for (int c = 0; c < 3; c++)
                    {
                        var bytes = ByteGather.Load(src, lanes + Vector256.Create((3 * i) + c));
                        Avx2.GatherVector256(lut, bytes + Vector256.Create(256 * c), 4).Store(dst + (c * plane) + i);
                    }
                }
            }

            for (; i < plane; i++)
            {
                for (int c = 0; c < 3; c++)
                    dst[(c * plane) + i] = lut[(256 * c) + src[(3 * i) + c]];
            }
        }
    }

    private static float[] MakeLut()
    {
        var lut = new float[3 * 256];
        for (int c = 0; c < 3; c++)
        {
            for (int v = 0; v < 256; v++)
                lut[(c * 256) + v] = (float)((v - Mean[c]) / Std[c]); // float64, rounded once: as ONNX Runtime casts RAIN's list
        }

        return lut;
    }

    private static Func<Bundle.TensorContract, Bundle.TensorContract[], (long[], long[][])> ResolveDetector(string path) => (input, outputs) =>
    {
        // RAIN feeds YOLOX a fixed 640×640 letterbox (onnxdet.py:99); the grid decoding follows from it.
        long[] inShape = [1, 3, 640, 640];
        if (input.Shape.Length != 4 || !Fits(input.Shape, inShape))
            throw new PoseModelException($"{path}: the detector's input is {input}; RAIN's YOLOX takes float32 [1, 3, 640, 640].");
        var o = outputs[0];
        int rows = new YoloxDecoder(640, 640).Rows;
        long[] outShape = [1, rows, YoloxDecoder.Columns];
        if (o.Shape.Length != 3 || !Fits(o.Shape, outShape))
            throw new PoseModelException($"{path}: the detector's output is {o}; a YOLOX model without in-model decoding gives float32 [1, {rows}, {YoloxDecoder.Columns}] (cx, cy, w, h, objectness, 80 class probabilities).");
        return (inShape, [outShape]);
    };

    private static Func<Bundle.TensorContract, Bundle.TensorContract[], (long[], long[][])> ResolveEstimator(string path) => (input, outputs) =>
    {
        var s = input.Shape;
        if (s.Length != 4 || (s[0] != 1 && s[0] != -1) || s[1] != 3 || s[2] < 1 || s[3] < 1 || s[2] > 4096 || s[3] > 4096)
            throw new PoseModelException($"{path}: the pose model's input is {input}; RAIN reads the crop size from a static float32 [1, 3, h, w] input (such as [1, 3, 384, 288]).");
        long h = s[2], w = s[3];
        long k = WholeBody.Keypoints;
        long[] x = [1, k, 2 * w], y = [1, k, 2 * h];
        if (outputs[0].Shape.Length != 3 || outputs[1].Shape.Length != 3 || !Fits(outputs[0].Shape, x) || !Fits(outputs[1].Shape, y))
        {
            throw new PoseModelException($"{path}: the pose model's outputs are {outputs[0]} and {outputs[1]}; RAIN's DWPose/RTMPose gives SimCC " +
                $"simcc_x [1, {k}, {2 * w}] and simcc_y [1, {k}, {2 * h}] (133 COCO-WholeBody keypoints, split ratio 2) for a {w}x{h} input.");
        }

        return ([1, 3, h, w], [x, y]);
    };

    /// <summary>True when every static dimension of <paramref name="declared"/> equals <paramref name="wanted"/>'s (−1 fits anything).</summary>
    private static bool Fits(long[] declared, long[] wanted) => declared.Length == wanted.Length && declared.Zip(wanted).All(p => p.First == -1 || p.First == p.Second);

    private static void CheckContract(string manifest, string name, PartManifest part, PoseModel model)
    {
        var (path, inputs, outputs) = (model.Path, model.DeclaredInputs, model.DeclaredOutputs);
        if (!inputs.SequenceEqual(part.Inputs, ContractComparer.Instance) || !outputs.SequenceEqual(part.Outputs, ContractComparer.Instance))
        {
            throw new BundleException($"{manifest}: '{name}' ({path}) has inputs [{string.Join("; ", inputs.Select(c => c.ToString()))}] and outputs " +
                $"[{string.Join("; ", outputs.Select(c => c.ToString()))}], the manifest's contract says [{string.Join("; ", part.Inputs.Select(c => c.ToString()))}] and " +
                $"[{string.Join("; ", part.Outputs.Select(c => c.ToString()))}].");
        }
    }

    private sealed class ContractComparer : IEqualityComparer<Bundle.TensorContract>
    {
        public static readonly ContractComparer Instance = new();

        public bool Equals(Bundle.TensorContract? a, Bundle.TensorContract? b) =>
            a is not null && b is not null && a.Name == b.Name && a.DType == b.DType && a.Shape.AsSpan().SequenceEqual(b.Shape);

        public int GetHashCode(Bundle.TensorContract c) => c.Name.GetHashCode(StringComparison.Ordinal);
    }
}

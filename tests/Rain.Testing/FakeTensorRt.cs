using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Rain.Engine.Backends.TensorRt;
using Rain.Engine.Bundle;

namespace Rain.Testing;

/// <summary>
/// Compiles <c>fake_nvinfer.c</c> with the machine's C compiler into libnvinfer.so.10 and libnvonnxparser.so.10 (once
/// per test run), exposes the fake's control exports, and writes the fake's plans for whole bundles.
/// </summary>
public static unsafe class FakeTensorRt
{
    /// <summary>The TensorRT version the fake reports (getInferLibVersion 101600 unless a test changes it).</summary>
    public const string Version = "10.16.0";

    /// <summary>The compute capability of the fake CUDA driver's device (SM 9.0), for which the plans are written.</summary>
    public const int ComputeCapability = 90;

    private const long WorkspaceBytes = 1L << 30;

    /// <summary>A warning the pose guider's plan makes the fake log at deserialization (the backend keeps TensorRT's warnings for its description).</summary>
    public const string Warning = "fake: pose_guider: 2 layers run in FP32 (no FP16 tactic)";

    private const string WarningLine = "warn " + Warning;

    private static readonly Lazy<string> DirectoryLazy = new(Build);

    public static string Directory => DirectoryLazy.Value;

    /// <summary>The libonnxruntime.so next to the running tests (the NuGet package's, copied to every output folder).</summary>
    public static string OnnxRuntimeLibrary => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libonnxruntime.so");

    /// <summary>
    /// Writes a FAKEPLAN3 plan for every engine of the bundle in <paramref name="bundleFolder"/> in UNet form
    /// <paramref name="unet"/> and a valid <c>index.json</c> into <c>engines/trt10.16.0-sm90-fp16-&lt;form&gt;/</c>, so that
    /// the TensorRT backend, on the fake CUDA driver (SM 9.0) with this fake libnvinfer (RAIN_TENSORRT_DIR =
    /// <see cref="Directory"/>), finds current plans for every engine. The form's ONNX models are written first, as
    /// onnx2trt does (fp16 cut tensors, or the whole UNet). Each engine has exactly its contract and executes its ONNX
    /// file on ONNX Runtime (one thread) as a host function on the enqueue stream, so graph capture and replay run it
    /// like a real engine.
    /// The process that runs them needs RAIN_TENSORRT_DIR = <see cref="Directory"/> and the fake CUDA driver as its CUDA
    /// driver (RAIN_CUDA_DRIVER_PATH; its cuLaunchHostFunc runs the parts): a child process, since a process binds one
    /// CUDA driver for its life. Deserializing needs no driver.
    /// </summary>
    /// <param name="bundleFolder">The bundle (bundle.json and its ONNX parts); the plans name its ONNX files by absolute path.</param>
    /// <param name="onnxRuntimeLibrary">The libonnxruntime.so the fake loads when the process has none loaded yet;
    /// <see cref="OnnxRuntimeLibrary"/> by default. A process that already loaded ONNX Runtime (the .NET binding's) shares it.</param>
    /// <returns>The plan folder.</returns>
    /// <param name="unet">The UNet's form.</param>
    public static string WriteOnnxRuntimePlans(string bundleFolder, string? onnxRuntimeLibrary = null, UNetForm unet = UNetForm.Cut)
    {
        string library = Path.GetFullPath(onnxRuntimeLibrary ?? OnnxRuntimeLibrary);
        if (!File.Exists(library))
            throw new FileNotFoundException($"No ONNX Runtime library at {library} for the fake TensorRT's FAKEPLAN3 plans.", library);
        return WritePlans(bundleFolder, library, unet);
    }

    /// <summary>
    /// Like <see cref="WriteOnnxRuntimePlans"/>, but FAKEPLAN2 plans: the engines check that every tensor is bound and
    /// zero their outputs (a wiring test without numerics). Part i (0-based, the manifest's order) asks for
    /// 4096 + 256·(i + 1) bytes of scratch, in both formats.
    /// </summary>
    /// <returns>The plan folder.</returns>
    public static string WriteWiringPlans(string bundleFolder, UNetForm unet = UNetForm.Cut) => WritePlans(bundleFolder, onnxRuntimeLibrary: null, unet);

    private static string WritePlans(string bundleFolder, string? onnxRuntimeLibrary, UNetForm unet)
    {
        var bundle = ModelBundle.Load(bundleFolder, verifyHashes: false);
        var layout = UNetLayout.For(bundle.Manifest, unet, fp16: true);
        if (onnxRuntimeLibrary is not null)
            Rain.Models.Onnx.UNetForms.Write(bundle, unet, fp16: true);
        string folder = Path.Combine(bundle.Folder, "engines", EngineIndex.GpuKey(Version, ComputeCapability, fp16: true, unet));
        System.IO.Directory.CreateDirectory(folder);
        var entries = new Dictionary<string, EnginePlanEntry>();
        long scratch = 4096;
        foreach (var (name, part) in layout.Engines(bundle.Manifest))
        {
            var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"FAKEPLAN{(onnxRuntimeLibrary is null ? 2 : 3)} dm={scratch += 256}\n");
            string onnx = UNetLayout.OnnxPath(bundle, part);
            if (onnxRuntimeLibrary is not null)
                text.Append(CultureInfo.InvariantCulture, $"onnx {Path.GetFullPath(onnx)}\nort {onnxRuntimeLibrary}\n");
            if (name == "pose_guider")
                text.Append(WarningLine).Append('\n');
            foreach (var (c, mode) in part.Inputs.Select(c => (c, 'i')).Concat(part.Outputs.Select(c => (c, 'o'))))
                text.Append(CultureInfo.InvariantCulture, $"{mode} {DType(c.DType)} {c.Name} {c.Shape.Length} {string.Join(' ', c.Shape)}\n");
            byte[] plan = Encoding.UTF8.GetBytes(text.ToString());
            File.WriteAllBytes(Path.Combine(folder, name + ".plan"), plan);
            entries[name] = new EnginePlanEntry
            {
                Plan = name + ".plan",
                Key = EngineIndex.PartKey(part, Version, ComputeCapability, fp16: true, WorkspaceBytes),
                PlanSha256 = Convert.ToHexStringLower(SHA256.HashData(plan)),
            };
        }

        new EngineIndex { TensorRtVersion = Version, ComputeCapability = ComputeCapability, Precision = "fp16", UNet = layout.Tag, WorkspaceBytes = WorkspaceBytes, Parts = entries }.Write(folder);
        return folder;
    }

    /// <summary>TensorRT's DataType of a contract's element type.</summary>
    private static int DType(string dtype) => dtype switch
    {
        "float32" => 0,
        "float16" => 1,
        "int32" => 3,
        "uint8" => 5,
        "int64" => 8,
        _ => throw new ArgumentException($"no TensorRT type for '{dtype}'", nameof(dtype)),
    };

    private static string Build()
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("The fake libnvinfer is laid out for the Linux (Itanium) 10.x tables.");
        string source = Path.Combine(AppContext.BaseDirectory, "Native", "fake_nvinfer.c");
        string dir = Path.Combine(Path.GetTempPath(), $"rain-fake-trt-{Environment.ProcessId}");
        System.IO.Directory.CreateDirectory(dir);
        // FAKEPLAN3 engines call ONNX Runtime's C API (dlopen at run time): only its header is needed here.
        string package = typeof(FakeTensorRt).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "OnnxRuntimePackage")?.Value ?? "";
        string include = Path.Combine(package, "build", "native", "include");
        if (!File.Exists(Path.Combine(include, "onnxruntime_c_api.h")))
            throw new InvalidOperationException($"ONNX Runtime's C API header is not in {include} (the Microsoft.ML.OnnxRuntime package Rain.Testing references).");
        CCompiler.Run("cc", $"-shared -fPIC -O1 -Wall -Wno-unused-function -Wl,-soname,libnvinfer.so.10 -I\"{include}\" -o {dir}/libnvinfer.so.10 {source} -ldl");
        CCompiler.Run("cc", $"-shared -fPIC -O1 -Wall -Wno-unused-function -DFAKE_PARSER -o {dir}/libnvonnxparser.so.10 {source} -L{dir} -l:libnvinfer.so.10");
        return dir;
    }

    private static nint Export(nint lib, string name) => NativeLibrary.GetExport(lib, name);

    public static void Reset(nint lib) => ((delegate* unmanaged<void>)Export(lib, "fake_reset"))();

    public static void SetVersion(nint lib, int version) => ((delegate* unmanaged<int, void>)Export(lib, "fake_set_version"))(version);

    public static void SetWrongPImpl(nint lib, bool on) => ((delegate* unmanaged<int, void>)Export(lib, "fake_set_wrong_pimpl"))(on ? 1 : 0);

    public static int LiveObjects(nint lib) => ((delegate* unmanaged<int>)Export(lib, "fake_live_objects"))();

    public static void SetEnqueueFail(nint lib, bool on) => ((delegate* unmanaged<int, void>)Export(lib, "fake_set_enqueue_fail"))(on ? 1 : 0);

    public static nint LastStream(nint lib) => ((delegate* unmanaged<nint>)Export(lib, "fake_last_stream"))();

    /// <summary>The logger the fake keeps as TensorRT's global logger (the first one given to a factory in this process).</summary>
    public static nint GlobalLogger(nint lib) => ((delegate* unmanaged<nint>)Export(lib, "fake_global_logger"))();

    /// <summary>Logs through the fake's global logger, as TensorRT may at any time.</summary>
    public static void LogThroughGlobalLogger(nint lib, int severity, string message)
    {
        nint text = Marshal.StringToCoTaskMemUTF8(message);
        try
        {
            ((delegate* unmanaged<int, nint, void>)Export(lib, "fake_log_global"))(severity, text);
        }
        finally
        {
            Marshal.FreeCoTaskMem(text);
        }
    }

    public static string[] Events(nint lib) =>
        (Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)Export(lib, "fake_events"))()) ?? string.Empty)
            .Split(';', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>Tests that load the fake libnvinfer share its global state: they run one at a time.</summary>
[Xunit.CollectionDefinition(nameof(FakeTensorRtGroup), DisableParallelization = true)]
public sealed class FakeTensorRtGroup;

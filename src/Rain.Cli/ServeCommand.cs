using System.CommandLine;
using Rain.Engine.Api;
using Rain.Engine.Backends.Cuda;
using Rain.Engine.Backends.TensorRt;
using Rain.Engine.Bundle;
using Rain.Engine.Media;
using Rain.Engine.Pose;
using Rain.Serve;

namespace Rain.Cli;

/// <summary>
/// <c>rain serve</c>: RAIN's live app in the browser (<see cref="RainServer"/>). Without <c>--bundle</c> it serves the demo
/// bundle (random weights) with the stand-in DWPose models shipped in the repository, so it runs with no downloads.
/// </summary>
internal static class ServeCommand
{
    /// <summary>What the page says about the stand-in pose models (they are not a trained DWPose).</summary>
    internal const string StandInNote =
        "The pose models are the repository's stand-ins (tests/data/golden/dwpose), not a trained DWPose: they respond to colour " +
        "blocks in the picture, not to a face, so the drawn face does not follow yours. Export a bundle with RAIN's yolox_s.onnx and " +
        "dw-ll_ucoco_384.onnx (rain export --pose-detector/--pose-estimator) and pass --bundle for real tracking.";

    private const string RandomWeightsNote = " The demo bundle's diffusion weights are random too: the animated frames show the pipeline running, not a character.";

    public static Command Create()
    {
        var bundle = new Option<string?>("--bundle") { Description = "bundle folder with pose models (rain export --pose-detector/--pose-estimator); default: the demo bundle with the stand-in pose models" };
        var reference = new Option<string?>("--reference") { Description = "character image the page starts with (default: the demo's drawn character)" };
        var host = new Option<string>("--host") { Description = "address to listen on: 127.0.0.1 (default, this machine only), 0.0.0.0 or :: (every network interface)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "port (0: any free port)", DefaultValueFactory = _ => 8080 };
        var retarget = new Option<string?>("--retarget") { Description = "initial face retargeting, JSON (RAIN's slider names, or a translations list); default RAIN's live list" };
        var allow = new Option<string[]>("--allow-origin") { Description = "another origin allowed to open the WebSocket (e.g. https://kiosk.example); repeatable", AllowMultipleArgumentsPerToken = false };
        var upload = new Option<int>("--max-upload-mb") { Description = "largest reference upload, MB", DefaultValueFactory = _ => ServeOptions.DefaultMaxUploadBytes >> 20 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the noise (and of the demo bundle's random weights)", DefaultValueFactory = _ => 42 };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads (0 = all cores)", DefaultValueFactory = _ => 0 };
        var cache = new Option<string?>("--cache") { Description = "demo bundle cache folder (default $XDG_CACHE_HOME/rain or ~/.cache/rain)" };
        var command = new Command("serve", "RAIN's live app in the browser: a page with the webcam, the animated character, the pose image, latency numbers and the retargeting sliders.")
        {
            bundle, reference, host, port, retarget, allow, upload, seed, threads, cache,
        };
        var backend = new BackendOptions();
        backend.AddTo(command);
        command.SetAction(r => Run(new Request(r.GetValue(bundle), r.GetValue(reference), r.GetValue(host)!, r.GetValue(port), r.GetValue(retarget), r.GetValue(allow) ?? [],
            r.GetValue(upload), r.GetValue(seed), r.GetValue(threads), r.GetValue(cache), backend.Get(r)), Console.Out, Console.Error, CancellationToken.None));
        return command;
    }

    internal sealed record Request(string? Bundle, string? Reference, string Host, int Port, string? Retarget, string[] AllowOrigins, int MaxUploadMb, ulong Seed, int Threads, string? Cache, BackendChoice Backend);

    /// <summary>Serves until Ctrl+C (or <paramref name="stop"/>); <paramref name="started"/> is told the addresses once listening.</summary>
    internal static int Run(Request request, TextWriter o, TextWriter e, CancellationToken stop, Action<IReadOnlyList<string>>? started = null)
    {
        if (request.Port is < 0 or > 65535)
        {
            e.WriteLine($"rain serve: --port must be 0 to 65535; got {request.Port}.");
            return CliErrors.BadInput;
        }

        if (request.MaxUploadMb is < 1 or > 256)
        {
            e.WriteLine($"rain serve: --max-upload-mb must be 1 to 256; got {request.MaxUploadMb}.");
            return CliErrors.BadInput;
        }

        return CliErrors.Run("serve", e, () =>
        {
            var retarget = request.Retarget is null ? RetargetOptions.Live : RetargetOptions.Load(request.Retarget);
            string? note = null;
            string bundlePath;
            if (request.Bundle is null)
            {
                var standIns = StandInModels();
                // As rain demo: TensorRT and the GPU are probed before the export, and the demo's plans built (or reused) after it.
                var tensorRt = request.Backend.Backend == EngineBackend.TensorRt
                    ? TrtBackendProbe.ProbeRuntime(request.Backend.TensorRtDirectory, () => CudaDevice.Probe(request.Backend.Device)).Library
                    : null;
                bundlePath = DemoCommand.CachedBundle(request.Cache, request.Seed, o, e, standIns);
                if (tensorRt is not null)
                    DemoCommand.BuildPlans(bundlePath, tensorRt, request.Backend.Device, o, e);
                note = StandInNote + RandomWeightsNote;
            }
            else
            {
                bundlePath = request.Bundle;
                var manifest = ModelBundle.Load(bundlePath, verifyHashes: false).Manifest;
                if (manifest.PoseModels is null)
                    throw new BundleException($"{bundlePath}: the bundle has no pose models, so it cannot take camera frames; export it with --pose-detector and --pose-estimator (RAIN's yolox_s.onnx and dw-ll_ucoco_384.onnx), or run rain serve without --bundle for the demo.");
                if (IsStandIn(manifest.PoseModels))
                    note = StandInNote;
            }

            var size = ModelBundle.Load(bundlePath, verifyHashes: false).Manifest;
            var reference = request.Reference is null ? DemoScene.Reference(size.Width, size.Height) : ImageCodec.Load(request.Reference);
            var options = new ServeOptions
            {
                BundlePath = bundlePath,
                Reference = reference,
                ReferenceName = request.Reference is null ? "the demo's character" : Path.GetFileName(request.Reference),
                Engine = request.Backend.Apply(new EngineOptions { Seed = request.Seed, Threads = request.Threads, LatestFrameWins = true }),
                Retarget = retarget,
                Host = request.Host,
                Port = request.Port,
                AllowedOrigins = request.AllowOrigins,
                MaxUploadBytes = request.MaxUploadMb << 20,
                PoseModelNote = note,
                Log = e,
            };
            var server = RainServer.Create(options);
            try
            {
                try
                {
                    server.StartAsync(stop).GetAwaiter().GetResult();
                }
                catch (IOException x)
                {
                    throw new IOException($"cannot listen on {request.Host}:{request.Port}: {x.Message}", x);
                }

                o.WriteLine($"backend: {server.BackendDescription}");
                foreach (string address in server.Addresses)
                    o.WriteLine($"serving {address}/  (open it in a browser; /?autostart=1 starts the camera at once; Ctrl+C stops)");
                if (request.Host is not ("127.0.0.1" or "::1" or "localhost"))
                    o.WriteLine("listening on the network: anyone who can reach this port can use the engine. Browsers allow the webcam only on https:// or http://localhost, so put an HTTPS proxy in front for other machines.");
                started?.Invoke(server.Addresses);
                server.WaitForShutdownAsync(stop).GetAwaiter().GetResult();
            }
            finally
            {
                server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            return 0;
        });
    }

    /// <summary>The stand-in DWPose models copied beside the executable (from tests/data/golden/dwpose; not trained models).</summary>
    internal static (string Detector, string Estimator) StandInModels()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "standin");
        var models = (Path.Combine(folder, "yolox_standin.onnx"), Path.Combine(folder, "rtmpose_standin.onnx"));
        if (!File.Exists(models.Item1) || !File.Exists(models.Item2))
            throw new FileNotFoundException($"the stand-in pose models are not in {folder} (the build copies them from tests/data/golden/dwpose); pass --bundle with a bundle that has pose models.");
        return models;
    }

    private static bool IsStandIn(PoseModelsManifest models)
    {
        try
        {
            var (detector, _) = StandInModels();
            return string.Equals(models.Detector.Sha256, ModelBundle.Sha256Of(detector), StringComparison.OrdinalIgnoreCase);
        }
        catch (FileNotFoundException)
        {
            return false;
        }
    }
}

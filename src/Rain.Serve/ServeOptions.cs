using Rain.Engine.Api;
using Rain.Engine.Media;
using Rain.Engine.Pose;

namespace Rain.Serve;

/// <summary>What <c>rain serve</c> serves and how (see <see cref="RainServer"/>).</summary>
public sealed record ServeOptions
{
    /// <summary>Default most bytes of one camera-frame message (header and JPEG).</summary>
    public const int DefaultMaxFrameBytes = 2 << 20;

    /// <summary>Default most bytes of an uploaded reference image.</summary>
    public const int DefaultMaxUploadBytes = 16 << 20;

    /// <summary>The bundle folder (with pose models: the page streams camera frames).</summary>
    public required string BundlePath { get; init; }

    /// <summary>The reference the page starts with (the demo's character or <c>--reference</c>).</summary>
    public required RgbImage Reference { get; init; }

    /// <summary>How the configured reference is named on the page (a file name, never its path).</summary>
    public string ReferenceName { get; init; } = "reference";

    /// <summary>
    /// Engine options; the server turns on <see cref="EngineOptions.AttachPoseImages"/> and, unless the caller set
    /// <see cref="EngineOptions.LatestFrameWins"/> off on purpose (tests that need every frame), latest-frame-wins with
    /// a one-step pose queue, as a live camera wants.
    /// </summary>
    public EngineOptions Engine { get; init; } = new() { LatestFrameWins = true };

    /// <summary>The retargeting a stream starts with (RAIN's live list by default).</summary>
    public RetargetOptions Retarget { get; init; } = RetargetOptions.Live;

    /// <summary>Address to listen on: loopback unless the user asks (<c>--host 0.0.0.0</c> exposes it to the network).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Port (0: any free port; <see cref="RainServer.Addresses"/> says which).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Largest camera-frame message in bytes; a larger message closes the socket with 1009.</summary>
    public int MaxFrameBytes { get; init; } = DefaultMaxFrameBytes;

    /// <summary>Largest reference upload in bytes (decoded with the CLI's image limits besides).</summary>
    public int MaxUploadBytes { get; init; } = DefaultMaxUploadBytes;

    /// <summary>Largest JSON control message in bytes.</summary>
    public int MaxControlBytes { get; init; } = 64 << 10;

    /// <summary>Origins besides the page's own that may open the WebSocket (e.g. <c>https://kiosk.example</c>).</summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>
    /// A line the page shows about the pose models, e.g. that the demo's are stand-ins and not a trained DWPose;
    /// null shows nothing.
    /// </summary>
    public string? PoseModelNote { get; init; }

    /// <summary>How long a client may stay silent (no frame, no message, no pong) before its stream is freed.</summary>
    public TimeSpan ClientTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Where the server writes its one-line log messages (null: nowhere).</summary>
    public TextWriter? Log { get; init; }
}

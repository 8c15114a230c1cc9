using Rain.Engine.Api;

namespace Rain.Native;

/// <summary>What a <c>rain_engine*</c> stands for: the engine and the handle of its open session (0 when none).</summary>
internal sealed class NativeEngine(RainEngine engine)
{
    public RainEngine Engine { get; } = engine;

    /// <summary>Guards <see cref="SessionHandle"/> (session create/free against engine free).</summary>
    public Lock Gate { get; } = new();

    public nint SessionHandle { get; set; }
}

/// <summary>What a <c>rain_session*</c> stands for.</summary>
internal sealed class NativeSession(NativeEngine owner, AnimationSession session)
{
    public NativeEngine Owner { get; } = owner;

    public AnimationSession Session { get; } = session;
}

/// <summary>The live handles of the process.</summary>
internal static class Handles
{
    public static HandleTable<NativeEngine> Engines { get; } = new(0x52);

    public static HandleTable<NativeSession> Sessions { get; } = new(0x53);

    public static NativeEngine Engine(nint handle, string argument = "engine") =>
        handle == 0 ? throw new ArgumentException($"{argument} is NULL.")
        : Engines.TryGet(handle, out var e) ? e
        : throw new ArgumentException($"{argument} (0x{handle:x}) is not a live rain_engine handle: it was freed, or never came from rain_engine_load.");

    public static NativeSession Session(nint handle, string argument = "s") =>
        handle == 0 ? throw new ArgumentException($"{argument} is NULL.")
        : Sessions.TryGet(handle, out var s) ? s
        : throw new ArgumentException($"{argument} (0x{handle:x}) is not a live rain_session handle: it was freed (or its engine was), or never came from rain_session_create.");
}

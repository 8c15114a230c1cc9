using Rain.Engine.Api;
using Rain.Engine.Pose;
using Rain.Testing;

namespace Rain.Native.Tests;

/// <summary>The C ABI as a C program sees it: tests/Rain.Native.Tests/c/abi_test.c compiled against include/rain.h with the
/// flags pkg-config gives for the dist folder, run against the published librain.</summary>
[Collection(NativeCollection.Name)]
public sealed class CAbiTests(NativeDist native)
{
    private string Compile(string source, string name)
    {
        string dist = native.Dist;
        var env = new Dictionary<string, string> { ["PKG_CONFIG_PATH"] = Path.Combine(dist, "lib", "pkgconfig") };
        Requires.Program("pkg-config", "the C tests take their compiler flags from rain.pc");
        string flags = NativeDist.RunOk("pkg-config", ["--cflags", "--libs", "rain"], environment: env).Trim();
        Assert.Contains("-lrain", flags, StringComparison.Ordinal);
        string exe = Path.Combine(native.Root, name);
        NativeDist.RunOk("gcc", ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-D_POSIX_C_SOURCE=200809L", source, "-o", exe, .. flags.Split(' ', StringSplitOptions.RemoveEmptyEntries), "-lpthread"]);
        return exe;
    }

    [SkippableFact]
    public void FramesPushedAndReadOnTwoThreadsEqualTheManagedAPIsByteForByte()
    {
        string exe = Compile(Path.Combine(NativeDist.Repo, "tests", "Rain.Native.Tests", "c", "abi_test.c"), "abi_test");
        using var probe = RainEngine.Load(native.Bundle);
        var reference = Inputs.Reference();
        var poses = Inputs.Poses(22, probe.Width, probe.Height); // not a multiple of p: the partial chunk counts too
        string refPath = Path.Combine(native.Root, "ref.rgb"), posesPath = Path.Combine(native.Root, "poses.rgb"), outPath = Path.Combine(native.Root, "out.rgb");
        Inputs.WriteRaw(refPath, reference);
        Inputs.WriteRaw(posesPath, poses);

        string output = NativeDist.RunOk(exe, ["frames", native.Bundle, "11", refPath, $"{reference.Width}", $"{reference.Height}", posesPath, $"{poses.Length}", outPath]);

        byte[] expected = Inputs.ManagedFrames(native.Bundle, 11, reference, poses, out int frames);
        Assert.True(frames > 0, "the managed API made no frame");
        Assert.Contains($"frames {frames}\n", output, StringComparison.Ordinal);
        byte[] actual = File.ReadAllBytes(outPath);
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"frames differ from the managed API's at byte {expected.AsSpan().CommonPrefixLength(actual)}");
        Assert.Contains($"\"frames_out\":{frames}", output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void CameraFramesThroughTheCABIWithRetargetingEqualTheManagedAPIsByteForByte()
    {
        string exe = Compile(Path.Combine(NativeDist.Repo, "tests", "Rain.Native.Tests", "c", "abi_test.c"), "abi_test_camera");
        var first = DwposeGolden.Frame(0);
        var frames = Enumerable.Range(0, DwposeGolden.Frames).Select(DwposeGolden.Frame).Where(f => f.Width == first.Width && f.Height == first.Height).ToArray();
        frames = [.. frames, .. frames, frames[0]]; // odd count: the last chunk is partial
        var reference = Inputs.Reference();
        const string Sliders = "{\"face_length_ratio\": 0.9, \"eye_height_ratio\": 2.5, \"mouth_vertical_correction\": 0.1}";
        string refPath = Path.Combine(native.Root, "cam-ref.rgb"), framesPath = Path.Combine(native.Root, "cam-frames.rgb"), outPath = Path.Combine(native.Root, "cam-out.rgb");
        Inputs.WriteRaw(refPath, reference);
        Inputs.WriteRaw(framesPath, frames);

        string output = NativeDist.RunOk(exe, ["camera", native.PoseBundle, "4", refPath, $"{reference.Width}", $"{reference.Height}", framesPath,
            $"{first.Width}", $"{first.Height}", $"{frames.Length}", outPath, Sliders]);

        using var engine = RainEngine.Load(native.PoseBundle, new EngineOptions { Seed = 4 });
        using var session = engine.CreateSession(reference);
        session.Retarget = RetargetOptions.FromJson(Sliders);
        foreach (var f in frames)
            session.PushCameraFrame(f);
        session.CompleteInput();
        using var expected = new MemoryStream();
        int count = 0;
        while (session.ReadFrame() is { } frame)
        {
            using (frame)
                expected.Write(frame.Image.Pixels);
            count++;
        }

        Assert.Equal(frames.Length, count);
        Assert.Contains($"frames {count}\n", output, StringComparison.Ordinal);
        Assert.Contains($"\"frames_in\":{frames.Length}", output, StringComparison.Ordinal);
        Assert.True(expected.ToArray().AsSpan().SequenceEqual(File.ReadAllBytes(outPath)), "camera frames through the C ABI differ from the managed API's");

        var (exit, bad) = NativeDist.Run(exe, ["camera", native.PoseBundle, "4", refPath, $"{reference.Width}", $"{reference.Height}", framesPath,
            $"{first.Width}", $"{first.Height}", "1", outPath, "{\"eye_hieght_ratio\": 2}"]);
        Assert.Equal(1, exit);
        Assert.Contains("retarget:", bad, StringComparison.Ordinal);
        Assert.Contains("eye_hieght_ratio", bad, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void EveryErrorPathReturnsItsStatusAndAMessageWithoutCrashing()
    {
        string exe = Compile(Path.Combine(NativeDist.Repo, "tests", "Rain.Native.Tests", "c", "abi_test.c"), "abi_test_errors");
        var (exit, output) = NativeDist.Run(exe, ["errors", native.Bundle]);
        Assert.True(exit == 0, $"abi_test errors exited {exit}:\n{output}");
        Assert.DoesNotContain("FAIL", output, StringComparison.Ordinal);
        // The checks the issue names, each seen to run (a check that silently vanished would not be caught otherwise).
        foreach (string check in new[]
        {
            "load missing bundle: RAIN_ERR_BUNDLE", "load NULL path: RAIN_ERR_ARGUMENT", "create stride too small: RAIN_ERR_ARGUMENT",
            "push wrong size: RAIN_ERR_ARGUMENT", "push on a freed session: RAIN_ERR_ARGUMENT", "info foreign handle: RAIN_ERR_ARGUMENT",
            "second session is busy: RAIN_ERR_BUSY", "push into a full queue times out: RAIN_ERR_TIMEOUT", "read after every frame: RAIN_ERR_CLOSED",
            "tensorrt without TensorRT: RAIN_ERR_BACKEND_UNAVAILABLE", "ok last error is per thread", "0 failures",
        })
        {
            Assert.Contains(check, output, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public void TheCExampleBuildsWithPkgConfigAndWritesAFramePerPose()
    {
        string exe = Compile(Path.Combine(NativeDist.Repo, "examples", "c", "animate.c"), "animate_c");
        string outDir = Directory.CreateDirectory(Path.Combine(native.Root, "c-frames")).FullName;
        string output = NativeDist.RunOk(exe, [native.Bundle, outDir, "24"]);
        var files = Directory.GetFiles(outDir, "frame_*.ppm");
        Assert.NotEmpty(files);
        Assert.Contains($"{files.Length} frames of", output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void TheHeaderCompilesAsC11AndAsCpp()
    {
        _ = native.Dist;
        string include = Path.Combine(native.Dist, "include");
        string c = Path.Combine(native.Root, "header.c");
        File.WriteAllText(c, "#include <rain.h>\n_Static_assert(RAIN_ABI_VERSION == 1, \"abi\");\nint main(void) { return RAIN_OK; }\n");
        NativeDist.RunOk("gcc", ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only", "-I", include, c]);
        Requires.Program("g++", "the header is checked as C++ too");
        string cpp = Path.Combine(native.Root, "header.cpp");
        File.WriteAllText(cpp, "#include <rain.h>\nint main() { rain_engine *e = nullptr; return rain_engine_load(\"x\", nullptr, &e) == RAIN_OK; }\n");
        NativeDist.RunOk("g++", ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only", "-I", include, cpp]);
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using Rain.Engine.Api;
using Rain.Testing;
using Xunit.Abstractions;

namespace Rain.Serve.Tests;

/// <summary>
/// The page in a real browser: Debian's chromium, headless, driven by chromedriver (Selenium), with a fake camera that
/// plays a .y4m made by ffmpeg from a golden camera frame (one in which the stand-in detector finds a person, so a face is
/// drawn), against `rain serve` on Kestrel on loopback.
/// </summary>
public sealed class BrowserTests(ServeFixture bundle, ITestOutputHelper output) : IClassFixture<ServeFixture>
{
    private const string Chromium = "/usr/bin/chromium";
    private const string ChromeDriver = "/usr/bin/chromedriver";

    /// <summary>Where the screenshot is kept: $RAIN_TEST_ARTIFACTS, or artifacts/ beside the test assembly.</summary>
    public static string ArtifactFolder =>
        Environment.GetEnvironmentVariable("RAIN_TEST_ARTIFACTS") is { Length: > 0 } a ? a : Path.Combine(AppContext.BaseDirectory, "artifacts");

    [SkippableFact]
    public async Task ThePageAutostartsTheCameraDrawsAnimatedFramesAndASliderMovesThePose()
    {
        Requires.Tool(File.Exists(Chromium), $"{Chromium} is missing (Debian package chromium) — the page is tested in a real browser");
        Requires.Tool(File.Exists(ChromeDriver), $"{ChromeDriver} is missing (Debian package chromium-driver) — WebDriver drives the browser");
        string ffmpeg = Requires.Program("ffmpeg", "the fake camera's .y4m is made with ffmpeg");

        string work = Directory.CreateTempSubdirectory("rain-serve-browser-").FullName;
        try
        {
            // The fake camera: golden camera frame 0 (320x240), 10 fps, as chromium's --use-file-for-fake-video-capture reads it.
            string y4m = Path.Combine(work, "camera.y4m");
            Run(ffmpeg, $"-y -loglevel error -loop 1 -i \"{DwposeGolden.PathOf("frames/frame_00.png")}\" -frames:v 20 -r 10 -pix_fmt yuv420p \"{y4m}\"");
            Assert.True(new FileInfo(y4m).Length > 320 * 240, "ffmpeg wrote the .y4m");

            var server = RainServer.Create(bundle.Options(new EngineOptions { Seed = 7, LatestFrameWins = true }) with { Host = "127.0.0.1", Port = 0, PoseModelNote = Rain.Cli.ServeCommand.StandInNote });
            await using var owned = server;
            await server.StartAsync();
            string address = server.Addresses.Single();
            Assert.StartsWith("http://127.0.0.1:", address, StringComparison.Ordinal);

            var options = new ChromeOptions { BinaryLocation = Chromium };
            options.AddArguments("--headless=new", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                $"--use-file-for-fake-video-capture={y4m}", "--autoplay-policy=no-user-gesture-required", "--window-size=1280,860",
                "--disable-dev-shm-usage", "--disable-gpu", $"--user-data-dir={Path.Combine(work, "profile")}");
            if (Environment.UserName == "root")
                options.AddArgument("--no-sandbox"); // chromium refuses to run as root with its sandbox
            using var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromeDriver)!, Path.GetFileName(ChromeDriver));
            service.SuppressInitialDiagnosticInformation = true;
            service.HideCommandPromptWindow = true;
            using var driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(120));
            var js = (IJavaScriptExecutor)driver;
            driver.Navigate().GoToUrl(address + "/?autostart=1");

            long Shown() => Convert.ToInt64(js.ExecuteScript("return window.rain.shown;"), CultureInfo.InvariantCulture);
            string Status() => (string?)js.ExecuteScript("return document.getElementById('status').textContent;") ?? "";
            async Task<long> WaitShown(long atLeast, int seconds)
            {
                var clock = Stopwatch.StartNew();
                long shown;
                while ((shown = Shown()) < atLeast && clock.Elapsed.TotalSeconds < seconds)
                    await Task.Delay(200);
                Assert.True(shown >= atLeast, $"{shown} frames shown after {seconds} s (wanted {atLeast}); the page says: {Status()}");
                return shown;
            }

            // Animated frames arrive and are drawn, and keep coming.
            long first = await WaitShown(3, 240);
            long later = await WaitShown(first + 4, 120);
            Assert.True(later > first);
            Assert.True(long.Parse(CounterText(driver, later), CultureInfo.InvariantCulture) >= later, "the page's frame counter shows the frames drawn");

            // The animated canvas is not blank: its pixels vary (the engine's frame, not a cleared canvas).
            var range = (IReadOnlyCollection<object>)js.ExecuteScript(
                "const c=document.getElementById('out');const d=c.getContext('2d').getImageData(0,0,c.width,c.height).data;" +
                "let lo=255,hi=0;const seen=new Set();for(let i=0;i<d.length;i+=4){const v=d[i]+d[i+1]+d[i+2];lo=Math.min(lo,d[i]);hi=Math.max(hi,d[i]);seen.add(v);}" +
                "return [c.width,c.height,lo,hi,seen.size];")!;
            var r = range.Select(o => Convert.ToInt64(o, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal((128, 64), ((int)r[0], (int)r[1]));
            Assert.True(r[3] - r[2] > 20 && r[4] > 50, $"the animated canvas looks blank: red {r[2]}..{r[3]}, {r[4]} distinct colours");

            // The pose preview: steady for a still camera, then a slider moves the face.
            const string PoseHash = "const c=document.getElementById('pose');const d=c.getContext('2d').getImageData(0,0,c.width,c.height).data;" +
                "let h=0,lit=0;for(let i=0;i<d.length;i++){h=(Math.imul(h,31)+d[i])|0;if(d[i]>0)lit++;}return [h,lit];";
            (long Hash, long Lit) Pose()
            {
                var p = ((IReadOnlyCollection<object>)js.ExecuteScript(PoseHash)!).Select(o => Convert.ToInt64(o, CultureInfo.InvariantCulture)).ToArray();
                return (p[0], p[1]);
            }

            var before = Pose();
            for (int i = 0; i < 3; i++)
            {
                await WaitShown(Shown() + 1, 120);
                var again = Pose();
                Assert.True(again == before, "the pose preview changes although the camera shows a still picture");
            }

            Assert.True(before.Lit > 0, "the pose preview is black: no face was drawn from the fake camera");
            var slider = driver.FindElement(By.Id("slider-eye_height_ratio"));
            slider.SendKeys(Keys.Home); // 3.0 → 0.1: flat eyes
            driver.FindElement(By.Id("slider-face_length_ratio")).SendKeys(Keys.End); // 0.75 → 1.5
            Assert.Equal("0.1", slider.GetAttribute("value"));
            var clock = Stopwatch.StartNew();
            var after = Pose();
            while (after == before && clock.Elapsed.TotalSeconds < 120)
            {
                await Task.Delay(250);
                after = Pose();
            }

            Assert.True(after != before, $"moving the sliders did not change the pose preview within 120 s ({Shown()} frames shown)");

            // The numbers on the page and the status endpoint.
            await WaitShown(Shown() + 2, 120);
            await Task.Delay(1200); // the page updates its numbers twice a second and reports glass-to-glass to the server
            string g2g = driver.FindElement(By.Id("g2g")).Text;
            Assert.Matches(@"^\d+ / \d+ ms$", g2g);
            Assert.NotEqual("0.0", driver.FindElement(By.Id("fps")).Text);
            Assert.Contains("not a trained DWPose", driver.FindElement(By.Id("posenote")).Text, StringComparison.Ordinal);
            using (var http = new HttpClient())
            {
                var status = JsonDocument.Parse(await http.GetStringAsync(new Uri(address + "/api/status"))).RootElement;
                Assert.Equal("streaming", status.GetProperty("state").GetString());
                Assert.True(status.GetProperty("frames_out").GetInt64() > 0);
                Assert.True(status.GetProperty("glass_to_glass_ms").GetProperty("p50").GetDouble() > 0);
                output.WriteLine($"status: {status}");
            }

            output.WriteLine($"page: shown {Shown()}, fps {driver.FindElement(By.Id("fps")).Text}, glass-to-glass {g2g}, server {driver.FindElement(By.Id("server")).Text}, dropped {driver.FindElement(By.Id("dropped")).Text}; status line: {Status()}");
            Directory.CreateDirectory(ArtifactFolder);
            string shot = Path.Combine(ArtifactFolder, "rain-serve-page.png");
            ((ITakesScreenshot)driver).GetScreenshot().SaveAsFile(shot);
            output.WriteLine($"screenshot: {shot}");
            Assert.True(new FileInfo(shot).Length > 10_000);
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    // The page's frame counter, once it has caught up with at least `atLeast` frames.
    private static string CounterText(IWebDriver driver, long atLeast)
    {
        var clock = Stopwatch.StartNew();
        string text = driver.FindElement(By.Id("shown")).Text;
        while ((!long.TryParse(text, CultureInfo.InvariantCulture, out long n) || n < atLeast) && clock.Elapsed.TotalSeconds < 5)
        {
            Thread.Sleep(100);
            text = driver.FindElement(By.Id("shown")).Text;
        }

        return text;
    }

    private static void Run(string program, string arguments)
    {
        using var p = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardError = true, UseShellExecute = false })!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{program} {arguments} failed: {err}");
    }
}

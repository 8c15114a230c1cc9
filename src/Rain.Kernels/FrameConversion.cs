namespace Rain.Kernels;

/// <summary>
/// Frame conversion at the host boundary (<c>kernels/frame_convert.cu</c>): pose images arrive as RGB8 interleaved
/// <c>[images, H, W, 3]</c> and enter the networks as fp16 planar <c>[images, 3, H, W]</c> holding byte/255;
/// decoded frames leave as fp16 planar and go out as RGB8 with x clamped to [0, 1], scaled by 255 and rounded half to
/// even (NaN → 0). This class is the launcher and the CPU reference; the kernel matches it bit for bit (one correctly
/// rounded division or multiplication, one rounding to fp16 or to an integer). The references are named after the
/// conversion of each entry point (<see cref="Rgb8ToPlanar(ReadOnlySpan{byte}, Span{Half}, int, int, int)"/> is the reference of
/// <c>rgb8_to_planar_f16</c>, launched by <see cref="Rgb8ToPlanarLaunch"/>, and so on).
/// </summary>
public static class FrameConversion
{
    /// <summary>The op (<c>kernels/frame_convert.cu</c>).</summary>
    public const string Op = "frame_convert";

    private const uint Block = 256;

    /// <summary>CPU reference of <c>rgb8_to_planar_f16</c>.</summary>
    public static void Rgb8ToPlanar(ReadOnlySpan<byte> rgb, Span<Half> planar, int images, int height, int width)
    {
        int pixels = CheckShape(images, height, width, rgb.Length, planar.Length);
        for (int i = 0; i < images; i++)
        {
            var src = rgb.Slice(i * pixels * 3, pixels * 3);
            var dst = planar.Slice(i * pixels * 3, pixels * 3);
            for (int p = 0; p < pixels; p++)
            {
                for (int c = 0; c < 3; c++)
                    dst[(c * pixels) + p] = (Half)(src[(p * 3) + c] / 255f);
            }
        }
    }

    /// <summary>CPU reference of <c>planar_f16_to_rgb8</c>.</summary>
    public static void PlanarToRgb8(ReadOnlySpan<Half> planar, Span<byte> rgb, int images, int height, int width)
    {
        int pixels = CheckShape(images, height, width, rgb.Length, planar.Length);
        for (int i = 0; i < images; i++)
        {
            var src = planar.Slice(i * pixels * 3, pixels * 3);
            var dst = rgb.Slice(i * pixels * 3, pixels * 3);
            for (int p = 0; p < pixels; p++)
            {
                for (int c = 0; c < 3; c++)
                    dst[(p * 3) + c] = ToByte((float)src[(c * pixels) + p]);
            }
        }
    }

    /// <summary>CPU reference of <c>rgb8_to_planar_u8</c>: interleaved RGB8 to planar bytes (the pose guider's uint8 input).</summary>
    public static void Rgb8ToPlanar(ReadOnlySpan<byte> rgb, Span<byte> planar, int images, int height, int width)
    {
        int pixels = CheckShape(images, height, width, rgb.Length, planar.Length);
        for (int i = 0; i < images; i++)
        {
            var src = rgb.Slice(i * pixels * 3, pixels * 3);
            var dst = planar.Slice(i * pixels * 3, pixels * 3);
            for (int p = 0; p < pixels; p++)
            {
                for (int c = 0; c < 3; c++)
                    dst[(c * pixels) + p] = src[(p * 3) + c];
            }
        }
    }

    /// <summary>CPU reference of <c>planar_f32_to_rgb8</c>: float32 planar frames (a TensorRT decoder's output) to RGB8.</summary>
    public static void PlanarToRgb8(ReadOnlySpan<float> planar, Span<byte> rgb, int images, int height, int width)
    {
        int pixels = CheckShape(images, height, width, rgb.Length, planar.Length);
        for (int i = 0; i < images; i++)
        {
            var src = planar.Slice(i * pixels * 3, pixels * 3);
            var dst = rgb.Slice(i * pixels * 3, pixels * 3);
            for (int p = 0; p < pixels; p++)
            {
                for (int c = 0; c < 3; c++)
                    dst[(p * 3) + c] = ToByte(src[(c * pixels) + p]);
            }
        }
    }

    /// <summary>One channel value to a byte: clamp to [0, 1] (NaN → 0), ×255, round half to even.</summary>
    public static byte ToByte(float x)
    {
        x = float.IsNaN(x) ? 0f : Math.Clamp(x, 0f, 1f);
        return (byte)MathF.Round(x * 255f, MidpointRounding.ToEven);
    }

    /// <summary>Describes the launch of <c>rgb8_to_planar_f16</c> (RGB8 at <paramref name="rgb"/>, fp16 at <paramref name="planar"/>).</summary>
    public static KernelLaunch Rgb8ToPlanarLaunch(ulong rgb, ulong planar, int images, int height, int width)
    {
        int pixels = CheckShape(images, height, width, null, null);
        CheckAddresses(rgb, planar);
        return new KernelLaunch(Op, "rgb8_to_planar_f16", Grid(pixels, images), new Dim3(Block), 0,
            new KernelArguments().Add(rgb).Add(planar).Add((uint)pixels));
    }

    /// <summary>Describes the launch of <c>planar_f16_to_rgb8</c> (fp16 at <paramref name="planar"/>, RGB8 at <paramref name="rgb"/>).</summary>
    public static KernelLaunch PlanarToRgb8Launch(ulong planar, ulong rgb, int images, int height, int width)
    {
        int pixels = CheckShape(images, height, width, null, null);
        CheckAddresses(rgb, planar);
        return new KernelLaunch(Op, "planar_f16_to_rgb8", Grid(pixels, images), new Dim3(Block), 0,
            new KernelArguments().Add(planar).Add(rgb).Add((uint)pixels));
    }

    /// <summary>Describes the launch of <c>rgb8_to_planar_u8</c> (RGB8 at <paramref name="rgb"/>, planar bytes at <paramref name="planar"/>).</summary>
    public static KernelLaunch Rgb8ToPlanarU8Launch(ulong rgb, ulong planar, int images, int height, int width)
    {
        int pixels = CheckShape(images, height, width, null, null);
        if (rgb == 0 || planar == 0)
            throw new ArgumentException($"frame_convert: the RGB8 and planar tensors must be non-null device addresses; got rgb 0x{rgb:X}, planar 0x{planar:X}.");
        return new KernelLaunch(Op, "rgb8_to_planar_u8", Grid(pixels, images), new Dim3(Block), 0,
            new KernelArguments().Add(rgb).Add(planar).Add((uint)pixels));
    }

    /// <summary>Describes the launch of <c>planar_f32_to_rgb8</c> (fp32 at <paramref name="planar"/>, RGB8 at <paramref name="rgb"/>).</summary>
    public static KernelLaunch PlanarF32ToRgb8Launch(ulong planar, ulong rgb, int images, int height, int width)
    {
        int pixels = CheckShape(images, height, width, null, null);
        if (rgb == 0 || planar == 0 || planar % 4 != 0)
            throw new ArgumentException($"frame_convert: the RGB8 and fp32 tensors must be non-null device addresses, the fp32 one 4-byte aligned; got rgb 0x{rgb:X}, planar 0x{planar:X}.");
        return new KernelLaunch(Op, "planar_f32_to_rgb8", Grid(pixels, images), new Dim3(Block), 0,
            new KernelArguments().Add(planar).Add(rgb).Add((uint)pixels));
    }

    private static Dim3 Grid(int pixels, int images) => KernelLaunch.Blocks(pixels, Block, "frame_convert") with { Y = (uint)images };

    private static void CheckAddresses(ulong rgb, ulong planar)
    {
        if (rgb == 0 || planar == 0 || planar % 2 != 0)
            throw new ArgumentException($"frame_convert: the RGB8 and fp16 tensors must be non-null device addresses, the fp16 one 2-byte aligned; got rgb 0x{rgb:X}, planar 0x{planar:X}.");
    }

    private static int CheckShape(int images, int height, int width, int? rgbLength, int? planarLength)
    {
        if (images < 1 || images > 65535 || height < 1 || width < 1)
            throw new ArgumentException($"frame_convert: images must be in 1..65535 and height, width positive; got {images} × {height} × {width}.");
        long pixels = (long)height * width;
        long elements = pixels * 3 * images;
        if (elements > int.MaxValue)
            throw new ArgumentException($"frame_convert: {images} images of {height} × {width} × 3 are more than {int.MaxValue} values.");
        if (rgbLength is int r && planarLength is int p && (r != elements || p != elements))
            throw new ArgumentException($"frame_convert: the RGB8 and planar tensors must each hold images·H·W·3 = {elements} values; got {r} and {p}.");
        return (int)pixels;
    }
}

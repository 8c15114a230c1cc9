namespace Rain.Engine.Media;

/// <summary>
/// The tensors RAIN feeds its networks, made from 8-bit RGB images exactly as its Python preprocessing makes them
/// (spec §2.1, §2.2, §2.4). All outputs are planar float32 <c>[3, H, W]</c>.
/// </summary>
public static class Preprocess
{
    /// <summary>CLIP's normalisation mean (OpenAI CLIP, transformers' <c>OPENAI_CLIP_MEAN</c>).</summary>
    public static ReadOnlySpan<float> ClipMean => [0.48145466f, 0.4578275f, 0.40821073f];

    /// <summary>CLIP's normalisation std (<c>OPENAI_CLIP_STD</c>).</summary>
    public static ReadOnlySpan<float> ClipStd => [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>
    /// transformers' <c>CLIPImageProcessor()</c> with its defaults: resize the shorter side to <paramref name="size"/>
    /// with PIL bicubic (the longer side to ⌊size·long/short⌋), centre-crop size×size (offsets ⌊(dim − size)/2⌋),
    /// multiply by 1/255, normalise with CLIP's mean and std. Returns <c>[3, size, size]</c>.
    /// </summary>
    public static float[] ClipPixels(RgbImage image, int size = 224)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        bool wide = image.Width >= image.Height;
        int shortSide = wide ? image.Height : image.Width, longSide = wide ? image.Width : image.Height;
        int newLong = (int)((long)size * longSide / shortSide);
        int w = wide ? newLong : size, h = wide ? size : newLong;
        var resized = PilResize.Resize(image, w, h, ResampleFilter.Bicubic);
        int top = (h - size) / 2, left = (w - size) / 2;
        var result = new float[3 * size * size];
        var mean = ClipMean;
        var std = ClipStd;
        for (int c = 0; c < 3; c++)
        {
            for (int y = 0; y < size; y++)
            {
                for (int x = 0; x < size; x++)
                {
                    float v = (float)(resized[left + x, top + y, c] * (1.0 / 255.0));
                    result[(((c * size) + y) * size) + x] = (v - mean[c]) / std[c];
                }
            }
        }

        return result;
    }

    /// <summary>
    /// diffusers' <c>VaeImageProcessor</c> (0.24): resize to <paramref name="width"/>×<paramref name="height"/> with PIL
    /// Lanczos (no crop: the aspect ratio is not kept), /255 in float32, then 2x − 1. Returns <c>[3, H, W]</c> in [−1, 1].
    /// </summary>
    public static float[] VaePixels(RgbImage image, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        var resized = PilResize.Resize(image, width, height, ResampleFilter.Lanczos);
        var result = new float[3 * width * height];
        int plane = width * height;
        byte[] p = resized.Pixels;
        for (int i = 0; i < plane; i++)
        {
            for (int c = 0; c < 3; c++)
                result[(c * plane) + i] = (2f * (p[(i * 3) + c] / 255f)) - 1f;
        }

        return result;
    }

    /// <summary>
    /// A pose image as the pose guider takes it: u8 / 255 in float32, planar <c>[3, H, W]</c>, written into
    /// <paramref name="destination"/>. The image must already have the stream's size: pose canvases are drawn at that
    /// size, and a silently resized pose would move the landmarks.
    /// </summary>
    /// <exception cref="ArgumentException">The image size differs from <paramref name="width"/>×<paramref name="height"/>.</exception>
    public static void PosePixels(RgbImage image, int width, int height, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Width != width || image.Height != height)
            throw new ArgumentException($"A pose image must be {width}x{height} (the stream size); got {image.Width}x{image.Height}.", nameof(image));
        int plane = width * height;
        if (destination.Length != 3 * plane)
            throw new ArgumentException($"The pose destination must hold 3·{width}·{height} = {3 * plane} floats; got {destination.Length}.", nameof(destination));
        byte[] p = image.Pixels;
        for (int i = 0; i < plane; i++)
        {
            destination[i] = p[i * 3] / 255f;
            destination[plane + i] = p[(i * 3) + 1] / 255f;
            destination[(2 * plane) + i] = p[(i * 3) + 2] / 255f;
        }
    }

    /// <summary>
    /// A decoded frame (planar float <c>[3, H, W]</c>, nominally [0, 1]) to 8-bit RGB: clamp to [0, 1], ×255, round half
    /// to even (numpy's rounding of the same values).
    /// </summary>
    public static RgbImage FrameToRgb(ReadOnlySpan<float> planar, int width, int height)
    {
        int plane = width * height;
        if (planar.Length != 3 * plane)
            throw new ArgumentException($"A {width}x{height} frame has {3 * plane} values; got {planar.Length}.", nameof(planar));
        var rgb = new byte[3 * plane];
        FrameToRgb(planar, width, height, rgb);
        return new RgbImage(width, height, rgb);
    }

    /// <summary>
    /// <see cref="FrameToRgb(ReadOnlySpan{float}, int, int)"/> into a caller's buffer of width·height·3 bytes (no allocation).
    /// </summary>
    public static void FrameToRgb(ReadOnlySpan<float> planar, int width, int height, Span<byte> rgb)
    {
        int plane = width * height;
        if (planar.Length != 3 * plane || rgb.Length != 3 * plane)
            throw new ArgumentException($"A {width}x{height} frame has {3 * plane} values and {3 * plane} bytes; got {planar.Length} and {rgb.Length}.", nameof(planar));
        // The same conversion the frame_convert kernel implements; its CPU reference is the one definition.
        Rain.Kernels.FrameConversion.PlanarToRgb8(planar, rgb, 1, height, width);
    }
}

namespace Rain.Engine.Pose;

/// <summary>
/// OpenCV's filled circle (<c>cv2.circle</c> with thickness −1, 8-connected, no sub-pixel shift; spec §8.3), bit-exact:
/// the midpoint algorithm filling whole rows, rows outside the image skipped and x ranges clipped.
/// </summary>
internal static class Circle
{
    public static void Fill(Span<byte> image, int width, int height, int stride, int cx, int cy, int radius, byte c0, byte c1, byte c2)
    {
        // A circle whose bounding box misses the image draws nothing (and its rows need not be walked).
        if ((long)cx + radius < 0 || (long)cx - radius >= width || (long)cy + radius < 0 || (long)cy - radius >= height)
            return;
        long err = 0, dx = radius, dy = 0, plus = 1, minus = (2L * radius) - 1;
        while (dx >= dy)
        {
            Row(image, width, height, stride, cy - dy, cx - dx, cx + dx, c0, c1, c2);
            Row(image, width, height, stride, cy + dy, cx - dx, cx + dx, c0, c1, c2);
            Row(image, width, height, stride, cy - dx, cx - dy, cx + dy, c0, c1, c2);
            Row(image, width, height, stride, cy + dx, cx - dy, cx + dy, c0, c1, c2);
            dy++;
            err += plus;
            plus += 2;
            if (err > 0)
            {
                err -= minus;
                dx--;
                minus -= 2;
            }
        }
    }

    private static void Row(Span<byte> image, int width, int height, int stride, long y, long x0, long x1, byte c0, byte c1, byte c2)
    {
        if (y < 0 || y >= height)
            return;
        x0 = Math.Max(x0, 0);
        x1 = Math.Min(x1, width - 1);
        var row = image.Slice((int)y * stride);
        for (long x = x0; x <= x1; x++)
        {
            int i = (int)x * 3;
            row[i] = c0;
            row[i + 1] = c1;
            row[i + 2] = c2;
        }
    }
}

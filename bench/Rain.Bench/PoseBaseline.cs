namespace Rain.Bench;

/// <summary>
/// The pose front end's own work written the straightforward way, as a baseline for <see cref="PoseFrontEndBenchmarks"/>:
/// the same stages (centre crop, bilinear resize to 512², letterbox to 640², YOLOX decoding and NMS, the affine crop and
/// normalisation, SimCC argmax, neck and face, face cache with damping, translations, 26 circles) with per-pixel double
/// loops, weights computed per pixel, fresh arrays and lists every frame, LINQ for sorting and damping, and RAIN's
/// growing cache. Its pictures are close to the front end's, not bit-exact: it exists to measure against.
/// </summary>
internal sealed class PoseBaseline
{
    private static readonly int[][] Patterns =
    [
        [1, 2], [4], [8], [12], [15, 14], [17], [18, 19], [20], [23], [24, 25], [26], [60], [62], [64], [66], [33, 30],
        [36, 37], [37, 38], [38, 39], [40, 39], [41], [42, 43], [43, 44], [44, 45], [46], [47, 42],
    ];

    private static readonly (int L, int R, double Hs, double Vs, double Ht, double Vt, int A, int B, int P, int Q)[] Translations =
    [
        (0, 68, 1, 0.75, 0, 0, 2, 14, -1, -1), (36, 42, 1.6, 3, 0, 0, 0, 3, -1, -1), (42, 48, 1.6, 3, 0, 0, 0, 3, -1, -1),
        (60, 68, 0.67, 1.2, 0, 0, 0, 4, -1, -1), (36, 42, 1, 1, 0.1, 0, 0, 3, 33, 13), (42, 48, 1, 1, 0.15, 0, 0, 3, 33, 13),
        (36, 42, 1, 1, -0.15, 0, 0, 3, 33, 3), (42, 48, 1, 1, -0.1, 0, 0, 3, 33, 3), (36, 42, 1, 1, 0, 0.1, 0, 3, 19, 6),
        (42, 48, 1, 1, 0, 0.1, 0, 3, 26, 12), (60, 68, 1, 1, 0.15, 0, 0, 4, 33, 13), (60, 68, 1, 1, -0.15, 0, 0, 4, 33, 3),
        (4, 13, 0.9, 1, 0, 0, 0, 8, -1, -1),
    ];

    private readonly List<double[]> _cache = [];

    /// <summary>One frame: <paramref name="rgb"/> (w×h) and the models' raw outputs in, a new 512² pose image out.</summary>
    public byte[] Process(byte[] rgb, int w, int h, double? crop, float[] detector, float[] simccX, float[] simccY)
    {
        var (image, iw, ih) = (rgb, w, h);
        if (crop is double c)
        {
            int d = (int)(Math.Min(w, h) * c), mh = (h - d) / 2, mw = (w - d) / 2;
            (iw, ih) = (w - (2 * mw), h - (2 * mh));
            image = new byte[iw * ih * 3];
            for (int y = 0; y < ih; y++)
                for (int x = 0; x < iw; x++)
                    for (int k = 0; k < 3; k++)
                        image[(((y * iw) + x) * 3) + k] = rgb[((((y + mh) * w) + x + mw) * 3) + k];
        }

        if (iw != 512 || ih != 512)
            (image, iw, ih) = (Resize(image, iw, ih, 512, 512), 512, 512);
        var input = Letterbox(image);
        var box = Detect(detector, 1.25) ?? [0, 0, 512, 512];
        double cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2, sw = (box[2] - box[0]) * 1.25, sh = (box[3] - box[1]) * 1.25;
        (sw, sh) = sw > sh * 0.75 ? (sw, sw / 0.75) : (sh * 0.75, sh);
        var poseInput = Crop(image, cx, cy, sw, sh);
        GC.KeepAlive(input);
        GC.KeepAlive(poseInput);
        var face = Face(simccX, simccY, cx, cy, sw, sh);
        return Draw(Damp(face));
    }

    private static byte[] Resize(byte[] src, int w, int h, int ow, int oh)
    {
        var dst = new byte[ow * oh * 3];
        double sx = (double)w / ow, sy = (double)h / oh;
        for (int y = 0; y < oh; y++)
        {
            for (int x = 0; x < ow; x++)
            {
                double fx = ((x + 0.5) * sx) - 0.5, fy = ((y + 0.5) * sy) - 0.5;
                for (int k = 0; k < 3; k++)
                    dst[(((y * ow) + x) * 3) + k] = (byte)Math.Clamp(Math.Round(Bilinear(src, w, h, fx, fy, k)), 0, 255);
            }
        }

        return dst;
    }

    private static double Bilinear(byte[] src, int w, int h, double fx, double fy, int k)
    {
        int x0 = (int)Math.Floor(fx), y0 = (int)Math.Floor(fy);
        double ax = fx - x0, ay = fy - y0, sum = 0;
        for (int dy = 0; dy < 2; dy++)
        {
            for (int dx = 0; dx < 2; dx++)
            {
                int xx = Math.Clamp(x0 + dx, 0, w - 1), yy = Math.Clamp(y0 + dy, 0, h - 1);
                sum += src[(((yy * w) + xx) * 3) + k] * (dx == 0 ? 1 - ax : ax) * (dy == 0 ? 1 - ay : ay);
            }
        }

        return sum;
    }

    private static float[] Letterbox(byte[] image)
    {
        var input = new float[3 * 640 * 640];
        Array.Fill(input, 114f);
        var resized = Resize(image, 512, 512, 640, 640);
        for (int y = 0; y < 640; y++)
            for (int x = 0; x < 640; x++)
                for (int k = 0; k < 3; k++)
                    input[(k * 640 * 640) + (y * 640) + x] = resized[(((y * 640) + x) * 3) + k];
        return input;
    }

    private static double[]? Detect(float[] raw, double ratio)
    {
        var candidates = new List<(double[] Box, double Score, int Class)>();
        int row = 0;
        foreach (int stride in new[] { 8, 16, 32 })
        {
            int g = 640 / stride;
            for (int n = 0; n < g * g; n++, row++)
            {
                var r = raw.AsSpan(row * 85, 85);
                double bx = (r[0] + (n % g)) * stride, by = (r[1] + (n / g)) * stride, bw = Math.Exp(r[2]) * stride, bh = Math.Exp(r[3]) * stride;
                var box = new[] { (bx - (bw / 2)) / ratio, (by - (bh / 2)) / ratio, (bx + (bw / 2)) / ratio, (by + (bh / 2)) / ratio };
                for (int c = 0; c < 80; c++)
                {
                    double score = r[4] * r[5 + c];
                    if (score > 0.1)
                        candidates.Add((box, score, c));
                }
            }
        }

        var kept = new List<(double[] Box, double Score, int Class)>();
        foreach (var group in candidates.GroupBy(c => c.Class).OrderBy(g => g.Key))
        {
            var order = group.OrderByDescending(c => c.Score).ToList();
            while (order.Count > 0)
            {
                var a = order[0];
                kept.Add(a);
                order = order.Skip(1).Where(b => Iou(a.Box, b.Box) <= 0.45).ToList();
            }
        }

        return kept.Where(k => k.Class == 0 && k.Score > 0.3).OrderByDescending(k => (k.Box[2] - k.Box[0]) * (k.Box[3] - k.Box[1])).Select(k => k.Box).FirstOrDefault();
    }

    private static double Iou(double[] a, double[] b)
    {
        double w = Math.Max(0, Math.Min(a[2], b[2]) - Math.Max(a[0], b[0]) + 1), h = Math.Max(0, Math.Min(a[3], b[3]) - Math.Max(a[1], b[1]) + 1);
        double inter = w * h;
        return inter / (((a[2] - a[0] + 1) * (a[3] - a[1] + 1)) + ((b[2] - b[0] + 1) * (b[3] - b[1] + 1)) - inter);
    }

    private static float[] Crop(byte[] image, double cx, double cy, double sw, double sh)
    {
        double[] mean = [123.675, 116.28, 103.53], std = [58.395, 57.12, 57.375];
        var crop = new byte[288 * 384 * 3];
        for (int y = 0; y < 384; y++)
        {
            for (int x = 0; x < 288; x++)
            {
                double fx = cx - (sw / 2) + ((x + 0.5) * sw / 288) - 0.5, fy = cy - (sh / 2) + ((y + 0.5) * sh / 384) - 0.5;
                bool inside = fx >= 0 && fy >= 0 && fx < 511 && fy < 511;
                for (int k = 0; k < 3; k++)
                    crop[(((y * 288) + x) * 3) + k] = inside ? (byte)Math.Round(Bilinear(image, 512, 512, fx, fy, k)) : (byte)0;
            }
        }

        var input = new float[3 * 288 * 384];
        for (int i = 0; i < 288 * 384; i++)
            for (int k = 0; k < 3; k++)
                input[(k * 288 * 384) + i] = (float)((crop[(3 * i) + k] - mean[k]) / std[k]);
        return input;
    }

    private static double[] Face(float[] simccX, float[] simccY, double cx, double cy, double sw, double sh)
    {
        var kpts = new double[133, 3];
        for (int k = 0; k < 133; k++)
        {
            var xs = simccX.Skip(k * 576).Take(576).ToArray();
            var ys = simccY.Skip(k * 768).Take(768).ToArray();
            int ix = Array.IndexOf(xs, xs.Max()), iy = Array.IndexOf(ys, ys.Max());
            double score = Math.Min(xs[ix], ys[iy]);
            kpts[k, 0] = ((score <= 0 ? -1 : ix) / 2.0 / 288 * sw) + cx - (sw / 2);
            kpts[k, 1] = ((score <= 0 ? -1 : iy) / 2.0 / 384 * sh) + cy - (sh / 2);
            kpts[k, 2] = score;
        }

        var face = new double[136];
        for (int i = 0; i < 68; i++)
        {
            int k = 23 + i; // mmpose order: the face follows the 17 body and 6 foot points (the neck goes in before it)
            bool visible = kpts[k, 2] >= 0.3;
            face[2 * i] = visible ? kpts[k, 0] / 512 : -1;
            face[(2 * i) + 1] = visible ? kpts[k, 1] / 512 : -1;
        }

        return face;
    }

    private double[] Damp(double[] face)
    {
        if (_cache.Count > 0)
            face = face.Select((v, i) => v == -1 ? _cache[^1][i] : v).ToArray();
        _cache.Add(face); // RAIN's cache: never trimmed
        int n = 1;
        var window = _cache.Skip(_cache.Count - n).ToList();
        return Enumerable.Range(0, 136).Select(i => window.Select((f, j) => f[i] * (j + 1) / (n * (n + 1) / 2.0)).Sum()).ToArray();
    }

    private static byte[] Draw(double[] face)
    {
        double l = Math.Sqrt(Math.Pow(face[54] - face[16], 2) + Math.Pow(face[55] - face[17], 2)) / 0.3;
        var f = (double[])face.Clone();
        foreach (var t in Translations)
        {
            var group = Enumerable.Range(t.L, t.R - t.L).Select(i => (X: f[2 * i], Y: f[(2 * i) + 1])).ToArray();
            double len = t.P < 0 ? 1 : Math.Sqrt(Math.Pow(f[2 * t.P] - f[2 * t.Q], 2) + Math.Pow(f[(2 * t.P) + 1] - f[(2 * t.Q) + 1], 2));
            double mx = group.Average(p => p.X), my = group.Average(p => p.Y);
            double th = Math.Atan2(group[t.B].Y - group[t.A].Y, group[t.B].X - group[t.A].X), s = Math.Sin(th), k = Math.Cos(th);
            var moved = group.Select(p =>
            {
                double dx = p.X - mx, dy = p.Y - my;
                double rx = ((dx * k) + (dy * s)) * t.Hs + (t.Ht * len), ry = ((-dx * s) + (dy * k)) * t.Vs + (t.Vt * len);
                return (X: mx + (rx * k) - (ry * s), Y: my + (rx * s) + (ry * k));
            }).ToArray();
            for (int i = 0; i < moved.Length; i++)
                (f[2 * (t.L + i)], f[(2 * (t.L + i)) + 1]) = moved[i];
        }

        var canvas = new byte[512 * 512 * 3];
        int r = Math.Max((int)(3 * l), 1);
        foreach (var pattern in Patterns)
        {
            int px = (int)(pattern.Average(i => f[2 * i]) * 512), py = (int)(pattern.Average(i => f[(2 * i) + 1]) * 512);
            if (px < 1 || py < 1)
                continue;
            for (int y = Math.Max(0, py - r); y <= Math.Min(511, py + r); y++)
            {
                for (int x = Math.Max(0, px - r); x <= Math.Min(511, px + r); x++)
                {
                    if (((x - px) * (x - px)) + ((y - py) * (y - py)) <= r * r)
                        (canvas[(((y * 512) + x) * 3) + 0], canvas[(((y * 512) + x) * 3) + 1], canvas[(((y * 512) + x) * 3) + 2]) = (0, 255, 255);
                }
            }
        }

        return canvas;
    }
}

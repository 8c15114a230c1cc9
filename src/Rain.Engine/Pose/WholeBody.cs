using System.Numerics.Tensors;

namespace Rain.Engine.Pose;

/// <summary>
/// From the pose model's SimCC outputs to RAIN's face (spec §4.6–§6): argmax decoding, back to detection-space pixels,
/// the neck and the OpenPose reordering (133 → 134 points), normalisation and the visibility threshold.
/// </summary>
internal static class WholeBody
{
    /// <summary>Keypoints of COCO-WholeBody (the pose model's K).</summary>
    public const int Keypoints = 133;

    /// <summary>Keypoints after the neck is inserted.</summary>
    public const int OpenPoseKeypoints = 134;

    /// <summary>First face point in the 134-point layout.</summary>
    public const int FaceStart = 24;

    /// <summary>Score threshold of a visible point, of the neck, and of the final person filter.</summary>
    public const double Visible = 0.3;

    private static readonly int[] OpenPoseTarget = [1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17];
    private static readonly int[] MmPoseSource = [17, 6, 8, 10, 7, 9, 12, 14, 16, 13, 15, 2, 1, 4, 3];

    /// <summary>
    /// SimCC decoding (split ratio 2): per keypoint the first index of the maximum of each axis, score = the smaller
    /// maximum (float32), location −1 where the score ≤ 0, then /2 in float32 (so a rejected point is at −0.5).
    /// <paramref name="argmax"/> and <paramref name="maxima"/> (K×2, x then y) are filled for inspection.
    /// </summary>
    public static void Decode(ReadOnlySpan<float> simccX, ReadOnlySpan<float> simccY, int k, Span<float> locations, Span<float> scores, Span<long> argmax, Span<float> maxima)
    {
        int wx = simccX.Length / k, wy = simccY.Length / k;
        for (int i = 0; i < k; i++)
        {
            var (ix, mx) = ArgMax(simccX.Slice(i * wx, wx));
            var (iy, my) = ArgMax(simccY.Slice(i * wy, wy));
            argmax[2 * i] = ix;
            argmax[(2 * i) + 1] = iy;
            maxima[2 * i] = mx;
            maxima[(2 * i) + 1] = my;
            float score = mx > my ? my : mx;
            scores[i] = score;
            float lx = ix, ly = iy;
            if (score <= 0f)
                lx = ly = -1f;
            locations[2 * i] = lx / 2f;
            locations[(2 * i) + 1] = ly / 2f;
        }
    }

    /// <summary>numpy's argmax and max: the first index of the largest value (the first NaN if any; −0 equals +0).</summary>
    public static (int Index, float Max) ArgMax(ReadOnlySpan<float> row)
    {
        float max = TensorPrimitives.Max(row);
        int index = row.IndexOf(max); // float.Equals: NaN finds the first NaN, −0 matches +0
        return (index, row[index]);
    }

    /// <summary>
    /// Crop pixels → detection-space pixels (float64): x = (lx / w_in) · scale_w + center_x − scale_w / 2, likewise y.
    /// </summary>
    public static void ToImage(ReadOnlySpan<float> locations, int k, int inputWidth, int inputHeight, double centerX, double centerY, double scaleW, double scaleH, Span<double> keypoints)
    {
        for (int i = 0; i < k; i++)
        {
            keypoints[2 * i] = ((locations[2 * i] / (double)inputWidth * scaleW) + centerX) - (scaleW / 2);
            keypoints[(2 * i) + 1] = ((locations[(2 * i) + 1] / (double)inputHeight * scaleH) + centerY) - (scaleH / 2);
        }
    }

    /// <summary>
    /// The neck (mean of the shoulders 5 and 6; score 1 if both shoulder scores &gt; 0.3, else 0) inserted at 17, then the
    /// first 18 rows reordered from mmpose to OpenPose order (every source row read before any is written).
    /// </summary>
    public static void ToOpenPose(ReadOnlySpan<double> keypoints133, ReadOnlySpan<float> scores133, Span<double> keypoints134, Span<double> scores134)
    {
        double neckX = (keypoints133[10] + keypoints133[12]) / 2, neckY = (keypoints133[11] + keypoints133[13]) / 2;
        double neckScore = scores133[5] > Visible && scores133[6] > Visible ? 1.0 : 0.0;
        for (int i = 0, j = 0; i < OpenPoseKeypoints; i++)
        {
            if (i == 17)
            {
                keypoints134[34] = neckX;
                keypoints134[35] = neckY;
                scores134[17] = neckScore;
                continue;
            }

            keypoints134[2 * i] = keypoints133[2 * j];
            keypoints134[(2 * i) + 1] = keypoints133[(2 * j) + 1];
            scores134[i] = scores133[j];
            j++;
        }

        Span<double> rows = stackalloc double[3 * 15];
        for (int n = 0; n < 15; n++)
        {
            int s = MmPoseSource[n];
            rows[3 * n] = keypoints134[2 * s];
            rows[(3 * n) + 1] = keypoints134[(2 * s) + 1];
            rows[(3 * n) + 2] = scores134[s];
        }

        for (int n = 0; n < 15; n++)
        {
            int t = OpenPoseTarget[n];
            keypoints134[2 * t] = rows[3 * n];
            keypoints134[(2 * t) + 1] = rows[(3 * n) + 1];
            scores134[t] = rows[(3 * n) + 2];
        }
    }

    /// <summary>
    /// The face as RAIN extracts it: points 24…91 divided by (width, height), both coordinates −1 where the score is
    /// &lt; 0.3 (float64 compare). <b>[quirk]</b> a real coordinate of exactly −1 is indistinguishable from "invisible".
    /// RAIN's replacement of the first 18 scores by body-part indices only affects body points, which are not drawn.
    /// </summary>
    public static void Face(ReadOnlySpan<double> keypoints134, ReadOnlySpan<double> scores134, int width, int height, Span<double> face, Span<bool> visible)
    {
        for (int i = 0; i < FaceTranslation.FacePoints; i++)
        {
            int p = FaceStart + i;
            bool v = !(scores134[p] < Visible);
            visible[i] = v;
            face[2 * i] = v ? keypoints134[2 * p] / width : -1;
            face[(2 * i) + 1] = v ? keypoints134[(2 * p) + 1] / height : -1;
        }
    }
}

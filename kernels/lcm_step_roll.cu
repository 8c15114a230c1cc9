// The LCM step fused with the roll of the latent window: the device twin of Rain.Kernels.LcmStepRoll.Reference.
// Storage is fp32 throughout (the latent window is small, about 1 MB at RAIN's size, and fp32 keeps the step exact
// to the CPU reference up to fused-versus-separate rounding). Frame-major [F, E] with E = C*h*w, cleanest level first.
// coefficients holds 6 floats per frame: sqrt(a), sqrt(1-a), c_out, c_skip, sqrt(a_prev), sqrt(1-a_prev).
//   frame f <  p : decodeInput[f]  = denoised (the cleanest level is not re-noised)
//   frame f >= p : nextSample[f-p] = sqrt(a_prev)*denoised + sqrt(1-a_prev)*noise[f]
//   last p slots : nextSample[F-p+j] = newNoise[j]
#include "common/types.cuh"

extern "C" __global__ void lcm_step_roll(
    const float* modelOutput, const float* sample, const float* noise, const float* newNoise,
    float* nextSample, float* decodeInput, const float* coefficients,
    int frames, int framesPerLevel, rain_u32 frameElements)
{
    rain_u64 total = (rain_u64)frames * frameElements;
    rain_u64 chunk = (rain_u64)framesPerLevel * frameElements;
    rain_u64 stride = (rain_u64)gridDim.x * blockDim.x;
    for (rain_u64 i = (rain_u64)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride)
    {
        int f = (int)(i / frameElements);
        const float* k = coefficients + 6 * f;
        float x = sample[i];
        // Same order of operations as LcmStepRoll.Denoise: ((x*sa + v*(-s1a)) * c_out) + x*c_skip.
        float d = __fmul_rn(x, k[0]);
        d = __fadd_rn(__fmul_rn(modelOutput[i], -k[1]), d);
        d = __fmul_rn(d, k[2]);
        d = __fadd_rn(__fmul_rn(x, k[3]), d);
        if (f < framesPerLevel)
        {
            decodeInput[i] = d;
        }
        else
        {
            float w = k[5];
            float y = d;
            if (w != 0.0f)
                y = __fadd_rn(__fmul_rn(noise[i], w), __fmul_rn(d, k[4]));
            nextSample[i - chunk] = y;
        }

        if (i < chunk)
            nextSample[total - chunk + i] = newNoise[i];
    }
}

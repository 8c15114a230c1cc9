// The straightforward baseline the bench compares cross_noise_attention against, in the same run: permute
// [F, N, C] to [N*heads, F, d], run a plain batched attention (one thread per query frame), permute back. This is
// what a framework without a fused kernel does (two transposes around a batched attention); the fused kernel should
// beat it by about the bytes the transposes move. Not used by the engine. Launchers and reference: Rain.Kernels.BenchBaseline.
#include "common/types.cuh"
#include "common/half.cuh"

// [F, N, heads*d] -> [N*heads, F, d]; one thread per element.
extern "C" __global__ void baseline_to_batched(const rain_half* src, rain_half* dst, int frames, int tokens, int heads, int d)
{
    rain_u64 total = (rain_u64)frames * tokens * heads * d;
    rain_u64 i = (rain_u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total)
        return;
    int c = (int)(i % ((rain_u64)heads * d));
    rain_u64 fn = i / ((rain_u64)heads * d);
    rain_u64 n = fn % tokens;
    int f = (int)(fn / tokens);
    int h = c / d, e = c % d;
    dst[((n * heads + h) * frames + f) * d + e] = src[i];
}

// [N*heads, F, d] -> [F, N, heads*d]; one thread per element.
extern "C" __global__ void baseline_from_batched(const rain_half* src, rain_half* dst, int frames, int tokens, int heads, int d)
{
    rain_u64 total = (rain_u64)frames * tokens * heads * d;
    rain_u64 i = (rain_u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total)
        return;
    int c = (int)(i % ((rain_u64)heads * d));
    rain_u64 fn = i / ((rain_u64)heads * d);
    rain_u64 n = fn % tokens;
    int f = (int)(fn / tokens);
    int h = c / d, e = c % d;
    dst[i] = src[((n * heads + h) * frames + f) * d + e];
}

// Batched attention over [B, F, d]: one thread per (b, query frame), scores in registers (F <= 32).
extern "C" __global__ void baseline_batched_attention(const rain_half* q, const rain_half* k, const rain_half* v,
    rain_half* out, int batch, int frames, int d, float scale)
{
    rain_u64 t = (rain_u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= (rain_u64)batch * frames)
        return;
    rain_u64 b = t / frames;
    const rain_half* qf = q + t * d;
    const rain_half* kb = k + b * frames * d;
    const rain_half* vb = v + b * frames * d;
    float p[32];
    float max = -__int_as_float(0x7f800000);
    for (int g = 0; g < frames; ++g)
    {
        float dot = 0.0f;
        for (int i = 0; i < d; ++i)
            dot = __fmaf_rn(half_to_float(qf[i]), half_to_float(kb[g * d + i]), dot);
        p[g] = __fmul_rn(dot, scale);
        max = fmaxf(max, p[g]);
    }
    float sum = 0.0f;
    for (int g = 0; g < frames; ++g)
    {
        p[g] = expf(__fsub_rn(p[g], max));
        sum = __fadd_rn(sum, p[g]);
    }
    float inv = __fdiv_rn(1.0f, sum);
    for (int i = 0; i < d; ++i)
    {
        float acc = 0.0f;
        for (int g = 0; g < frames; ++g)
            acc = __fmaf_rn(__fmul_rn(p[g], inv), half_to_float(vb[g * d + i]), acc);
        out[t * d + i] = float_to_half(acc);
    }
}

// Counter-based Gaussian noise, bit-identical to its CPU reference Rain.Kernels.Noise.Reference (read the remarks of Rain.Kernels.Noise first).
// Bit identity needs: explicit __fmaf_rn where the C# code calls FusedMultiplyAdd, no implicit contraction
// (compiled with --fmad=false) and correctly rounded division and square root (--prec-div=true --prec-sqrt=true).
// Each thread computes one Philox block: 4 consecutive elements of the (chunk, level) stream.
#include "common/types.cuh"
#include "common/half.cuh"

namespace {

__device__ __forceinline__ float bits(rain_u32 b) { return __int_as_float((int)b); }

// ln x for normal positive x, the float sequence of NoiseMath.Log.
__device__ __forceinline__ float noise_log(float x)
{
    int xb = __float_as_int(x);
    int e = ((xb >> 23) & 0xFF) - 127;
    float m = __int_as_float((xb & 0x007FFFFF) | 0x3F800000);
    if (m > bits(0x3fb504f3u)) { m = __fmul_rn(m, 0.5f); e += 1; }
    float s = __fdiv_rn(__fsub_rn(m, 1.0f), __fadd_rn(m, 1.0f));
    float z = __fmul_rn(s, s);
    float poly = __fmaf_rn(z, bits(0x3dba2e8cu), bits(0x3de38e39u)); // 1/11, 1/9
    poly = __fmaf_rn(z, poly, bits(0x3e124925u));                    // 1/7
    poly = __fmaf_rn(z, poly, bits(0x3e4ccccdu));                    // 1/5
    poly = __fmaf_rn(z, poly, bits(0x3eaaaaabu));                    // 1/3
    poly = __fmaf_rn(z, poly, 1.0f);
    float lnM = __fmul_rn(__fmul_rn(2.0f, s), poly);
    return __fmaf_rn((float)e, bits(0x3f317218u), lnM);              // ln 2
}

// sin and cos of 2*pi*u, the float sequence of NoiseMath.SinCos2Pi.
__device__ __forceinline__ void noise_sincos2pi(float u, float* sinOut, float* cosOut)
{
    float t = __fmul_rn(u, 4.0f);
    int quadrant = (int)t;
    float f = __fsub_rn(t, (float)quadrant);
    bool swap = f > 0.5f;
    float h = swap ? __fsub_rn(1.0f, f) : f;
    float x = __fmul_rn(h, bits(0x3fc90fdbu)); // pi/2
    float x2 = __fmul_rn(x, x);

    float sp = __fmaf_rn(x2, bits(0x3638ef1du), bits(0xb9500d01u)); // 1/362880, -1/5040
    sp = __fmaf_rn(x2, sp, bits(0x3c088889u));                       // 1/120
    sp = __fmaf_rn(x2, sp, bits(0xbe2aaaabu));                       // -1/6
    sp = __fmaf_rn(x2, sp, 1.0f);
    float sx = __fmul_rn(x, sp);

    float cp = __fmaf_rn(x2, bits(0x37d00d01u), bits(0xbab60b61u)); // 1/40320, -1/720
    cp = __fmaf_rn(x2, cp, bits(0x3d2aaaabu));                       // 1/24
    cp = __fmaf_rn(x2, cp, -0.5f);
    float cx = __fmaf_rn(x2, cp, 1.0f);

    float s = swap ? cx : sx, c = swap ? sx : cx;
    switch (quadrant)
    {
        case 0: *sinOut = s; *cosOut = c; break;
        case 1: *sinOut = c; *cosOut = -s; break;
        case 2: *sinOut = -s; *cosOut = -c; break;
        default: *sinOut = -c; *cosOut = s; break;
    }
}

__device__ __forceinline__ void box_muller(rain_u32 a, rain_u32 b, float* first, float* second)
{
    const float two24inv = 5.9604644775390625e-8f; // 2^-24, exact
    float u1 = __fmul_rn((float)((a >> 8) + 1u), two24inv);
    float u2 = __fmul_rn((float)(b >> 8), two24inv);
    float r = __fsqrt_rn(__fmul_rn(-2.0f, noise_log(u1)));
    float s, c;
    noise_sincos2pi(u2, &s, &c);
    *first = __fmul_rn(r, c);
    *second = __fmul_rn(r, s);
}

__device__ __forceinline__ void philox4x32_10(rain_u32 c[4], rain_u32 k0, rain_u32 k1)
{
    for (int round = 0; round < 10; ++round)
    {
        if (round > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        rain_u32 hi0 = __umulhi(0xD2511F53u, c[0]), lo0 = 0xD2511F53u * c[0];
        rain_u32 hi1 = __umulhi(0xCD9E8D57u, c[2]), lo1 = 0xCD9E8D57u * c[2];
        rain_u32 n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0; c[1] = lo1; c[2] = n2; c[3] = lo0;
    }
}

} // namespace

// Writes elements firstElement .. firstElement+count-1 of noise stream (chunk, level), chunk = *chunkBase + chunkOffset.
// The chunk is read from device memory so that a captured CUDA graph can replay the launch for every step while the
// host (or a graph node) advances *chunkBase. out32 and out16 may each be null; at least one must not be.
extern "C" __global__ void noise(
    rain_u64 seed, const rain_i64* chunkBase, rain_i64 chunkOffset, int level,
    rain_u64 firstElement, rain_u32 count, float* out32, rain_half* out16)
{
    rain_u64 firstBlock = firstElement >> 2;
    rain_u64 lastBlock = (firstElement + count - 1) >> 2;
    rain_u64 block = firstBlock + (rain_u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (count == 0 || block > lastBlock)
        return;

    rain_i64 chunk = *chunkBase + chunkOffset;
    rain_u32 c[4] = { (rain_u32)block, (rain_u32)level, (rain_u32)(rain_u64)chunk, (rain_u32)((rain_u64)chunk >> 32) };
    philox4x32_10(c, (rain_u32)seed, (rain_u32)(seed >> 32));
    float z[4];
    box_muller(c[0], c[1], &z[0], &z[1]);
    box_muller(c[2], c[3], &z[2], &z[3]);

    rain_u64 element = block << 2;
    for (int lane = 0; lane < 4; ++lane, ++element)
    {
        if (element < firstElement || element >= firstElement + count)
            continue;
        rain_u64 i = element - firstElement;
        if (out32 != 0) out32[i] = z[lane];
        if (out16 != 0) out16[i] = float_to_half(z[lane]);
    }
}

// Cross-noise attention: for every spatial position n and head h, the F frames of the stream batch attend to each
// other (spec 6.1). q, k, v and out are fp16 in the layout the UNet's spatial layers produce, [F, N, C] with
// C = heads*d, element (f, n, h*d + i) at ((f*N + n)*C + h*d + i): read and written in place, no transposes.
// Twin: Rain.Kernels.CrossNoiseAttention.Reference.
//
// Bandwidth design: one warp per (n, h). The work per (n, h) is tiny (F*F*d multiply-adds for F <= 32), so the
// kernel is bound by moving q, k, v in and out once. A warp copies its F rows of d values of q, k and v into shared
// memory with the widest aligned loads the shapes allow (VEC halves per load), lane f computes the softmax row of
// query frame f in fp32, then the warp writes out[f, n, h] with the same vector width. Consecutive warps take
// consecutive (n, h), so a block reads whole C-wide rows of each frame: every fetched sector is used.
#include "common/types.cuh"
#include "common/half.cuh"

namespace {

template <int VEC> struct Vec;
template <> struct Vec<1> { typedef unsigned short T; };
template <> struct Vec<2> { typedef unsigned int T; };
template <> struct Vec<8> { typedef uint4 T; };

// Packs VEC halves into one vector register by shifts: writing the halves through a rain_half* into a local V would
// break strict aliasing, which LLVM (NVRTC) and GCC may exploit (the host-emulation test caught exactly that).
__device__ __forceinline__ unsigned int pair(rain_half lo, rain_half hi) { return (unsigned int)lo | ((unsigned int)hi << 16); }
template <int VEC> __device__ __forceinline__ typename Vec<VEC>::T pack(const rain_half* h);
template <> __device__ __forceinline__ unsigned short pack<1>(const rain_half* h) { return h[0]; }
template <> __device__ __forceinline__ unsigned int pack<2>(const rain_half* h) { return pair(h[0], h[1]); }
template <> __device__ __forceinline__ uint4 pack<8>(const rain_half* h)
{
    uint4 r;
    r.x = pair(h[0], h[1]);
    r.y = pair(h[2], h[3]);
    r.z = pair(h[4], h[5]);
    r.w = pair(h[6], h[7]);
    return r;
}

// Shared memory per warp: q, k, v as [F][d] halves, then the probabilities [F][F+1] floats (the pad column keeps
// lane f's writes of row f on distinct banks). The launcher computes the same size (CrossNoiseAttentionKernel).
// Every warp's slice is a multiple of 16 bytes, so each slice (and its 16-byte vector stores) stays aligned.
__device__ __forceinline__ rain_u32 warp_shared_bytes(int frames, int d)
{
    rain_u32 halves = 3u * frames * d * 2u;
    halves = (halves + 15u) & ~15u;
    return (halves + (rain_u32)frames * (frames + 1) * 4u + 15u) & ~15u;
}

template <int VEC>
__device__ __forceinline__ void attention(
    const rain_half* __restrict__ q, const rain_half* __restrict__ k, const rain_half* __restrict__ v,
    rain_half* __restrict__ out, int frames, int tokens, int channels, int heads, float scale)
{
    typedef typename Vec<VEC>::T V;
    extern __shared__ __align__(16) unsigned char shared[];
    const int d = channels / heads;
    const int lane = threadIdx.x & 31;
    const int warpInBlock = threadIdx.x >> 5;
    const rain_u64 warp = (rain_u64)blockIdx.x * (blockDim.x >> 5) + warpInBlock;
    if (warp >= (rain_u64)tokens * heads)
        return;
    const rain_u64 n = warp / heads;
    const int h = (int)(warp % heads);

    unsigned char* mine = shared + (rain_u64)warpInBlock * warp_shared_bytes(frames, d);
    rain_half* sq = (rain_half*)mine;
    rain_half* sk = sq + frames * d;
    rain_half* sv = sk + frames * d;
    float* prob = (float*)(mine + ((3u * frames * d * 2u + 15u) & ~15u));
    const int pitch = frames + 1;

    const rain_u64 frameStride = (rain_u64)tokens * channels;
    const rain_u64 base = n * channels + (rain_u64)h * d;
    const int perRow = d / VEC;
    for (int idx = lane; idx < frames * perRow; idx += 32)
    {
        int g = idx / perRow, j = idx - g * perRow;
        rain_u64 at = g * frameStride + base + (rain_u64)j * VEC;
        int s = g * d + j * VEC;
        *(V*)(sq + s) = *(const V*)(q + at);
        *(V*)(sk + s) = *(const V*)(k + at);
        *(V*)(sv + s) = *(const V*)(v + at);
    }
    __syncwarp();

    if (lane < frames)
    {
        const rain_half* qf = sq + lane * d;
        float* row = prob + lane * pitch;
        float max = -__int_as_float(0x7f800000);
        for (int g = 0; g < frames; ++g)
        {
            const rain_half* kg = sk + g * d;
            float dot = 0.0f;
            for (int i = 0; i < d; ++i)
                dot = __fmaf_rn(half_to_float(qf[i]), half_to_float(kg[i]), dot);
            float s = __fmul_rn(dot, scale);
            row[g] = s;
            max = fmaxf(max, s);
        }
        float sum = 0.0f;
        for (int g = 0; g < frames; ++g)
        {
            float e = expf(__fsub_rn(row[g], max));
            row[g] = e;
            sum = __fadd_rn(sum, e);
        }
        float inv = __fdiv_rn(1.0f, sum);
        for (int g = 0; g < frames; ++g)
            row[g] = __fmul_rn(row[g], inv);
    }
    __syncwarp();

    for (int idx = lane; idx < frames * perRow; idx += 32)
    {
        int f = idx / perRow, j = idx - f * perRow;
        float acc[VEC];
        for (int t = 0; t < VEC; ++t)
            acc[t] = 0.0f;
        const float* row = prob + f * pitch;
        for (int g = 0; g < frames; ++g)
        {
            float w = row[g];
            const rain_half* vg = sv + g * d + j * VEC;
            for (int t = 0; t < VEC; ++t)
                acc[t] = __fmaf_rn(w, half_to_float(vg[t]), acc[t]);
        }
        rain_half h[VEC];
        for (int t = 0; t < VEC; ++t)
            h[t] = float_to_half(acc[t]);
        *(V*)(out + f * frameStride + base + (rain_u64)j * VEC) = pack<VEC>(h);
    }
}

} // namespace

// VEC = 8: d % 8 == 0, C % 8 == 0 and 16-byte aligned tensors (head sizes 40, 80, 160, 8).
extern "C" __global__ void cross_noise_attention_v8(const rain_half* q, const rain_half* k, const rain_half* v,
    rain_half* out, int frames, int tokens, int channels, int heads, float scale)
{
    attention<8>(q, k, v, out, frames, tokens, channels, heads, scale);
}

// VEC = 2: d and C even, 4-byte aligned tensors (head size 4).
extern "C" __global__ void cross_noise_attention_v2(const rain_half* q, const rain_half* k, const rain_half* v,
    rain_half* out, int frames, int tokens, int channels, int heads, float scale)
{
    attention<2>(q, k, v, out, frames, tokens, channels, heads, scale);
}

// Any shape.
extern "C" __global__ void cross_noise_attention_v1(const rain_half* q, const rain_half* k, const rain_half* v,
    rain_half* out, int frames, int tokens, int channels, int heads, float scale)
{
    attention<1>(q, k, v, out, frames, tokens, channels, heads, scale);
}

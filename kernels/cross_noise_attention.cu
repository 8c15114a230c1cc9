// Cross-noise attention: for every spatial position n and head h, the F frames of the stream batch attend to each
// other (spec 6.1). q, k, v and out are fp16 (the _v* entries) or fp32 (the _f32_v* entries, for TensorRT engines
// whose I/O stays float32) in the layout the UNet's spatial layers produce, [F, N, C] with C = heads*d, element
// (f, n, h*d + i) at ((f*N + n)*C + h*d + i): read and written in place, no transposes. One template serves both
// storage types; the arithmetic (fp32 accumulation, max-subtracted softmax) is the same.
// Twin: Rain.Kernels.CrossNoiseAttention.Reference.
//
// Bandwidth design: one warp per (n, h). The work per (n, h) is tiny (2*F*F*d multiply-adds for F <= 32), so the
// kernel is bound by moving q, k, v in and out once. A warp copies its F rows of d values of q, k and v into shared
// memory with the widest aligned loads the shapes allow (VEC elements per load); the 32 lanes compute the F*F scores,
// lane f the softmax of row f in fp32, and the warp writes out[f, n, h] with the same vector width. Consecutive warps
// take consecutive (n, h), so a block reads whole C-wide rows of each frame: every fetched sector is used.
#include "common/types.cuh"
#include "common/half.cuh"

namespace {

// The vector register a load or store of VEC elements of storage type S moves (by bytes: 2, 4 or 16).
template <class S, int VEC> struct Vec;
template <> struct Vec<rain_half, 1> { typedef unsigned short T; };
template <> struct Vec<rain_half, 2> { typedef unsigned int T; };
template <> struct Vec<rain_half, 8> { typedef uint4 T; };
template <> struct Vec<float, 1> { typedef unsigned int T; };
template <> struct Vec<float, 4> { typedef uint4 T; };

__device__ __forceinline__ float load_float(rain_half h) { return half_to_float(h); }
__device__ __forceinline__ float load_float(float f) { return f; }

// Packs VEC halves into one vector register by shifts: writing the halves through a rain_half* into a local V would
// break strict aliasing, which LLVM (NVRTC) and GCC may exploit (the host-emulation test caught exactly that).
__device__ __forceinline__ unsigned int pair(rain_half lo, rain_half hi) { return (unsigned int)lo | ((unsigned int)hi << 16); }
// Converts VEC fp32 accumulators to the storage type and packs them (by value, never through a pointer cast).
template <class S, int VEC> struct Pack;
template <> struct Pack<rain_half, 1> { __device__ static unsigned short of(const float* a) { return float_to_half(a[0]); } };
template <> struct Pack<rain_half, 2> { __device__ static unsigned int of(const float* a) { return pair(float_to_half(a[0]), float_to_half(a[1])); } };
template <> struct Pack<rain_half, 8> {
    __device__ static uint4 of(const float* a)
    {
        uint4 r;
        r.x = pair(float_to_half(a[0]), float_to_half(a[1]));
        r.y = pair(float_to_half(a[2]), float_to_half(a[3]));
        r.z = pair(float_to_half(a[4]), float_to_half(a[5]));
        r.w = pair(float_to_half(a[6]), float_to_half(a[7]));
        return r;
    }
};
template <> struct Pack<float, 1> { __device__ static unsigned int of(const float* a) { return (unsigned int)__float_as_int(a[0]); } };
template <> struct Pack<float, 4> {
    __device__ static uint4 of(const float* a)
    {
        uint4 r;
        r.x = (unsigned int)__float_as_int(a[0]);
        r.y = (unsigned int)__float_as_int(a[1]);
        r.z = (unsigned int)__float_as_int(a[2]);
        r.w = (unsigned int)__float_as_int(a[3]);
        return r;
    }
};

// Shared memory per warp: q, k, v as [F][d] elements of the storage type, then the probabilities [F][F+1] floats
// (the pad column keeps lane f's writes of row f on distinct banks). The launcher computes the same size
// (CrossNoiseAttention.WarpSharedBytes). Every warp's slice is a multiple of 16 bytes, so each slice (and its 16-byte
// vector stores) stays aligned.
__device__ __forceinline__ rain_u32 qkv_shared_bytes(int frames, int d, rain_u32 elementBytes)
{
    return (3u * frames * d * elementBytes + 15u) & ~15u;
}

__device__ __forceinline__ rain_u32 warp_shared_bytes(int frames, int d, rain_u32 elementBytes)
{
    return (qkv_shared_bytes(frames, d, elementBytes) + (rain_u32)frames * (frames + 1) * 4u + 15u) & ~15u;
}

template <class S, int VEC>
__device__ __forceinline__ void attention(
    const S* __restrict__ q, const S* __restrict__ k, const S* __restrict__ v,
    S* __restrict__ out, int frames, int tokens, int channels, int heads, float scale)
{
    typedef typename Vec<S, VEC>::T V;
    extern __shared__ __align__(16) unsigned char shared[];
    const int d = channels / heads;
    const int lane = threadIdx.x & 31;
    const int warpInBlock = threadIdx.x >> 5;
    const rain_u64 warp = (rain_u64)blockIdx.x * (blockDim.x >> 5) + warpInBlock;
    if (warp >= (rain_u64)tokens * heads)
        return;
    const rain_u64 n = warp / heads;
    const int h = (int)(warp % heads);

    unsigned char* mine = shared + (rain_u64)warpInBlock * warp_shared_bytes(frames, d, sizeof(S));
    S* sq = (S*)mine;
    S* sk = sq + frames * d;
    S* sv = sk + frames * d;
    float* prob = (float*)(mine + qkv_shared_bytes(frames, d, sizeof(S)));
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

    // Scores: the F*F dot products spread over all 32 lanes (not F of them), the dominant arithmetic at d = 160.
    for (int idx = lane; idx < frames * frames; idx += 32)
    {
        int f = idx / frames, g = idx - f * frames;
        const S* qf = sq + f * d;
        const S* kg = sk + g * d;
        float dot = 0.0f;
        for (int i = 0; i < d; ++i)
            dot = __fmaf_rn(load_float(qf[i]), load_float(kg[i]), dot);
        prob[f * pitch + g] = __fmul_rn(dot, scale);
    }
    __syncwarp();

    // Softmax of row f by lane f, in fp32 with the maximum subtracted first.
    if (lane < frames)
    {
        float* row = prob + lane * pitch;
        float max = -__int_as_float(0x7f800000);
        for (int g = 0; g < frames; ++g)
            max = fmaxf(max, row[g]);
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
            const S* vg = sv + g * d + j * VEC;
            for (int t = 0; t < VEC; ++t)
                acc[t] = __fmaf_rn(w, load_float(vg[t]), acc[t]);
        }
        *(V*)(out + f * frameStride + base + (rain_u64)j * VEC) = Pack<S, VEC>::of(acc);
    }
}

} // namespace

// VEC = 8: d % 8 == 0, C % 8 == 0 and 16-byte aligned tensors (head sizes 40, 80, 160, 8).
extern "C" __global__ void cross_noise_attention_v8(const rain_half* q, const rain_half* k, const rain_half* v,
    rain_half* out, int frames, int tokens, int channels, int heads, float scale)
{
    attention<rain_half, 8>(q, k, v, out, frames, tokens, channels, heads, scale);
}

// VEC = 2: d and C even, 4-byte aligned tensors (head size 4).
extern "C" __global__ void cross_noise_attention_v2(const rain_half* q, const rain_half* k, const rain_half* v,
    rain_half* out, int frames, int tokens, int channels, int heads, float scale)
{
    attention<rain_half, 2>(q, k, v, out, frames, tokens, channels, heads, scale);
}

// Any shape.
extern "C" __global__ void cross_noise_attention_v1(const rain_half* q, const rain_half* k, const rain_half* v,
    rain_half* out, int frames, int tokens, int channels, int heads, float scale)
{
    attention<rain_half, 1>(q, k, v, out, frames, tokens, channels, heads, scale);
}

// fp32 storage, VEC = 4: d % 4 == 0, C % 4 == 0 and 16-byte aligned tensors.
extern "C" __global__ void cross_noise_attention_f32_v4(const float* q, const float* k, const float* v,
    float* out, int frames, int tokens, int channels, int heads, float scale)
{
    attention<float, 4>(q, k, v, out, frames, tokens, channels, heads, scale);
}

// fp32 storage, any shape (4-byte aligned tensors).
extern "C" __global__ void cross_noise_attention_f32_v1(const float* q, const float* k, const float* v,
    float* out, int frames, int tokens, int channels, int heads, float scale)
{
    attention<float, 1>(q, k, v, out, frames, tokens, channels, heads, scale);
}

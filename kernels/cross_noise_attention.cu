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
//
// v2 (cross_noise_attention_mma, fp16, F <= 16, d % 8 == 0): the same layout on tensor cores. v1 is bound by shared
// memory, not DRAM (rows of d halves give 2- to 16-way bank conflicts and scalar loads, one warp per block at d = 160);
// v2 moves each (n, head)'s q, k, v rows with 16-byte cp.async into padded shared rows (pitch ≡ 8 halves mod 16, so the
// fragment loads of 8 rows × 4 lanes hit 32 distinct banks), computes QKᵀ and PV with mma.sync m16n8k16 (F = 16 frames
// is one tile; d is zero-padded to a multiple of 16 for the k steps of QKᵀ), keeps the softmax in registers (each row
// lives in one quad of lanes: max and sum by two shuffles), and loops over several (n, head) per warp with the next
// one's copies in flight while the current one computes (double buffering).
#include "common/types.cuh"
#include "common/half.cuh"
#include "common/mma.cuh"

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

// ---- v2: tensor cores ----

// The padded row pitch (in halves) of a tile of head size d: at least round_up(d, 16) (the k steps of QKᵀ), 16-byte
// rows for cp.async, and ≡ 8 (mod 16) so that 8 rows × 4 consecutive 32-bit words fall on 32 distinct banks.
__device__ __forceinline__ int mma_pitch(int d) { return ((d + 15) & ~15) + 8; }

// 32-bit words of shared memory per warp: two stages of q, k, v tiles of 16 rows (CrossNoiseAttention.MmaWarpSharedBytes).
__device__ __forceinline__ int mma_stage_words(int d) { return 3 * 16 * mma_pitch(d) / 2; }

__device__ __forceinline__ rain_u32 pack_halves(float lo, float hi) { return (rain_u32)float_to_half(lo) | ((rain_u32)float_to_half(hi) << 16); }

// One fp16 value of a tile held as 32-bit words (every shared access goes through rain_u32, so nothing aliases).
__device__ __forceinline__ rain_u32 half_at(const rain_u32* tile, int index) { rain_u32 w = tile[index >> 1]; return (index & 1) ? w >> 16 : w & 0xFFFFu; }

// Starts the copies of (n, h)'s q, k, v rows (frames < F, columns < d) into one stage.
__device__ __forceinline__ void mma_fetch(const rain_half* q, const rain_half* k, const rain_half* v, rain_u32* stage, int pitch,
    rain_u64 pair, int frames, int tokens, int channels, int heads, int d, int lane)
{
    const rain_u64 n = pair / heads;
    const rain_u64 base = n * channels + (rain_u64)(pair % heads) * d;
    const rain_u64 frameStride = (rain_u64)tokens * channels;
    const int chunks = d / 8, tileWords = 16 * pitch / 2;
    for (int idx = lane; idx < frames * chunks; idx += 32)
    {
        int f = idx / chunks, j = idx - f * chunks;
        rain_u64 at = f * frameStride + base + (rain_u64)j * 8;
        int word = (f * pitch + j * 8) / 2;
        cp_async16(stage + word, q + at);
        cp_async16(stage + tileWords + word, k + at);
        cp_async16(stage + 2 * tileWords + word, v + at);
    }
}

__device__ __forceinline__ void mma_attention(const rain_half* __restrict__ q, const rain_half* __restrict__ k, const rain_half* __restrict__ v,
    rain_half* __restrict__ out, int frames, int tokens, int channels, int heads, float scale)
{
    extern __shared__ __align__(16) unsigned char shared[];
    const int d = channels / heads, pitch = mma_pitch(d), kSteps = (d + 15) / 16, tileWords = 16 * pitch / 2;
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const rain_u64 pairs = (rain_u64)tokens * heads;
    const rain_u64 warps = (rain_u64)gridDim.x * (blockDim.x >> 5);
    rain_u64 pair = (rain_u64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    rain_u32* mine = (rain_u32*)shared + (rain_u64)(threadIdx.x >> 5) * 2 * mma_stage_words(d);

    // Zero both stages once: rows >= F and the pad columns are never written by the copies, so they stay zero (zero
    // q rows, zero k columns for the padded k steps, zero v rows).
    for (int w = lane; w < 2 * mma_stage_words(d); w += 32)
        mine[w] = 0;
    __syncwarp();

    int stage = 0;
    if (pair < pairs)
        mma_fetch(q, k, v, mine, pitch, pair, frames, tokens, channels, heads, d, lane);
    cp_async_commit();
    for (; pair < pairs; pair += warps, stage ^= 1)
    {
        // The next (n, head)'s copies go into the other stage while this one computes.
        if (pair + warps < pairs)
            mma_fetch(q, k, v, mine + (stage ^ 1) * mma_stage_words(d), pitch, pair + warps, frames, tokens, channels, heads, d, lane);
        cp_async_commit();
        cp_async_wait<1>(); // this stage's group has landed (for this lane) …
        __syncwarp();       // … and for every lane
        rain_u32* sq = mine + stage * mma_stage_words(d);
        const rain_u32* sk = sq + tileWords;
        const rain_u32* sv = sq + 2 * tileWords;

        // S = Q·Kᵀ: two 16×8 tiles (key frames 0–7 and 8–15), k over the (zero-padded) head dimension.
        float s[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
        for (int ks = 0; ks < kSteps; ++ks)
        {
            int c0 = ks * 16 + 2 * t;
            rain_u32 a[4] = {sq[(g * pitch + c0) / 2], sq[((g + 8) * pitch + c0) / 2], sq[(g * pitch + c0 + 8) / 2], sq[((g + 8) * pitch + c0 + 8) / 2]};
            for (int nt = 0; nt < 2; ++nt)
            {
                int row = nt * 8 + g; // B[kk][n] = K[n][kk]: key frame n, column kk
                rain_u32 b[2] = {sk[(row * pitch + c0) / 2], sk[(row * pitch + c0 + 8) / 2]};
                mma_m16n8k16(s[nt], a, b, s[nt]);
            }
        }

        // Softmax over the key frames, in registers: lane (g, t) holds rows g (s[.][0..1]) and g + 8 (s[.][2..3]) at
        // columns nt*8 + 2t + (0, 1); a row's 16 columns live in the 4 lanes of one quad.
        float mx[2] = {-__int_as_float(0x7f800000), -__int_as_float(0x7f800000)};
        for (int nt = 0; nt < 2; ++nt)
        {
            for (int i = 0; i < 4; ++i)
            {
                int col = nt * 8 + 2 * t + (i & 1);
                s[nt][i] = col < frames ? s[nt][i] * scale : -__int_as_float(0x7f800000);
                mx[i >> 1] = fmaxf(mx[i >> 1], s[nt][i]);
            }
        }
        for (int r = 0; r < 2; ++r)
        {
            mx[r] = fmaxf(mx[r], shfl_xor(mx[r], 1));
            mx[r] = fmaxf(mx[r], shfl_xor(mx[r], 2));
        }
        float sum[2] = {0.f, 0.f};
        for (int nt = 0; nt < 2; ++nt)
        {
            for (int i = 0; i < 4; ++i)
            {
                s[nt][i] = expf(s[nt][i] - mx[i >> 1]);
                sum[i >> 1] += s[nt][i];
            }
        }
        for (int r = 0; r < 2; ++r)
        {
            sum[r] += shfl_xor(sum[r], 1);
            sum[r] += shfl_xor(sum[r], 2);
            sum[r] = 1.0f / sum[r];
        }

        // The probabilities as the A fragment of P·V (the C layout of the two S tiles is exactly m16n8k16's A layout).
        rain_u32 p[4] = {
            pack_halves(s[0][0] * sum[0], s[0][1] * sum[0]), pack_halves(s[0][2] * sum[1], s[0][3] * sum[1]),
            pack_halves(s[1][0] * sum[0], s[1][1] * sum[0]), pack_halves(s[1][2] * sum[1], s[1][3] * sum[1])};

        // O = P·V, 8 output columns at a time, staged as fp16 in the q tile, which every lane has finished reading.
        __syncwarp();
        for (int nt = 0; nt < d / 8; ++nt)
        {
            int col = nt * 8 + g;
            rain_u32 b[2] = {
                half_at(sv, (2 * t) * pitch + col) | (half_at(sv, (2 * t + 1) * pitch + col) << 16),
                half_at(sv, (2 * t + 8) * pitch + col) | (half_at(sv, (2 * t + 9) * pitch + col) << 16)};
            const float zero[4] = {0.f, 0.f, 0.f, 0.f};
            float o[4];
            mma_m16n8k16(o, p, b, zero);
            sq[(g * pitch + nt * 8 + 2 * t) / 2] = pack_halves(o[0], o[1]);
            sq[((g + 8) * pitch + nt * 8 + 2 * t) / 2] = pack_halves(o[2], o[3]);
        }
        __syncwarp();

        // Rows f < F back to out[f, n, h] with 16-byte stores.
        const rain_u64 n = pair / heads;
        const rain_u64 base = n * channels + (rain_u64)(pair % heads) * d;
        const rain_u64 frameStride = (rain_u64)tokens * channels;
        const int chunks = d / 8;
        for (int idx = lane; idx < frames * chunks; idx += 32)
        {
            int f = idx / chunks, j = idx - f * chunks;
            const rain_u32* w = sq + (f * pitch + j * 8) / 2;
            uint4 r;
            r.x = w[0];
            r.y = w[1];
            r.z = w[2];
            r.w = w[3];
            *(uint4*)(out + f * frameStride + base + (rain_u64)j * 8) = r;
        }
        __syncwarp(); // this stage is read before the next iteration's copies (two pairs ahead) land in it
    }
    cp_async_wait<0>();
}

} // namespace

// v2 on tensor cores (SM 8.0+): fp16, F <= 16, d % 8 == 0, C % 8 == 0, 16-byte aligned tensors. Each warp loops over
// (n, head) pairs warp, warp + total warps, …; shared memory per warp: CrossNoiseAttention.MmaWarpSharedBytes.
extern "C" __global__ void cross_noise_attention_mma(const rain_half* q, const rain_half* k, const rain_half* v,
    rain_half* out, int frames, int tokens, int channels, int heads, float scale)
{
    mma_attention(q, k, v, out, frames, tokens, channels, heads, scale);
}

// VEC = 8: d % 8 == 0, C % 8 == 0 and 16-byte aligned tensors (head sizes 40, 80, 160, 8).
extern "C" __global__ void cross_noise_attention_vec8(const rain_half* q, const rain_half* k, const rain_half* v,
    rain_half* out, int frames, int tokens, int channels, int heads, float scale)
{
    attention<rain_half, 8>(q, k, v, out, frames, tokens, channels, heads, scale);
}

// VEC = 2: d and C even, 4-byte aligned tensors (head size 4).
extern "C" __global__ void cross_noise_attention_vec2(const rain_half* q, const rain_half* k, const rain_half* v,
    rain_half* out, int frames, int tokens, int channels, int heads, float scale)
{
    attention<rain_half, 2>(q, k, v, out, frames, tokens, channels, heads, scale);
}

// Any shape.
extern "C" __global__ void cross_noise_attention_vec1(const rain_half* q, const rain_half* k, const rain_half* v,
    rain_half* out, int frames, int tokens, int channels, int heads, float scale)
{
    attention<rain_half, 1>(q, k, v, out, frames, tokens, channels, heads, scale);
}

// fp32 storage, VEC = 4: d % 4 == 0, C % 4 == 0 and 16-byte aligned tensors.
extern "C" __global__ void cross_noise_attention_f32_vec4(const float* q, const float* k, const float* v,
    float* out, int frames, int tokens, int channels, int heads, float scale)
{
    attention<float, 4>(q, k, v, out, frames, tokens, channels, heads, scale);
}

// fp32 storage, any shape (4-byte aligned tensors).
extern "C" __global__ void cross_noise_attention_f32_vec1(const float* q, const float* k, const float* v,
    float* out, int frames, int tokens, int channels, int heads, float scale)
{
    attention<float, 1>(q, k, v, out, frames, tokens, channels, heads, scale);
}

// Host stand-in for kernels/common/mma.cuh: the same warp-level semantics on the harness's fibers. The MMA rebuilds
// the whole A and B tiles from the 32 lanes' fragments with PTX's documented layout (so a kernel that puts a value in
// the wrong register computes a wrong result here too) and accumulates each output in fp32, k in order; the products
// of fp16 values are exact in fp32, only the summation order may differ from a GPU's. cp.async is queued and lands at
// cp_async_wait, never before.
#pragma once
// Include after common/types.cuh and common/half.cuh, as the kernels do.

inline void mma_m16n8k16(float d[4], const rain_u32 a[4], const rain_u32 b[2], const float c[4])
{
    struct Fragments { rain_u32 a[4]; rain_u32 b[2]; };
    Fragments mine{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}};
    Fragments all[32];
    rain_warp_all_gather(&mine, all, sizeof(Fragments));
    float A[16][16], B[16][8];
    for (int lane = 0; lane < 32; ++lane)
    {
        int g = lane / 4, t = lane % 4;
        const Fragments& f = all[lane];
        int rows[4] = {g, g + 8, g, g + 8}, cols[4] = {2 * t, 2 * t, 2 * t + 8, 2 * t + 8};
        for (int r = 0; r < 4; ++r)
        {
            A[rows[r]][cols[r]] = half_to_float((rain_half)(f.a[r] & 0xFFFFu));
            A[rows[r]][cols[r] + 1] = half_to_float((rain_half)(f.a[r] >> 16));
        }
        int ks[2] = {2 * t, 2 * t + 8};
        for (int r = 0; r < 2; ++r)
        {
            B[ks[r]][g] = half_to_float((rain_half)(f.b[r] & 0xFFFFu));
            B[ks[r] + 1][g] = half_to_float((rain_half)(f.b[r] >> 16));
        }
    }

    int lane = (int)rain_lane(), g = lane / 4, t = lane % 4;
    int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
    float out[4];
    for (int i = 0; i < 4; ++i)
    {
        float acc = c[i];
        for (int k = 0; k < 16; ++k)
            acc = std::fma(A[rows[i]][k], B[k][cols[i]], acc);
        out[i] = acc;
    }
    for (int i = 0; i < 4; ++i)
        d[i] = out[i];
}

inline void cp_async16(void* sharedDst, const void* globalSrc) { rain_cp_async(sharedDst, globalSrc, 16); }
inline void cp_async_commit() { rain_cp_async_commit(); }
template <int PENDING> inline void cp_async_wait() { rain_cp_async_wait(PENDING); }

inline float shfl_xor(float v, int mask)
{
    float all[32];
    rain_warp_all_gather(&v, all, sizeof(float));
    return all[rain_lane() ^ (unsigned)mask];
}

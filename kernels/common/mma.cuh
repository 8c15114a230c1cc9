// Warp-level building blocks of the tensor-core kernels (SM 8.0+): the m16n8k16 fp16 MMA with fp32 accumulators,
// asynchronous global → shared copies, and the butterfly shuffle. Written as inline PTX so that NVRTC 11.x needs no
// headers. The host emulation (tests) has a stand-in with the same semantics, fragment layouts included.
#pragma once
// Include after common/types.cuh (NVRTC resolves in-memory headers by their exact include names only).

// D = A·B + C for one 16×16 · 16×8 tile. Fragments as PTX lays them out for mma.m16n8k16 (g = lane / 4, t = lane % 4;
// each register holds two fp16 values, the lower column in the low half):
//   a[0] = A[g][2t, 2t+1]   a[1] = A[g+8][2t, 2t+1]   a[2] = A[g][2t+8, 2t+9]   a[3] = A[g+8][2t+8, 2t+9]
//   b[0] = B[2t, 2t+1][g]   b[1] = B[2t+8, 2t+9][g]
//   c, d: [0] = (g, 2t)  [1] = (g, 2t+1)  [2] = (g+8, 2t)  [3] = (g+8, 2t+1)
__device__ __forceinline__ void mma_m16n8k16(float d[4], const rain_u32 a[4], const rain_u32 b[2], const float c[4])
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
        : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
}

// Starts a 16-byte copy from global to shared memory (both 16-byte aligned), bypassing L1 (each byte is read once).
__device__ __forceinline__ void cp_async16(void* sharedDst, const void* globalSrc)
{
    rain_u32 s;
    asm volatile("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }\n" : "=r"(s) : "l"(sharedDst));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" :: "r"(s), "l"(globalSrc) : "memory");
}

// Closes the calling thread's group of cp.async copies.
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

// Waits until at most PENDING of the calling thread's groups are still in flight (their copies may not have landed).
template <int PENDING>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" :: "n"(PENDING) : "memory"); }

// The value of lane (lane ^ mask) of the warp (all 32 lanes take part).
__device__ __forceinline__ float shfl_xor(float v, int mask) { return __shfl_xor_sync(0xffffffffu, v, mask); }

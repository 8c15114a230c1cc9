// Host emulation of the CUDA features our kernels use, so that the very kernel sources run on a CPU in the tests.
// Every CUDA thread of a block is a fiber (ucontext) on the calling OS thread; the harness switches fibers only at
// barriers, so a block runs deterministically and without OS threads. __syncwarp and __syncthreads are barriers of the
// warp's 32 fibers and of the block's fibers; a barrier no fiber can pass is reported (deadlock) instead of hanging.
// Warp collectives (shuffles, mma.sync) exchange their lanes' registers through the harness; cp.async copies are
// queued per thread and performed only at cp.async.wait_group, so a read before the wait sees the poisoned shared
// memory. __shared__ is one static array (one block runs at a time). The _rn intrinsics are IEEE float operations
// (compiled with -ffp-contract=off, so nothing is fused that the kernel does not fuse explicitly).
#pragma once
#include <cmath>
#include <math.h>
#include <cstring>
#include <memory>
#include <vector>

#define __device__
#define __global__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __align__(n) __attribute__((aligned(n)))
#define __shared__

struct dim3 { unsigned x, y, z; };
struct alignas(16) uint4 { unsigned x, y, z, w; }; // aligned as on the GPU, so that -fsanitize=alignment sees what the GPU would fault on

extern thread_local dim3 threadIdx;
extern dim3 blockIdx, blockDim, gridDim;

// The harness's primitives (harness.cpp). Every lane of the calling warp must call the warp ones, as on a GPU.
void rain_syncwarp();
void rain_syncthreads();
// Each lane contributes `bytes` (at most 64) from `mine`; afterwards `all` holds the 32 lanes' contributions in lane order.
void rain_warp_all_gather(const void* mine, void* all, unsigned bytes);
unsigned rain_lane();
// cp.async of `bytes` (4, 8 or 16) from global `src` to shared `dst`: queued in the calling thread's open group.
void rain_cp_async(void* dst, const void* src, unsigned bytes);
void rain_cp_async_commit();
// Completes the calling thread's oldest groups until at most `pending` remain.
void rain_cp_async_wait(int pending);

inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
inline void __syncwarp() { rain_syncwarp(); }
inline void __syncthreads() { rain_syncthreads(); }

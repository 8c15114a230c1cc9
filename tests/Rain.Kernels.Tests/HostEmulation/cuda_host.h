// Host emulation of the CUDA features our kernels use, so that the very kernel sources run on a CPU in the tests:
// one std::thread per CUDA thread (blocks one after another), __syncwarp as a barrier of the warp's 32 threads,
// __shared__ as one static array (one block runs at a time), the _rn intrinsics as IEEE float operations (compiled
// with -ffp-contract=off, so nothing is fused that the kernel does not fuse explicitly).
#pragma once
#include <barrier>
#include <cmath>
#include <math.h>
#include <cstring>
#include <memory>
#include <thread>
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
extern thread_local std::barrier<>* rain_warp_barrier;

inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
inline void __syncwarp() { rain_warp_barrier->arrive_and_wait(); }

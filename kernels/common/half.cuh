// Half-precision storage helpers. NVRTC 11.x ships without cuda_fp16.h, so the kernels carry their own: fp16 values
// are stored as raw 16-bit patterns and converted with the PTX cvt instructions (round-to-nearest-even on the way in).
#pragma once

typedef unsigned short rain_half;

__device__ __forceinline__ float half_to_float(rain_half h)
{
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ rain_half float_to_half(float f)
{
    rain_half h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}

// Host stand-in for kernels/common/half.cuh (whose conversions are PTX cvt instructions): the same round-to-nearest-
// even conversions through the compiler's _Float16.
#pragma once
#include <cstring>

typedef unsigned short rain_half;

inline float half_to_float(rain_half h)
{
    _Float16 v;
    std::memcpy(&v, &h, 2);
    return (float)v;
}

inline rain_half float_to_half(float f)
{
    _Float16 v = (_Float16)f;
    rain_half h;
    std::memcpy(&h, &v, 2);
    return h;
}

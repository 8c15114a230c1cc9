// Fixed-width integer names for device code: NVRTC has no <cstdint> before CUDA 12.
#pragma once

typedef unsigned int rain_u32;
typedef unsigned long long rain_u64;
typedef long long rain_i64;

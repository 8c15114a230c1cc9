// Frame conversion at the host boundary. Pose images arrive as RGB8 interleaved HWC and enter the networks as fp16
// planar CHW scaled to [0, 1]; decoded frames leave as fp16 planar CHW and go out as RGB8 interleaved HWC.
// One thread per pixel, images batched along gridDim.y. Twin: Rain.Kernels.FrameConversion (launchers and references).
#include "common/types.cuh"
#include "common/half.cuh"

// rgb: [images, height*width, 3] bytes; planar: [images, 3, height*width] fp16 holding byte/255 (correctly rounded
// division, then round-to-nearest-even to fp16).
extern "C" __global__ void rgb8_to_planar_f16(const unsigned char* rgb, rain_half* planar, rain_u32 pixels)
{
    rain_u32 p = blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= pixels)
        return;
    rain_u64 image = blockIdx.y;
    const unsigned char* src = rgb + (image * pixels + p) * 3;
    rain_half* dst = planar + image * pixels * 3 + p;
    for (int c = 0; c < 3; ++c)
        dst[(rain_u64)c * pixels] = float_to_half(__fdiv_rn((float)src[c], 255.0f));
}

// planar: [images, 3, height*width] fp16; rgb: [images, height*width, 3] bytes = round_half_even(clamp(x, 0, 1)*255),
// NaN -> 0.
extern "C" __global__ void planar_f16_to_rgb8(const rain_half* planar, unsigned char* rgb, rain_u32 pixels)
{
    rain_u32 p = blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= pixels)
        return;
    rain_u64 image = blockIdx.y;
    const rain_half* src = planar + image * pixels * 3 + p;
    unsigned char* dst = rgb + (image * pixels + p) * 3;
    for (int c = 0; c < 3; ++c)
    {
        float x = half_to_float(src[(rain_u64)c * pixels]);
        x = x != x ? 0.0f : fminf(fmaxf(x, 0.0f), 1.0f);
        dst[c] = (unsigned char)rintf(__fmul_rn(x, 255.0f));
    }
}

// For TensorRT engines built from the float32 bundle, whose I/O keeps the ONNX types: the pose guider takes the pose
// images as uint8 planar [images, 3, height*width] (it scales them itself), and the decoder gives float32 planar frames.

// rgb: [images, height*width, 3] bytes -> planar: [images, 3, height*width] bytes (a transpose, no scaling).
extern "C" __global__ void rgb8_to_planar_u8(const unsigned char* rgb, unsigned char* planar, rain_u32 pixels)
{
    rain_u32 p = blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= pixels)
        return;
    rain_u64 image = blockIdx.y;
    const unsigned char* src = rgb + (image * pixels + p) * 3;
    unsigned char* dst = planar + image * pixels * 3 + p;
    for (int c = 0; c < 3; ++c)
        dst[(rain_u64)c * pixels] = src[c];
}

// planar: [images, 3, height*width] fp32; rgb as planar_f16_to_rgb8 (clamp to [0, 1], NaN -> 0, x255, half to even).
extern "C" __global__ void planar_f32_to_rgb8(const float* planar, unsigned char* rgb, rain_u32 pixels)
{
    rain_u32 p = blockIdx.x * blockDim.x + threadIdx.x;
    if (p >= pixels)
        return;
    rain_u64 image = blockIdx.y;
    const float* src = planar + image * pixels * 3 + p;
    unsigned char* dst = rgb + (image * pixels + p) * 3;
    for (int c = 0; c < 3; ++c)
    {
        float x = src[(rain_u64)c * pixels];
        x = x != x ? 0.0f : fminf(fmaxf(x, 0.0f), 1.0f);
        dst[c] = (unsigned char)rintf(__fmul_rn(x, 255.0f));
    }
}

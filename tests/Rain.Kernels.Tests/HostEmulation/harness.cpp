// Runs a kernel of kernels/*.cu on the CPU: rain_host_launch(entry, grid, block, shared bytes, argument pointers),
// the same launch description cuLaunchKernel receives. "Device" pointers are host pointers here.
#include "cuda_host.h"
#include "common/types.cuh"
#include "noise.cu"
#include "lcm_step_roll.cu"
#include "frame_convert.cu"
#include "cross_noise_attention.cu"
#include "bench_baseline.cu"
#include <functional>
#include <string>

thread_local dim3 threadIdx;
dim3 blockIdx, blockDim, gridDim;
thread_local std::barrier<>* rain_warp_barrier;

namespace {

// The kernels' block-scope `extern __shared__ … shared[]` inside their unnamed namespace names this array (one
// unnamed namespace per translation unit).
alignas(16) unsigned char shared[1 << 17];

template <class T> T arg(void** args, int i) { T v; std::memcpy(&v, args[i], sizeof(T)); return v; }

// 0 ok, 1 unknown entry, 2 shared memory too large, 3 block not a whole number of warps for a warp kernel.
int run(dim3 grid, dim3 block, unsigned sharedBytes, bool threaded, const std::function<void()>& body)
{
    if (sharedBytes > sizeof(shared))
        return 2;
    unsigned threads = block.x * block.y * block.z;
    if (threaded && threads % 32 != 0)
        return 3;
    gridDim = grid;
    blockDim = block;
    for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
    for (unsigned x = 0; x < grid.x; ++x)
    {
        blockIdx = dim3{x, y, z};
        std::memset(shared, 0xFF, sizeof(shared)); // poison: a read before a write shows
        if (!threaded)
        {
            for (unsigned t = 0; t < threads; ++t)
            {
                threadIdx = dim3{t, 0, 0};
                body();
            }
            continue;
        }

        std::vector<std::unique_ptr<std::barrier<>>> warps;
        for (unsigned w = 0; w < threads / 32; ++w)
            warps.push_back(std::make_unique<std::barrier<>>(32));
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < threads; ++t)
        {
            pool.emplace_back([&, t] {
                threadIdx = dim3{t, 0, 0};
                rain_warp_barrier = warps[t / 32].get();
                body();
            });
        }
        for (auto& th : pool)
            th.join();
    }
    return 0;
}

} // namespace

extern "C" int rain_host_launch(const char* entry, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
    unsigned sharedBytes, void** a)
{
    std::string e = entry;
    dim3 g{gx, gy, gz}, b{bx, by, bz};
    typedef const rain_half* H;
    if (e == "noise")
        return run(g, b, sharedBytes, false, [&] { noise(arg<rain_u64>(a, 0), arg<const rain_i64*>(a, 1), arg<rain_i64>(a, 2), arg<int>(a, 3), arg<rain_u64>(a, 4), arg<rain_u32>(a, 5), arg<float*>(a, 6), arg<rain_half*>(a, 7)); });
    if (e == "lcm_step_roll")
        return run(g, b, sharedBytes, false, [&] { lcm_step_roll(arg<const float*>(a, 0), arg<const float*>(a, 1), arg<const float*>(a, 2), arg<const float*>(a, 3), arg<float*>(a, 4), arg<float*>(a, 5), arg<const float*>(a, 6), arg<int>(a, 7), arg<int>(a, 8), arg<rain_u32>(a, 9)); });
    if (e == "rgb8_to_planar_f16")
        return run(g, b, sharedBytes, false, [&] { rgb8_to_planar_f16(arg<const unsigned char*>(a, 0), arg<rain_half*>(a, 1), arg<rain_u32>(a, 2)); });
    if (e == "rgb8_to_planar_u8")
        return run(g, b, sharedBytes, false, [&] { rgb8_to_planar_u8(arg<const unsigned char*>(a, 0), arg<unsigned char*>(a, 1), arg<rain_u32>(a, 2)); });
    if (e == "planar_f32_to_rgb8")
        return run(g, b, sharedBytes, false, [&] { planar_f32_to_rgb8(arg<const float*>(a, 0), arg<unsigned char*>(a, 1), arg<rain_u32>(a, 2)); });
    if (e == "planar_f16_to_rgb8")
        return run(g, b, sharedBytes, false, [&] { planar_f16_to_rgb8(arg<H>(a, 0), arg<unsigned char*>(a, 1), arg<rain_u32>(a, 2)); });
    if (e == "cross_noise_attention_f32_v4" || e == "cross_noise_attention_f32_v1")
    {
        typedef const float* F;
        auto f = e == "cross_noise_attention_f32_v4" ? cross_noise_attention_f32_v4 : cross_noise_attention_f32_v1;
        return run(g, b, sharedBytes, true, [&] { f(arg<F>(a, 0), arg<F>(a, 1), arg<F>(a, 2), arg<float*>(a, 3), arg<int>(a, 4), arg<int>(a, 5), arg<int>(a, 6), arg<int>(a, 7), arg<float>(a, 8)); });
    }
    if (e.rfind("cross_noise_attention_v", 0) == 0 || e == "baseline_batched_attention" || e.rfind("baseline_", 0) == 0)
    {
        if (e == "baseline_to_batched" || e == "baseline_from_batched")
        {
            auto f = e == "baseline_to_batched" ? baseline_to_batched : baseline_from_batched;
            return run(g, b, sharedBytes, false, [&] { f(arg<H>(a, 0), arg<rain_half*>(a, 1), arg<int>(a, 2), arg<int>(a, 3), arg<int>(a, 4), arg<int>(a, 5)); });
        }
        if (e == "baseline_batched_attention")
            return run(g, b, sharedBytes, false, [&] { baseline_batched_attention(arg<H>(a, 0), arg<H>(a, 1), arg<H>(a, 2), arg<rain_half*>(a, 3), arg<int>(a, 4), arg<int>(a, 5), arg<int>(a, 6), arg<float>(a, 7)); });
        auto f = e == "cross_noise_attention_v8" ? cross_noise_attention_v8 : e == "cross_noise_attention_v2" ? cross_noise_attention_v2 : e == "cross_noise_attention_v1" ? cross_noise_attention_v1 : nullptr;
        if (f == nullptr)
            return 1;
        return run(g, b, sharedBytes, true, [&] { f(arg<H>(a, 0), arg<H>(a, 1), arg<H>(a, 2), arg<rain_half*>(a, 3), arg<int>(a, 4), arg<int>(a, 5), arg<int>(a, 6), arg<int>(a, 7), arg<float>(a, 8)); });
    }
    return 1;
}

// Runs a kernel of kernels/*.cu on the CPU: rain_host_launch(entry, grid, block, shared bytes, argument pointers),
// the same launch description cuLaunchKernel receives. "Device" pointers are host pointers here.
//
// Threads: kernels without barriers run their threads one after another. Kernels with warp or block barriers run each
// block's threads as fibers (ucontext, stacks allocated once and reused by every launch) on the calling OS thread: a
// fiber runs until it reaches a barrier, the next fiber runs, and a barrier releases when all its threads arrived. No OS
// thread is created, so a launch costs about a context switch per thread and barrier (the first version started one
// std::thread per CUDA thread, which made the numerical fake-GPU tests take minutes).
#include "cuda_host.h"
#include "common/types.cuh"
#include "noise.cu"
#include "lcm_step_roll.cu"
#include "frame_convert.cu"
#include "cross_noise_attention.cu"
#include "bench_baseline.cu"
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <ucontext.h>

thread_local dim3 threadIdx;
dim3 blockIdx, blockDim, gridDim;

namespace {

// The kernels' block-scope `extern __shared__ … shared[]` inside their unnamed namespace names this array (one
// unnamed namespace per translation unit).
alignas(16) unsigned char shared[1 << 17];

template <class T> T arg(void** args, int i) { T v; std::memcpy(&v, args[i], sizeof(T)); return v; }

// Launch results: 0 ok, 1 unknown entry, 2 shared memory too large, 3 block not a whole number of warps for a warp
// kernel, 4 a barrier no thread can pass (deadlock), 5 a misaligned or out-of-range cp.async, 6 a warp collective
// with more bytes than the exchange holds.
int failure = 0;

struct Barrier { unsigned expected = 0, arrived = 0, generation = 0; };

struct CpCopy { void* dst; const void* src; unsigned bytes; };

struct Fiber
{
    ucontext_t context;
    dim3 thread;
    const Barrier* waitingOn = nullptr;
    unsigned waitGeneration = 0;
    bool done = false;
    std::vector<CpCopy> openGroup;
    std::deque<std::vector<CpCopy>> groups;
};

constexpr size_t StackBytes = 64 * 1024;
ucontext_t scheduler;
Fiber* current = nullptr;
std::vector<std::unique_ptr<char[]>> stacks; // grown to the largest block seen, reused by every launch
std::vector<Fiber> fibers;
std::vector<Barrier> warpBarriers;
Barrier blockBarrier;
const std::function<void()>* body = nullptr;
// Warp collectives: each lane's contribution (at most 64 bytes) for the warp's current exchange.
constexpr unsigned ExchangeBytes = 64;
std::vector<unsigned char> exchange;

void fiberMain()
{
    (*body)();
    current->done = true; // uc_link returns to the scheduler
}

void wait(Barrier& b)
{
    unsigned generation = b.generation;
    if (++b.arrived == b.expected)
    {
        b.arrived = 0;
        b.generation++;
        return;
    }

    current->waitingOn = &b;
    current->waitGeneration = generation;
    swapcontext(&current->context, &scheduler);
    current->waitingOn = nullptr;
}

// Runs one block's threads as fibers until all are done; false on a deadlock.
bool runFibers(unsigned threads)
{
    while (stacks.size() < threads)
        stacks.push_back(std::make_unique<char[]>(StackBytes));
    fibers.assign(threads, Fiber{});
    warpBarriers.assign((threads + 31) / 32, Barrier{32, 0, 0});
    blockBarrier = Barrier{threads, 0, 0};
    for (unsigned t = 0; t < threads; ++t)
    {
        Fiber& f = fibers[t];
        f.thread = dim3{t, 0, 0};
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = stacks[t].get();
        f.context.uc_stack.ss_size = StackBytes;
        f.context.uc_link = &scheduler;
        makecontext(&f.context, fiberMain, 0);
    }

    unsigned remaining = threads;
    while (remaining > 0)
    {
        bool progressed = false;
        for (Fiber& f : fibers)
        {
            if (f.done || (f.waitingOn != nullptr && f.waitingOn->generation == f.waitGeneration))
                continue;
            current = &f;
            threadIdx = f.thread;
            swapcontext(&scheduler, &f.context);
            progressed = true;
            if (f.done)
                remaining--;
        }

        if (!progressed)
            return false;
    }

    current = nullptr;
    return true;
}

// 0 ok, else a launch result (see `failure`).
int run(dim3 grid, dim3 block, unsigned sharedBytes, bool threaded, const std::function<void()>& kernel)
{
    if (sharedBytes > sizeof(shared))
        return 2;
    unsigned threads = block.x * block.y * block.z;
    if (threaded && threads % 32 != 0)
        return 3;
    gridDim = grid;
    blockDim = block;
    body = &kernel;
    exchange.assign((size_t)threads * ExchangeBytes, 0);
    failure = 0;
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
                kernel();
            }
            continue;
        }

        if (!runFibers(threads))
            return 4;
        if (failure != 0)
            return failure;
    }

    return failure;
}

} // namespace

void rain_syncwarp() { wait(warpBarriers[current->thread.x / 32]); }

void rain_syncthreads() { wait(blockBarrier); }

unsigned rain_lane() { return threadIdx.x & 31; }

void rain_warp_all_gather(const void* mine, void* all, unsigned bytes)
{
    if (bytes > ExchangeBytes)
    {
        failure = 6;
        bytes = ExchangeBytes;
    }

    unsigned warp = threadIdx.x / 32;
    unsigned char* slots = exchange.data() + (size_t)warp * 32 * ExchangeBytes;
    std::memcpy(slots + (size_t)rain_lane() * ExchangeBytes, mine, bytes);
    rain_syncwarp(); // every lane's contribution is in
    for (unsigned lane = 0; lane < 32; ++lane)
        std::memcpy((unsigned char*)all + (size_t)lane * bytes, slots + (size_t)lane * ExchangeBytes, bytes);
    rain_syncwarp(); // every lane read them before the next exchange overwrites them
}

void rain_cp_async(void* dst, const void* src, unsigned bytes)
{
    bool sizeOk = bytes == 4 || bytes == 8 || bytes == 16;
    bool inShared = (unsigned char*)dst >= shared && (unsigned char*)dst + bytes <= shared + sizeof(shared);
    if (!sizeOk || !inShared || (uintptr_t)dst % bytes != 0 || (uintptr_t)src % bytes != 0)
    {
        failure = 5;
        return;
    }

    current->openGroup.push_back(CpCopy{dst, src, bytes});
}

void rain_cp_async_commit()
{
    current->groups.push_back(std::move(current->openGroup));
    current->openGroup.clear();
}

void rain_cp_async_wait(int pending)
{
    while ((int)current->groups.size() > pending)
    {
        for (const CpCopy& c : current->groups.front())
            std::memcpy(c.dst, c.src, c.bytes);
        current->groups.pop_front();
    }
}

extern "C" int rain_host_launch(const char* entry, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
    unsigned sharedBytes, void** a)
{
    // One launch at a time: the block state (shared memory, barriers, fibers) is the process's.
    static std::mutex gate;
    std::lock_guard<std::mutex> lock(gate);
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
    if (e == "cross_noise_attention_f32_vec4" || e == "cross_noise_attention_f32_vec1")
    {
        typedef const float* F;
        auto f = e == "cross_noise_attention_f32_vec4" ? cross_noise_attention_f32_vec4 : cross_noise_attention_f32_vec1;
        return run(g, b, sharedBytes, true, [&] { f(arg<F>(a, 0), arg<F>(a, 1), arg<F>(a, 2), arg<float*>(a, 3), arg<int>(a, 4), arg<int>(a, 5), arg<int>(a, 6), arg<int>(a, 7), arg<float>(a, 8)); });
    }
    if (e.rfind("cross_noise_attention_", 0) == 0 || e.rfind("baseline_", 0) == 0)
    {
        if (e == "baseline_to_batched" || e == "baseline_from_batched")
        {
            auto f = e == "baseline_to_batched" ? baseline_to_batched : baseline_from_batched;
            return run(g, b, sharedBytes, false, [&] { f(arg<H>(a, 0), arg<rain_half*>(a, 1), arg<int>(a, 2), arg<int>(a, 3), arg<int>(a, 4), arg<int>(a, 5)); });
        }
        if (e == "baseline_batched_attention")
            return run(g, b, sharedBytes, false, [&] { baseline_batched_attention(arg<H>(a, 0), arg<H>(a, 1), arg<H>(a, 2), arg<rain_half*>(a, 3), arg<int>(a, 4), arg<int>(a, 5), arg<int>(a, 6), arg<float>(a, 7)); });
        auto f = e == "cross_noise_attention_vec8" ? cross_noise_attention_vec8 : e == "cross_noise_attention_vec2" ? cross_noise_attention_vec2
            : e == "cross_noise_attention_vec1" ? cross_noise_attention_vec1 : e == "cross_noise_attention_mma" ? cross_noise_attention_mma : nullptr;
        if (f == nullptr)
            return 1;
        return run(g, b, sharedBytes, true, [&] { f(arg<H>(a, 0), arg<H>(a, 1), arg<H>(a, 2), arg<rain_half*>(a, 3), arg<int>(a, 4), arg<int>(a, 5), arg<int>(a, 6), arg<int>(a, 7), arg<float>(a, 8)); });
    }
    return 1;
}

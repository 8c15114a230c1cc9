// A fake CUDA driver (libcuda.so.1) that runs on the CPU, for the engine's CUDA backend tests where no GPU exists.
// Memory is host memory, every stream runs its work at once (so synchronisation is trivial), stream capture records
// the work and graph launches replay it, and kernels run through the host emulation of the real kernel sources
// (rain_host_launch, tests/Rain.Kernels.Tests/HostEmulation); host functions (cuLaunchHostFunc, through which the fake
// TensorRT's engines run their parts) are stream work like any other. Signatures follow cuda.h. It checks what a real
// driver would refuse and the fake can see: unknown or freed pointers, copies outside an allocation, module loads
// during capture, launches of unknown kernels, work on a destroyed stream. An allocation during a capture invalidates
// it (cuStreamEndCapture then fails with CUDA_ERROR_STREAM_CAPTURE_INVALIDATED), as on a GPU.
// Time: work runs at once, but FAKE_CUDA_KERNEL_US=<µs> models each kernel as that long on the device: the stream is
// busy until then, and a synchronisation waits for it — spinning a core, as CUDA does by default, unless the primary
// context was retained with CU_CTX_SCHED_BLOCKING_SYNC (then it sleeps). FAKE_CUDA_DEVICES=<n> shows n devices.
#include <chrono>
#include <thread>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

extern "C" int rain_host_launch(const char* entry, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
    unsigned sharedBytes, void** args);

namespace {

typedef unsigned long long devptr;
enum { OK = 0, INVALID_VALUE = 1, NOT_INITIALIZED = 3, INVALID_DEVICE = 101, INVALID_IMAGE = 200, INVALID_CONTEXT = 201,
       INVALID_HANDLE = 400, NOT_FOUND = 500, STREAM_CAPTURE_UNSUPPORTED = 900, STREAM_CAPTURE_INVALIDATED = 901,
       GRAPH_EXEC_UPDATE_FAILURE = 910, LAUNCH_FAILED = 719 };
enum { SCHED_BLOCKING_SYNC = 0x04, SCHED_MASK = 0x07 };

struct Op { std::string kind; std::function<int()> run; };
struct Stream { bool capturing = false; bool invalidated = false; std::vector<Op> recorded; std::chrono::steady_clock::time_point busyUntil{}; };
struct Graph { std::vector<Op> ops; };
struct Module { std::map<std::string, std::string*> functions; };
struct Event { std::chrono::steady_clock::time_point at; };

std::mutex gate;
bool initialised = false;
int primaryRefs = 0;
thread_local void* current = nullptr;
std::map<devptr, size_t> deviceMemory;   // base -> size
std::map<void*, size_t> hostMemory;
std::vector<Stream*> streams;
long liveObjects = 0;
int capturingStreams = 0;
char contextTokens[8];
unsigned primaryFlags[8];

int deviceCount()
{
    static const int n = [] { const char* v = std::getenv("FAKE_CUDA_DEVICES"); int k = v ? std::atoi(v) : 1; return k < 1 ? 1 : k > 8 ? 8 : k; }();
    return n;
}

bool isContext(void* ctx) { return ctx >= (void*)contextTokens && ctx < (void*)(contextTokens + deviceCount()); }
int deviceOf(void* ctx) { return (int)((char*)ctx - contextTokens); }

// Modelled device time of one kernel (FAKE_CUDA_KERNEL_US), added to its stream's busy time when the kernel runs.
std::chrono::microseconds kernelTime()
{
    static const long us = [] { const char* v = std::getenv("FAKE_CUDA_KERNEL_US"); return v ? std::atol(v) : 0L; }();
    return std::chrono::microseconds(us);
}

void occupy(Stream* s)
{
    if (s == nullptr || kernelTime().count() == 0) return;
    auto now = std::chrono::steady_clock::now();
    s->busyUntil = (s->busyUntil > now ? s->busyUntil : now) + kernelTime();
}

// Waits until the stream's modelled work is done, as the current context's scheduling flags say: blocking sync sleeps,
// anything else (auto, spin, yield) keeps the calling thread busy.
void waitFor(Stream* s)
{
    if (s == nullptr) return;
    bool blocking = current != nullptr && (primaryFlags[deviceOf(current)] & SCHED_BLOCKING_SYNC) != 0;
    if (blocking)
    {
        std::this_thread::sleep_until(s->busyUntil);
        return;
    }
    while (std::chrono::steady_clock::now() < s->busyUntil) { }
}

bool inside(devptr p, size_t bytes)
{
    auto it = deviceMemory.upper_bound(p);
    if (it == deviceMemory.begin())
        return false;
    --it;
    return p >= it->first && p + bytes <= it->first + it->second;
}

int enqueue(void* stream, std::string kind, std::function<int()> work)
{
    Stream* s = (Stream*)stream;
    if (s != nullptr && s->capturing)
    {
        s->recorded.push_back(Op{kind, std::move(work)});
        return OK;
    }
    if (kind.rfind("kernel ", 0) == 0)
        occupy(s);
    return work();
}

// Argument sizes of every kernel, in order (the real driver knows them from the module's metadata).
std::vector<int> argumentSizes(const std::string& e)
{
    if (e == "noise") return {8, 8, 8, 4, 8, 4, 8, 8};
    if (e == "lcm_step_roll") return {8, 8, 8, 8, 8, 8, 8, 4, 4, 4};
    if (e == "rgb8_to_planar_f16" || e == "planar_f16_to_rgb8" || e == "rgb8_to_planar_u8" || e == "planar_f32_to_rgb8") return {8, 8, 4};
    if (e.rfind("cross_noise_attention_", 0) == 0) return {8, 8, 8, 8, 4, 4, 4, 4, 4};
    if (e == "baseline_to_batched" || e == "baseline_from_batched") return {8, 8, 4, 4, 4, 4};
    if (e == "baseline_batched_attention") return {8, 8, 8, 8, 4, 4, 4, 4};
    return {};
}

} // namespace

extern "C" {

int cuInit(unsigned flags) { if (flags != 0) return INVALID_VALUE; initialised = true; return OK; }
int cuDriverGetVersion(int* v) { *v = 13000; return OK; }
int cuDeviceGetCount(int* n) { if (!initialised) return NOT_INITIALIZED; *n = deviceCount(); return OK; }
int cuDeviceGet(int* d, int ordinal) { if (ordinal < 0 || ordinal >= deviceCount()) return INVALID_DEVICE; *d = ordinal; return OK; }
int cuDeviceGetName(char* name, int length, int d)
{
    if (d < 0 || d >= deviceCount()) return INVALID_DEVICE;
    if (d == 0) std::snprintf(name, (size_t)length, "Fake CUDA device (CPU host emulation)");
    else std::snprintf(name, (size_t)length, "Fake CUDA device %d (CPU host emulation)", d);
    return OK;
}
int cuDeviceGetAttribute(int* value, int attribute, int d)
{
    if (d < 0 || d >= deviceCount()) return INVALID_DEVICE;
    switch (attribute) { case 75: *value = 9; break; case 76: *value = 0; break; case 16: *value = 4; break; case 8: *value = 49152; break; default: *value = 0; }
    return OK;
}
int cuDeviceTotalMem_v2(size_t* bytes, int d) { if (d < 0 || d >= deviceCount()) return INVALID_DEVICE; *bytes = (size_t)1 << 30; return OK; }
int cuDevicePrimaryCtxRetain(void** ctx, int d) { if (d < 0 || d >= deviceCount()) return INVALID_DEVICE; primaryRefs++; *ctx = &contextTokens[d]; return OK; }
int cuDevicePrimaryCtxRelease_v2(int d) { if (d < 0 || d >= deviceCount() || primaryRefs == 0) return INVALID_CONTEXT; primaryRefs--; return OK; }
int cuDevicePrimaryCtxSetFlags_v2(int d, unsigned flags)
{
    if (d < 0 || d >= deviceCount()) return INVALID_DEVICE;
    if ((flags & ~0x1Fu) != 0 || (flags & SCHED_MASK) == 3 || (flags & SCHED_MASK) > 4) return INVALID_VALUE;
    primaryFlags[d] = flags;
    return OK;
}
int cuDevicePrimaryCtxGetState(int d, unsigned* flags, int* active)
{
    if (d < 0 || d >= deviceCount()) return INVALID_DEVICE;
    *flags = primaryFlags[d];
    *active = primaryRefs > 0 ? 1 : 0;
    return OK;
}
int cuCtxSetCurrent(void* ctx) { if (ctx != nullptr && !isContext(ctx)) return INVALID_CONTEXT; current = ctx; return OK; }
int cuCtxGetCurrent(void** ctx) { *ctx = current; return OK; }
int cuCtxSynchronize() { return current == nullptr ? INVALID_CONTEXT : OK; }

int cuMemAlloc_v2(devptr* p, size_t bytes)
{
    if (current == nullptr) return INVALID_CONTEXT;
    if (capturingStreams > 0)
    {
        // Not capturable: refused, and every capture in progress is invalidated (thread-local mode on one thread).
        for (Stream* st : streams) if (st->capturing) st->invalidated = true;
        return STREAM_CAPTURE_UNSUPPORTED;
    }
    if (bytes == 0) return INVALID_VALUE;
    void* m = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    std::memset(m, 0xCD, bytes); // garbage, like fresh device memory
    *p = (devptr)m;
    deviceMemory[*p] = bytes;
    liveObjects++;
    return OK;
}
int cuMemFree_v2(devptr p)
{
    auto it = deviceMemory.find(p);
    if (it == deviceMemory.end()) return INVALID_VALUE;
    deviceMemory.erase(it);
    std::free((void*)p);
    liveObjects--;
    return OK;
}
int cuMemHostAlloc(void** p, size_t bytes, unsigned flags)
{
    if (current == nullptr) return INVALID_CONTEXT;
    (void)flags;
    *p = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
    hostMemory[*p] = bytes;
    liveObjects++;
    return OK;
}
int cuMemFreeHost(void* p)
{
    auto it = hostMemory.find(p);
    if (it == hostMemory.end()) return INVALID_VALUE;
    hostMemory.erase(it);
    std::free(p);
    liveObjects--;
    return OK;
}

int cuMemcpyHtoD_v2(devptr d, const void* h, size_t n) { if (!inside(d, n)) return INVALID_VALUE; std::memcpy((void*)d, h, n); return OK; }
int cuMemcpyDtoH_v2(void* h, devptr d, size_t n) { if (!inside(d, n)) return INVALID_VALUE; std::memcpy(h, (void*)d, n); return OK; }
int cuMemcpyDtoD_v2(devptr d, devptr s, size_t n) { if (!inside(d, n) || !inside(s, n)) return INVALID_VALUE; std::memmove((void*)d, (void*)s, n); return OK; }
int cuMemcpyHtoDAsync_v2(devptr d, const void* h, size_t n, void* stream)
{
    if (!inside(d, n)) return INVALID_VALUE;
    return enqueue(stream, "memcpy", [=] { std::memcpy((void*)d, h, n); return OK; });
}
int cuMemcpyDtoHAsync_v2(void* h, devptr d, size_t n, void* stream)
{
    if (!inside(d, n)) return INVALID_VALUE;
    return enqueue(stream, "memcpy", [=] { std::memcpy(h, (void*)d, n); return OK; });
}
int cuMemcpyDtoDAsync_v2(devptr d, devptr s, size_t n, void* stream)
{
    if (!inside(d, n) || !inside(s, n)) return INVALID_VALUE;
    return enqueue(stream, "memcpy", [=] { std::memmove((void*)d, (void*)s, n); return OK; });
}
int cuMemsetD8_v2(devptr d, unsigned char v, size_t n) { if (!inside(d, n)) return INVALID_VALUE; std::memset((void*)d, v, n); return OK; }
int cuMemsetD32_v2(devptr d, unsigned v, size_t n)
{
    if (!inside(d, n * 4)) return INVALID_VALUE;
    for (size_t i = 0; i < n; ++i) std::memcpy((char*)d + 4 * i, &v, 4);
    return OK;
}
int cuMemsetD8Async(devptr d, unsigned char v, size_t n, void* stream) { return enqueue(stream, "memset", [=] { return cuMemsetD8_v2(d, v, n); }); }
int cuMemsetD32Async(devptr d, unsigned v, size_t n, void* stream) { return enqueue(stream, "memset", [=] { return cuMemsetD32_v2(d, v, n); }); }

int cuStreamCreate(void** s, unsigned flags)
{
    (void)flags;
    if (current == nullptr) return INVALID_CONTEXT;
    Stream* st = new Stream();
    streams.push_back(st);
    *s = st;
    liveObjects++;
    return OK;
}
int cuStreamDestroy_v2(void* s)
{
    if (s == nullptr) return INVALID_HANDLE;
    for (size_t i = 0; i < streams.size(); ++i) if (streams[i] == s) { streams.erase(streams.begin() + (long)i); break; }
    delete (Stream*)s;
    liveObjects--;
    return OK;
}
int cuStreamSynchronize(void* s)
{
    if (s != nullptr && ((Stream*)s)->capturing) return STREAM_CAPTURE_UNSUPPORTED;
    waitFor((Stream*)s);
    return OK;
}
// CU_STREAM_CAPTURE_STATUS_NONE 0, ACTIVE 1, INVALIDATED 2.
int cuStreamIsCapturing(void* s, int* status)
{
    Stream* st = (Stream*)s;
    *status = st == nullptr || !st->capturing ? 0 : st->invalidated ? 2 : 1;
    return OK;
}

int cuEventCreate(void** e, unsigned flags) { (void)flags; *e = new Event(); liveObjects++; return OK; }
int cuEventRecord(void* e, void* s)
{
    // The event completes when the stream's modelled work recorded so far is done.
    auto now = std::chrono::steady_clock::now();
    Stream* st = (Stream*)s;
    ((Event*)e)->at = st != nullptr && st->busyUntil > now ? st->busyUntil : now;
    return OK;
}
int cuEventSynchronize(void* e)
{
    Stream until;
    until.busyUntil = ((Event*)e)->at;
    waitFor(&until);
    return OK;
}
int cuEventElapsedTime(float* ms, void* start, void* end)
{
    *ms = std::chrono::duration<float, std::milli>(((Event*)end)->at - ((Event*)start)->at).count();
    return OK;
}
int cuEventDestroy_v2(void* e) { delete (Event*)e; liveObjects--; return OK; }

int cuModuleLoadDataEx(void** m, const void* image, unsigned n, int* options, void** values)
{
    (void)n; (void)options; (void)values;
    if (capturingStreams > 0) return STREAM_CAPTURE_UNSUPPORTED;
    const unsigned char* b = (const unsigned char*)image;
    bool elf = b[0] == 0x7F && b[1] == 'E' && b[2] == 'L' && b[3] == 'F';
    bool ptx = std::strstr((const char*)image, ".version") != nullptr && std::strstr((const char*)image, ".target") != nullptr;
    if (!elf && !ptx) return INVALID_IMAGE;
    *m = new Module();
    liveObjects++;
    return OK;
}
int cuModuleLoadData(void** m, const void* image) { return cuModuleLoadDataEx(m, image, 0, nullptr, nullptr); }
int cuModuleUnload(void* m)
{
    for (auto& f : ((Module*)m)->functions) delete f.second;
    delete (Module*)m;
    liveObjects--;
    return OK;
}
int cuModuleGetFunction(void** f, void* m, const char* name)
{
    if (argumentSizes(name).empty()) return NOT_FOUND;
    auto& functions = ((Module*)m)->functions;
    if (functions.find(name) == functions.end()) functions[name] = new std::string(name);
    *f = functions[name];
    return OK;
}

int cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
    unsigned shared, void* stream, void** params, void** extra)
{
    if (f == nullptr || params == nullptr || extra != nullptr) return INVALID_VALUE;
    std::string entry = *(std::string*)f;
    // Copy the argument values now, as the driver does: the caller's storage dies with the call.
    std::vector<int> sizes = argumentSizes(entry);
    std::vector<unsigned long long> values(sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i) std::memcpy(&values[i], params[i], (size_t)sizes[i]);
    // FAKE_CUDA_SKIP_KERNELS=1: launches are checked and recorded but not run (smoke runs of the benchmarks, whose
    // full-size kernels would take minutes on the CPU).
    static const bool skip = std::getenv("FAKE_CUDA_SKIP_KERNELS") != nullptr;
    return enqueue(stream, "kernel " + entry, [=]() mutable {
        if (skip)
            return OK;
        std::vector<void*> pointers(values.size());
        for (size_t i = 0; i < values.size(); ++i) pointers[i] = &values[i];
        return rain_host_launch(entry.c_str(), gx, gy, gz, bx, by, bz, shared, pointers.data()) == 0 ? OK : LAUNCH_FAILED;
    });
}

// A host function in stream order (TensorRT's fake engines run their part through it): captured and replayed like a kernel.
int cuLaunchHostFunc(void* stream, void (*fn)(void*), void* userData)
{
    if (fn == nullptr) return INVALID_VALUE;
    return enqueue(stream, "host function", [=] { fn(userData); return OK; });
}

int cuStreamBeginCapture_v2(void* s, int mode)
{
    (void)mode;
    Stream* st = (Stream*)s;
    if (st == nullptr || st->capturing) return INVALID_VALUE;
    st->capturing = true;
    st->invalidated = false;
    st->recorded.clear();
    capturingStreams++;
    return OK;
}
int cuStreamEndCapture(void* s, void** graph)
{
    Stream* st = (Stream*)s;
    if (st == nullptr || !st->capturing) return INVALID_VALUE;
    st->capturing = false;
    capturingStreams--;
    if (st->invalidated)
    {
        st->invalidated = false;
        st->recorded.clear();
        *graph = nullptr;
        return STREAM_CAPTURE_INVALIDATED;
    }
    *graph = new Graph{st->recorded};
    st->recorded.clear();
    liveObjects++;
    return OK;
}
int cuGraphInstantiateWithFlags(void** exec, void* graph, unsigned long long flags)
{
    (void)flags;
    *exec = new Graph{((Graph*)graph)->ops};
    liveObjects++;
    return OK;
}
int cuGraphLaunch(void* exec, void* stream)
{
    for (auto& op : ((Graph*)exec)->ops)
    {
        if (op.kind.rfind("kernel ", 0) == 0)
            occupy((Stream*)stream);
        int r = op.run();
        if (r != OK) return r;
    }
    return OK;
}
struct UpdateInfo { int result; void* errorNode; void* errorFromNode; };
int cuGraphExecUpdate_v2(void* exec, void* graph, UpdateInfo* info)
{
    auto& to = ((Graph*)exec)->ops;
    auto& from = ((Graph*)graph)->ops;
    bool same = to.size() == from.size();
    for (size_t i = 0; same && i < to.size(); ++i) same = to[i].kind == from[i].kind;
    info->result = same ? 0 : 2;
    info->errorNode = info->errorFromNode = nullptr;
    if (!same) return GRAPH_EXEC_UPDATE_FAILURE;
    to = from;
    return OK;
}
int cuGraphExecDestroy(void* exec) { delete (Graph*)exec; liveObjects--; return OK; }
int cuGraphDestroy(void* graph) { delete (Graph*)graph; liveObjects--; return OK; }

int cuGetErrorName(int e, const char** name)
{
    switch (e)
    {
        case OK: *name = "CUDA_SUCCESS"; return OK;
        case INVALID_VALUE: *name = "CUDA_ERROR_INVALID_VALUE"; return OK;
        case INVALID_CONTEXT: *name = "CUDA_ERROR_INVALID_CONTEXT"; return OK;
        case INVALID_DEVICE: *name = "CUDA_ERROR_INVALID_DEVICE"; return OK;
        case INVALID_IMAGE: *name = "CUDA_ERROR_INVALID_IMAGE"; return OK;
        case NOT_FOUND: *name = "CUDA_ERROR_NOT_FOUND"; return OK;
        case STREAM_CAPTURE_UNSUPPORTED: *name = "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED"; return OK;
        case STREAM_CAPTURE_INVALIDATED: *name = "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED"; return OK;
        case GRAPH_EXEC_UPDATE_FAILURE: *name = "CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE"; return OK;
        case LAUNCH_FAILED: *name = "CUDA_ERROR_LAUNCH_FAILED"; return OK;
        default: *name = nullptr; return INVALID_VALUE;
    }
}
int cuGetErrorString(int e, const char** text)
{
    const char* name = nullptr;
    int r = cuGetErrorName(e, &name);
    *text = r == OK ? "reported by the fake CUDA driver" : nullptr;
    return r;
}

// Test hook: objects (allocations, streams, events, modules, graphs) alive now.
long fake_cuda_live_objects() { return liveObjects; }

} // extern "C"

/*
 * A fake libnvinfer / libnvonnxparser for the TensorRT binding's contract tests. Written from scratch in C (no
 * NVIDIA headers): objects are laid out as TensorRT 10.x objects are on Linux (Itanium C++ ABI) — public wrappers
 * [vptr][mImpl] whose vtable holds the complete and deleting destructors at slots 0 and 1, impl objects whose
 * vtables put each method at the slot of shared/trt-abi/vtables.json, the parser with its destructor mid-vtable,
 * and Dims64 (72 bytes) returned through the hidden buffer. Every slot not implemented traps (records the call and
 * returns 0). It checks our side of the ABI, not TensorRT itself.
 *
 * Built twice from this file: plain for libnvinfer.so.10, with -DFAKE_PARSER for libnvonnxparser.so.10. The plain build
 * needs ONNX Runtime's C API header (onnxruntime_c_api.h, from the NuGet package) for FAKEPLAN3 plans, whose engines
 * execute their part's ONNX on ONNX Runtime (loaded with dlopen at deserialization, never linked).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifndef FAKE_PARSER
#include <dlfcn.h>
#include <onnxruntime_c_api.h>
#endif

#define EXPORT __attribute__((visibility("default")))
#define NSLOTS 64

typedef struct { int32_t nbDims; int64_t d[8]; } Dims64;
typedef void (*fn_t)(void);

typedef struct Impl Impl;
typedef struct Pub { void **vtable; Impl *impl; } Pub;

/* One impl struct for every kind; fields used per kind. */
struct Impl {
    void **vtable;
    Pub *pub;
    const char *kind;
    void *logger;
    /* network / plan description */
    char in_name[32], out_name[32];
    Dims64 in_dims;
    int flags_set[8];
    int nflags;
    uint64_t workspace;
    int profiles;
    /* context */
    Pub *engine;
    void *in_addr, *out_addr, *dev_mem;
    int64_t dev_size;
    Dims64 ctx_in_dims;
    /* host memory */
    char *data;
    size_t size;
    int wrong_pimpl;
    /* multi-tensor plans (FAKEPLAN2): the engine's table in data, a context's addresses in data */
    int multi;
    /* network: the ONNX file the parser read; config: the timing cache set on it */
    char onnx[1024];
    Pub *timing;
    /* context: enqueued at least once (TensorRT initialises a context lazily at its first enqueue) */
    int enqueued;
    /* FAKEPLAN3: the engine's ONNX Runtime session, a context's bound runs; cleanup frees them with the object */
    void *ort;
    void (*cleanup)(Impl *self);
};

/* FAKEPLAN2: engines with any number of I/O tensors, for wiring tests of whole pipelines. enqueueV3 checks that every
 * tensor has an address and the scratch is large enough, then zero-fills every output. */
#define MAXT 160
typedef struct { int n; char name[MAXT][256]; int mode[MAXT]; int dtype[MAXT]; Dims64 dims[MAXT]; } Multi;
static int multi_find(const Multi *m, const char *name) { for (int i = 0; i < m->n; i++) if (strcmp(m->name[i], name) == 0) return i; return -1; }
static int64_t multi_bytes(const Multi *m, int i)
{
    int64_t n = 1;
    for (int k = 0; k < m->dims[i].nbDims; k++) n *= m->dims[i].d[k];
    int dt = m->dtype[i];
    return n * (dt == 8 ? 8 : dt == 1 || dt == 7 ? 2 : dt == 5 || dt == 2 || dt == 4 ? 1 : 4);
}

/* ---- shared state: events, counters, settings (in the library that defines them) ---- */
#ifndef FAKE_PARSER
static char g_events[1 << 16];
static size_t g_len;
static int g_live;
static int g_version = 101600;
static int g_wrong_pimpl;
static void *g_last_stream;
static int g_fail_enqueue;
static void *g_global_logger; /* the first logger TensorRT is given becomes its global logger: kept for the process */

EXPORT void fake_event(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g_events + g_len, sizeof g_events - g_len, fmt, ap);
    va_end(ap);
    if (n > 0 && g_len + (size_t)n + 1 < sizeof g_events) { g_len += (size_t)n; g_events[g_len++] = ';'; g_events[g_len] = 0; }
}
EXPORT const char *fake_events(void) { return g_events; }
EXPORT int fake_live_objects(void) { return g_live; }
EXPORT void fake_set_version(int v) { g_version = v; }
EXPORT void fake_set_wrong_pimpl(int on) { g_wrong_pimpl = on; }
EXPORT void *fake_last_stream(void) { return g_last_stream; }
/* Makes enqueueV3 return false (as TensorRT does when it refuses, e.g. during a capture it cannot support). */
EXPORT void fake_set_enqueue_fail(int on) { g_fail_enqueue = on; }
EXPORT int fake_enqueue_fails(void) { return g_fail_enqueue; }
EXPORT void fake_reset(void) { g_len = 0; g_events[0] = 0; g_live = 0; g_version = 101600; g_wrong_pimpl = 0; g_last_stream = 0; g_fail_enqueue = 0; }
EXPORT void fake_live_delta(int d) { g_live += d; }
/* The global logger (the first one given to a factory) and a message through it, as TensorRT may log at any later time. */
EXPORT void *fake_global_logger(void) { return g_global_logger; }
static void log_to(void *logger, int severity, const char *msg);
EXPORT void fake_log_global(int severity, const char *msg) { if (g_global_logger) log_to(g_global_logger, severity, msg); }
EXPORT int getInferLibVersion(void) { return g_version; }
#else
void fake_event(const char *fmt, ...);
void fake_live_delta(int d);
int fake_enqueue_fails(void);
#endif

static void trap(void) { fake_event("trap"); }

static void log_to(void *logger, int severity, const char *msg)
{
    void **vt = *(void ***)logger;
    ((void (*)(void *, int32_t, const char *))vt[0])(logger, severity, msg);
}

/* ---- public wrapper: slot 0 complete dtor, slot 1 deleting dtor ---- */
static void pub_complete_dtor(Pub *p) { (void)p; fake_event("complete-dtor-called"); }
static void pub_deleting_dtor(Pub *p)
{
    fake_event("delete %s", p->impl->kind);
    fake_live_delta(-1);
    if (p->impl->cleanup) p->impl->cleanup(p->impl);
    free(p->impl->data);
    free(p->impl);
    free(p);
}
static void *g_pub_vtable[2] = { (void *)pub_complete_dtor, (void *)pub_deleting_dtor };

static void **new_vtable(void)
{
    void **vt = malloc(sizeof(void *) * NSLOTS);
    for (int i = 0; i < NSLOTS; i++) vt[i] = (void *)trap;
    return vt;
}

static Pub *new_object(const char *kind, void **vtable, void *logger)
{
    Impl *impl = calloc(1, sizeof(Impl));
    Pub *pub = calloc(1, sizeof(Pub));
    impl->vtable = vtable;
    impl->pub = pub;
    impl->kind = kind;
    impl->logger = logger;
    pub->vtable = g_pub_vtable;
    pub->impl = impl;
    fake_live_delta(1);
    fake_event("new %s", kind);
    return pub;
}

static Pub *get_pimpl(Impl *self) { return self->wrong_pimpl ? (Pub *)0x10 : self->pub; }

#ifndef FAKE_PARSER
/* ---- IHostMemory: 2 data, 3 size ---- */
static void *hm_data(Impl *self) { return self->data; }
static size_t hm_size(Impl *self) { return self->size; }
static void **hm_vtable(void)
{
    static void **vt;
    if (!vt) { vt = new_vtable(); vt[2] = (void *)hm_data; vt[3] = (void *)hm_size; }
    return vt;
}

/* ---- IOptimizationProfile: 2 setDimensions ---- */
static bool prof_set_dims(Impl *self, const char *name, int32_t selector, const Dims64 *dims)
{
    if (strcmp(name, "x") != 0 || dims->nbDims < 1 || dims->nbDims > 8) return false;
    fake_event("setDimensions %s sel=%d nb=%d d0=%lld d1=%lld", name, selector, dims->nbDims, (long long)dims->d[0], (long long)(dims->nbDims > 1 ? dims->d[1] : -1));
    self->in_dims = *dims;
    return true;
}
static void **prof_vtable(void)
{
    static void **vt;
    if (!vt) { vt = new_vtable(); vt[2] = (void *)prof_set_dims; }
    return vt;
}

/* ---- ITimingCache (impl): 2 serialize. Its bytes: "FAKETIMINGCACHE\n" then one line per timed layer set (the key
 *      of a network: its ONNX file's name); a build finds its key (a hit: tactics reused) or times it and adds it. ---- */
#define TIMING_MAGIC "FAKETIMINGCACHE\n"
static Pub *tc_serialize(Impl *self)
{
    Pub *hm = new_object("IHostMemory", hm_vtable(), self->logger);
    hm->impl->data = malloc(self->size + 1);
    memcpy(hm->impl->data, self->data, self->size);
    hm->impl->size = self->size;
    fake_event("serialize ITimingCache %zu bytes", self->size);
    return hm;
}
static void **tc_vtable(void)
{
    static void **vt;
    if (!vt) { vt = new_vtable(); vt[2] = (void *)tc_serialize; }
    return vt;
}
static bool timing_has(Impl *cache, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = cache->data + strlen(TIMING_MAGIC); p && p < cache->data + cache->size; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, n) == 0 && p[n] == '\n') return true;
    return false;
}
static void timing_add(Impl *cache, const char *key)
{
    size_t n = strlen(key);
    cache->data = realloc(cache->data, cache->size + n + 2);
    memcpy(cache->data + cache->size, key, n);
    cache->size += n;
    cache->data[cache->size++] = '\n';
    cache->data[cache->size] = 0;
}

/* ---- IBuilderConfig: 11 setFlag, 25 addOptimizationProfile, 40 createTimingCache, 41 setTimingCache,
 *      43 setMemoryPoolLimit ---- */
static Pub *cfg_create_timing(Impl *self, const void *blob, size_t size)
{
    Pub *cache = new_object("ITimingCache", tc_vtable(), self->logger);
    bool ours = size >= strlen(TIMING_MAGIC) && memcmp(blob, TIMING_MAGIC, strlen(TIMING_MAGIC)) == 0;
    cache->impl->data = malloc((ours ? size : strlen(TIMING_MAGIC)) + 1);
    memcpy(cache->impl->data, ours ? blob : TIMING_MAGIC, ours ? size : strlen(TIMING_MAGIC));
    cache->impl->size = ours ? size : strlen(TIMING_MAGIC);
    cache->impl->data[cache->impl->size] = 0;
    /* a blob that is not a timing cache of this TensorRT: the cache starts empty and setTimingCache refuses it */
    cache->impl->nflags = size > 0 && !ours;
    fake_event("createTimingCache %zu bytes", size);
    return cache;
}
static bool cfg_set_timing(Impl *self, Pub *cache, bool ignore_mismatch)
{
    if (!cache || strcmp(cache->impl->kind, "ITimingCache") != 0) { fake_event("setTimingCache: not a timing cache (an impl pointer?)"); return false; }
    if (cache->impl->nflags && !ignore_mismatch) { log_to(self->logger, 1, "fake: the timing cache was not made by this TensorRT"); return false; }
    self->timing = cache;
    fake_event("setTimingCache ignoreMismatch=%d", (int)ignore_mismatch);
    return true;
}
static Impl *g_profile_for_config;
static void cfg_set_flag(Impl *self, int32_t flag) { if (self->nflags < 8) self->flags_set[self->nflags++] = flag; fake_event("setFlag %d", flag); }
static int32_t cfg_add_profile(Impl *self, Pub *profile)
{
    fake_event("addOptimizationProfile");
    g_profile_for_config = profile->impl;
    return self->profiles++;
}
static void cfg_set_pool(Impl *self, int32_t pool, size_t bytes) { fake_event("setMemoryPoolLimit %d %zu", pool, bytes); if (pool == 0) self->workspace = bytes; }
static void **cfg_vtable(void)
{
    static void **vt;
    if (!vt) { vt = new_vtable(); vt[11] = (void *)cfg_set_flag; vt[25] = (void *)cfg_add_profile; vt[40] = (void *)cfg_create_timing; vt[41] = (void *)cfg_set_timing; vt[43] = (void *)cfg_set_pool; }
    return vt;
}

/* ---- INetworkDefinition: no calls through slots (the parser fills it) ---- */
static void **net_vtable(void)
{
    static void **vt;
    if (!vt) vt = new_vtable();
    return vt;
}

/* ---- IBuilder: 7 createBuilderConfig, 8 createNetworkV2, 9 createOptimizationProfile, 14 buildSerializedNetwork ---- */
static Pub *b_create_config(Impl *self) { return new_object("IBuilderConfig", cfg_vtable(), self->logger); }
static Pub *b_create_network(Impl *self, uint32_t flags) { fake_event("createNetworkV2 flags=%u", flags); return new_object("INetworkDefinition", net_vtable(), self->logger); }
static Pub *g_profile;
static Pub *b_create_profile(Impl *self)
{
    /* owned by the builder: freed with it, never deleted by the caller */
    Pub *p = new_object("IOptimizationProfile", prof_vtable(), self->logger);
    fake_live_delta(-1);
    g_profile = p;
    return p;
}
static Pub *b_build(Impl *self, Pub *network, Pub *config)
{
    Impl *net = network->impl, *cfg = config->impl;
    if (strcmp(net->kind, "INetworkDefinition") != 0 || strcmp(cfg->kind, "IBuilderConfig") != 0) { fake_event("build: wrong argument objects"); return NULL; }
    if (!net->in_name[0]) { log_to(self->logger, 1, "fake: the network is empty (nothing was parsed)"); return NULL; }
    if (cfg->timing)
    {
        /* The layers' tactics: reused from the cache, or timed (FAKE_TRT_TACTIC_MS of work each) and added to it. */
        const char *key = strrchr(net->onnx, '/') ? strrchr(net->onnx, '/') + 1 : net->onnx[0] ? net->onnx : net->in_name;
        if (timing_has(cfg->timing->impl, key)) fake_event("timing cache hit %s", key);
        else
        {
            const char *ms = getenv("FAKE_TRT_TACTIC_MS");
            if (ms) { struct timespec t = { atol(ms) / 1000, (atol(ms) % 1000) * 1000000L }; nanosleep(&t, NULL); }
            timing_add(cfg->timing->impl, key);
            fake_event("timing cache miss %s", key);
        }
    }
    Dims64 dims = g_profile_for_config ? g_profile_for_config->in_dims : (Dims64){0};
    char *plan = malloc(512);
    int n = snprintf(plan, 512, "FAKEPLAN in=%s out=%s nb=%d d0=%lld d1=%lld flags=%d,%d ws=%llu",
                     net->in_name, net->out_name, dims.nbDims, (long long)dims.d[0], (long long)dims.d[1],
                     cfg->nflags > 0 ? cfg->flags_set[0] : -1, cfg->nflags > 1 ? cfg->flags_set[1] : -1, (unsigned long long)cfg->workspace);
    Pub *hm = new_object("IHostMemory", hm_vtable(), self->logger);
    hm->impl->data = plan;
    hm->impl->size = (size_t)n;
    log_to(self->logger, 3, "fake: built a plan");
    return hm;
}
static void **builder_vtable(void)
{
    static void **vt;
    if (!vt) { vt = new_vtable(); vt[7] = (void *)b_create_config; vt[8] = (void *)b_create_network; vt[9] = (void *)b_create_profile; vt[14] = (void *)b_build; }
    return vt;
}

/* ---- FAKEPLAN3: a FAKEPLAN2 engine that executes its part's ONNX on ONNX Runtime (CPU, fp32, one thread) ----
 * The engine holds an ONNX Runtime session of the part; enqueueV3 checks the bindings as FAKEPLAN2 does and enqueues
 * the run on the stream through the CUDA driver's cuLaunchHostFunc (the fake driver's, whose device memory is host
 * memory), so a stream capture records the run and every graph replay runs the part again, as with a real engine.
 * The run wraps each bound address as a tensor of the plan's dtype and shape and writes the outputs in place. */
typedef struct {
    const OrtApi *api;
    OrtEnv *env;
    OrtSession *session;
    OrtMemoryInfo *memory;
    void *logger;
    const Multi *m;
    int nin, nout;
    int in[MAXT], out[MAXT];                   /* indices into m, in the order of the names below */
    const char *in_names[MAXT], *out_names[MAXT];
    char onnx[1024];
    char failure[1280];                        /* a failed run (inside the host function): the next enqueue fails with it */
} OrtPart;

/* One context's tensors bound as ONNX Runtime values, made at an enqueue and kept (a captured graph replays it) until
 * the context is deleted; a new one only when the addresses changed since the last enqueue. */
typedef struct OrtRun { OrtPart *part; void *addr[MAXT]; OrtValue *value[MAXT]; struct OrtRun *next; } OrtRun;

static ONNXTensorElementDataType ort_type(int trt)
{
    switch (trt)
    {
        case 0: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
        case 1: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
        case 2: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
        case 3: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
        case 4: return ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
        case 5: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
        case 7: return ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;
        case 8: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
        default: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    }
}

static void log_error(void *logger, const char *fmt, ...)
{
    char text[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    log_to(logger, 1, text);
}

/* Takes an OrtStatus: false (and the message logged) when it is an error. */
static bool ort_ok(const OrtApi *api, OrtStatus *status, void *logger, const char *what, const char *onnx)
{
    if (!status) return true;
    log_error(logger, "fake: ONNX Runtime could not %s for %s: %s", what, onnx, api->GetErrorMessage(status));
    api->ReleaseStatus(status);
    return false;
}

/* ONNX Runtime's C API, once per process: the process's own ONNX Runtime when one is loaded (the .NET binding's, so
 * one copy serves both), else the library the plan names. Never unloaded. */
static const OrtApi *g_ort_api;
static const OrtApi *ort_api(void *logger, const char *library)
{
    if (g_ort_api) return g_ort_api;
    const char *candidates[2] = { "libonnxruntime.so.1", library };
    for (int k = 0; k < 2; k++)
    {
        void *lib = dlopen(candidates[k], RTLD_NOW | (k == 0 ? RTLD_NOLOAD : RTLD_LOCAL));
        if (!lib) { if (k == 1) log_error(logger, "fake: cannot load ONNX Runtime %s: %s", library, dlerror()); continue; }
        const OrtApiBase *(*base)(void) = (const OrtApiBase *(*)(void))dlsym(lib, "OrtGetApiBase");
        const OrtApi *api = base ? base()->GetApi(ORT_API_VERSION) : NULL;
        if (api) { g_ort_api = api; return api; }
        if (k == 1) log_error(logger, "fake: %s has no ONNX Runtime C API of version %d%s%s", library, ORT_API_VERSION, base ? ": it is ONNX Runtime " : "", base ? base()->GetVersionString() : "");
    }
    return NULL;
}

static void ort_part_free(OrtPart *p)
{
    if (!p) return;
    if (p->session) { const char *file = strrchr(p->onnx, '/'); fake_event("release session %s", file ? file + 1 : p->onnx); p->api->ReleaseSession(p->session); }
    if (p->memory) p->api->ReleaseMemoryInfo(p->memory);
    if (p->env) p->api->ReleaseEnv(p->env);
    free(p);
}
static void ort_engine_cleanup(Impl *engine) { ort_part_free(engine->ort); engine->ort = NULL; }

/* Checks the session's inputs (or outputs) against the plan's tensor lines: the same names, roles, dtypes and shapes. */
static bool ort_check_io(OrtPart *p, int outputs)
{
    const OrtApi *api = p->api;
    OrtAllocator *allocator = NULL;
    size_t count = 0;
    if (!ort_ok(api, api->GetAllocatorWithDefaultOptions(&allocator), p->logger, "get its allocator", p->onnx)) return false;
    if (!ort_ok(api, outputs ? api->SessionGetOutputCount(p->session, &count) : api->SessionGetInputCount(p->session, &count), p->logger, "count the tensors", p->onnx)) return false;
    int expected = 0;
    for (int i = 0; i < p->m->n; i++) expected += p->m->mode[i] == (outputs ? 2 : 1);
    if ((int)count != expected) { log_error(p->logger, "fake: %s has %zu %ss, the plan %d", p->onnx, count, outputs ? "output" : "input", expected); return false; }
    for (size_t k = 0; k < count; k++)
    {
        char *name = NULL;
        OrtTypeInfo *type = NULL;
        if (!ort_ok(api, outputs ? api->SessionGetOutputName(p->session, k, allocator, &name) : api->SessionGetInputName(p->session, k, allocator, &name), p->logger, "name a tensor", p->onnx)) return false;
        int i = multi_find(p->m, name);
        bool ok = i >= 0 && p->m->mode[i] == (outputs ? 2 : 1);
        if (!ok) log_error(p->logger, "fake: %s's %s %s is not an %s of the plan", p->onnx, outputs ? "output" : "input", name, outputs ? "output" : "input");
        if (ok && (ok = ort_ok(api, outputs ? api->SessionGetOutputTypeInfo(p->session, k, &type) : api->SessionGetInputTypeInfo(p->session, k, &type), p->logger, "type a tensor", p->onnx)))
        {
            const OrtTensorTypeAndShapeInfo *info = NULL;
            ONNXTensorElementDataType dtype = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
            size_t nb = 0;
            int64_t dims[8] = {0};
            ok = ort_ok(api, api->CastTypeInfoToTensorInfo(type, &info), p->logger, "type a tensor", p->onnx) && info &&
                 ort_ok(api, api->GetTensorElementType(info, &dtype), p->logger, "type a tensor", p->onnx) &&
                 ort_ok(api, api->GetDimensionsCount(info, &nb), p->logger, "shape a tensor", p->onnx) && nb <= 8 &&
                 ort_ok(api, api->GetDimensions(info, dims, nb), p->logger, "shape a tensor", p->onnx);
            if (ok)
            {
                ok = dtype == ort_type(p->m->dtype[i]) && (int)nb == p->m->dims[i].nbDims;
                for (size_t d = 0; ok && d < nb; d++) ok = dims[d] == p->m->dims[i].d[d];
                if (!ok) log_error(p->logger, "fake: %s's tensor %s (ONNX type %d, %zu dims) differs from the plan's line (TensorRT type %d, %d dims)", p->onnx, name, (int)dtype, nb, p->m->dtype[i], p->m->dims[i].nbDims);
            }
            api->ReleaseTypeInfo(type);
        }
        if (ok)
        {
            if (outputs) { p->out[p->nout] = i; p->out_names[p->nout++] = p->m->name[i]; }
            else { p->in[p->nin] = i; p->in_names[p->nin++] = p->m->name[i]; }
        }
        OrtStatus *freed = api->AllocatorFree(allocator, name);
        if (freed) api->ReleaseStatus(freed);
        if (!ok) return false;
    }
    return true;
}

/* The part's session: one intra-op thread, sequential, deterministic kernels; checked against the plan's tensors. */
static OrtPart *ort_open(void *logger, const Multi *m, const char *onnx, const char *library)
{
    if (!onnx[0] || !library[0]) { log_error(logger, "fake: a FAKEPLAN3 plan names no ONNX file (\"onnx <path>\") or no ONNX Runtime (\"ort <path>\")"); return NULL; }
    const OrtApi *api = ort_api(logger, library);
    if (!api) return NULL;
    OrtPart *p = calloc(1, sizeof(OrtPart));
    p->api = api;
    p->logger = logger;
    p->m = m;
    snprintf(p->onnx, sizeof p->onnx, "%s", onnx);
    OrtSessionOptions *options = NULL;
    bool ok = ort_ok(api, api->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "fake_nvinfer", &p->env), logger, "create an environment", onnx) &&
              ort_ok(api, api->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, &p->memory), logger, "describe CPU memory", onnx) &&
              ort_ok(api, api->CreateSessionOptions(&options), logger, "create session options", onnx) &&
              ort_ok(api, api->SetIntraOpNumThreads(options, 1), logger, "set the threads", onnx) &&
              ort_ok(api, api->SetInterOpNumThreads(options, 1), logger, "set the threads", onnx) &&
              ort_ok(api, api->SetSessionExecutionMode(options, ORT_SEQUENTIAL), logger, "set sequential execution", onnx) &&
              ort_ok(api, api->SetDeterministicCompute(options, true), logger, "ask for deterministic compute", onnx) &&
              ort_ok(api, api->CreateSession(p->env, onnx, options, &p->session), logger, "create a session", onnx) &&
              ort_check_io(p, 0) && ort_check_io(p, 1);
    if (options) api->ReleaseSessionOptions(options);
    if (!ok) { ort_part_free(p); return NULL; }
    return p;
}

/* The host function: runs the part on the bound tensors. A failure is logged, poisons the outputs (all bits set: NaN
 * for floats) and is kept, so the next enqueue of the engine fails with it. */
static void ort_run(void *user)
{
    OrtRun *r = user;
    OrtPart *p = r->part;
    const OrtValue *ins[MAXT];
    OrtValue *outs[MAXT];
    for (int k = 0; k < p->nin; k++) ins[k] = r->value[p->in[k]];
    for (int k = 0; k < p->nout; k++) outs[k] = r->value[p->out[k]];
    OrtStatus *status = p->api->Run(p->session, NULL, p->in_names, ins, (size_t)p->nin, p->out_names, (size_t)p->nout, outs);
    if (!status) return;
    snprintf(p->failure, sizeof p->failure, "fake: ONNX Runtime failed to run %s: %s", p->onnx, p->api->GetErrorMessage(status));
    p->api->ReleaseStatus(status);
    fprintf(stderr, "%s\n", p->failure);
    log_to(p->logger, 1, p->failure);
    for (int k = 0; k < p->nout; k++) memset(r->addr[p->out[k]], 0xFF, (size_t)multi_bytes(p->m, p->out[k]));
}

static void ort_context_cleanup(Impl *ctx)
{
    for (OrtRun *r = ctx->ort, *next; r; r = next)
    {
        next = r->next;
        for (int i = 0; i < r->part->m->n; i++) if (r->value[i]) r->part->api->ReleaseValue(r->value[i]);
        free(r);
    }
    ctx->ort = NULL;
}

/* The context's tensors as values: the last ones made when the addresses are unchanged, else new ones. */
static OrtRun *ort_bind(Impl *ctx, OrtPart *p)
{
    void **addr = (void **)ctx->data;
    OrtRun *last = ctx->ort;
    if (last && memcmp(last->addr, addr, sizeof(void *) * (size_t)p->m->n) == 0) return last;
    OrtRun *r = calloc(1, sizeof(OrtRun));
    r->part = p;
    for (int i = 0; i < p->m->n; i++)
    {
        r->addr[i] = addr[i];
        if (!ort_ok(p->api, p->api->CreateTensorWithDataAsOrtValue(p->memory, addr[i], (size_t)multi_bytes(p->m, i), p->m->dims[i].d, (size_t)p->m->dims[i].nbDims,
                                                                   ort_type(p->m->dtype[i]), &r->value[i]), ctx->logger, "wrap a bound tensor", p->onnx))
        {
            for (int k = 0; k < i; k++) p->api->ReleaseValue(r->value[k]);
            free(r);
            return NULL;
        }
    }
    r->next = last;
    ctx->ort = r;
    ctx->cleanup = ort_context_cleanup;
    return r;
}

/* A function of the CUDA driver this process loaded (RAIN_CUDA_DRIVER_PATH, else libcuda.so.1), or NULL when no driver
 * is loaded (the contract tests bind host memory and pass made-up streams). Never loads one itself. */
static void *driver_symbol(const char *name)
{
    const char *path = getenv("RAIN_CUDA_DRIVER_PATH");
    void *lib = path && path[0] ? dlopen(path, RTLD_NOW | RTLD_NOLOAD) : NULL;
    if (!lib) lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    return lib ? dlsym(lib, name) : NULL;
}

/* cuLaunchHostFunc of the loaded CUDA driver. */
typedef int (*host_launch_t)(void *stream, void (*fn)(void *), void *user);
static host_launch_t host_launcher(void *logger)
{
    static host_launch_t launch;
    if (launch) return launch;
    launch = (host_launch_t)driver_symbol("cuLaunchHostFunc");
    if (!launch) log_error(logger, "fake: no CUDA driver with cuLaunchHostFunc is loaded in this process (RAIN_CUDA_DRIVER_PATH or libcuda.so.1), so a FAKEPLAN3 engine cannot enqueue its run");
    return launch;
}

/* TensorRT initialises an execution context at its first enqueueV3 (allocations, tactic set-up) and asks to run every
 * context once before capturing it: under capture those calls are not allowed. The fake does the same: a context's
 * first enqueue allocates device memory through the driver, which the (fake) driver refuses during a capture and which
 * invalidates the capture, so enqueueV3 fails as TensorRT's may. */
static bool first_enqueue_allowed(Impl *ctx, void *stream)
{
    if (ctx->enqueued) return true;
    typedef int (*capturing_t)(void *, int *);
    typedef int (*alloc_t)(unsigned long long *, size_t);
    typedef int (*release_t)(unsigned long long);
    capturing_t is_capturing = (capturing_t)driver_symbol("cuStreamIsCapturing");
    alloc_t alloc = (alloc_t)driver_symbol("cuMemAlloc_v2");
    release_t release = (release_t)driver_symbol("cuMemFree_v2");
    if (is_capturing && alloc && release)
    {
        int status = 0;
        unsigned long long scratch = 0;
        int rc = is_capturing(stream, &status) == 0 && status != 0 ? alloc(&scratch, 256) : 0;
        if (rc != 0)
        {
            log_error(ctx->logger, "fake: the first enqueueV3 of this execution context ran under stream capture; its initialisation (cudaMalloc, CUresult %d) cannot be captured. Run every context once before capturing it", rc);
            return false;
        }
        if (scratch) release(scratch);
    }
    ctx->enqueued = 1;
    return true;
}

static bool ort_enqueue(Impl *ctx, OrtPart *p, void *stream)
{
    if (p->failure[0]) { log_to(ctx->logger, 1, p->failure); return false; }
    host_launch_t launch = host_launcher(ctx->logger);
    OrtRun *r = launch ? ort_bind(ctx, p) : NULL;
    if (!r) return false;
    int rc = launch(stream, ort_run, r);
    if (rc != 0) { log_error(ctx->logger, "fake: cuLaunchHostFunc failed (CUresult %d) for %s", rc, p->onnx); return false; }
    return true;
}

/* ---- IExecutionContext: 2 getPImpl, 7 getEngine, 21 setInputShape, 22 getTensorShape, 24 setTensorAddress,
 *      37 enqueueV3, 49 setDeviceMemoryV2 ---- */
static Pub *ctx_get_engine(Impl *self) { return self->engine; }
static bool ctx_set_input_shape(Impl *self, const char *name, const Dims64 *dims)
{
    if (self->multi)
    {
        const Multi *m = (const Multi *)self->engine->impl->data;
        int i = multi_find(m, name);
        if (i < 0 || m->mode[i] != 1 || dims->nbDims != m->dims[i].nbDims) return false;
        for (int k = 0; k < dims->nbDims; k++) if (dims->d[k] != m->dims[i].d[k]) return false;
        return true;
    }
    if (strcmp(name, self->engine->impl->in_name) != 0) return false;
    self->ctx_in_dims = *dims;
    fake_event("setInputShape %s nb=%d", name, dims->nbDims);
    return true;
}
static Dims64 ctx_get_shape(Impl *self, const char *name)
{
    Dims64 d = { -1, {0} };
    if (self->multi) { const Multi *m = (const Multi *)self->engine->impl->data; int i = multi_find(m, name); if (i >= 0) d = m->dims[i]; return d; }
    if (strcmp(name, self->engine->impl->in_name) == 0 || strcmp(name, self->engine->impl->out_name) == 0) d = self->ctx_in_dims;
    return d;
}
static bool ctx_set_address(Impl *self, const char *name, void *p)
{
    Impl *e = self->engine->impl;
    if (self->multi) { int i = multi_find((Multi *)e->data, name); if (i < 0) return false; ((void **)self->data)[i] = p; return true; }
    if (strcmp(name, e->in_name) == 0) self->in_addr = p;
    else if (strcmp(name, e->out_name) == 0) self->out_addr = p;
    else return false;
    fake_event("setTensorAddress %s", name);
    return true;
}
static bool ctx_enqueue(Impl *self, void *stream)
{
    g_last_stream = stream;
    if (fake_enqueue_fails()) { log_to(self->logger, 1, "fake: enqueueV3 refused"); return false; }
    if (self->multi)
    {
        const Multi *m = (const Multi *)self->engine->impl->data;
        if (!self->dev_mem || self->dev_size < self->engine->impl->dev_size) { log_to(self->logger, 1, "fake: enqueue without enough device memory"); return false; }
        for (int i = 0; i < m->n; i++) if (!((void **)self->data)[i]) { log_to(self->logger, 1, "fake: enqueue with an unbound tensor"); return false; }
        if (!first_enqueue_allowed(self, stream)) return false;
        if (self->engine->impl->ort) return ort_enqueue(self, self->engine->impl->ort, stream);
        for (int i = 0; i < m->n; i++) if (m->mode[i] == 2) memset(((void **)self->data)[i], 0, (size_t)multi_bytes(m, i));
        return true;
    }
    if (!self->in_addr || !self->out_addr || !self->dev_mem || self->ctx_in_dims.nbDims < 1) { log_to(self->logger, 1, "fake: enqueue without shapes, addresses or device memory"); return false; }
    if (self->dev_size < self->engine->impl->dev_size) { log_to(self->logger, 1, "fake: device memory smaller than getDeviceMemorySizeV2"); return false; }
    int64_t n = 1;
    for (int i = 0; i < self->ctx_in_dims.nbDims; i++) n *= self->ctx_in_dims.d[i];
    const float *x = self->in_addr;
    float *y = self->out_addr;
    for (int64_t i = 0; i < n; i++) y[i] = 2.0f * x[i];
    fake_event("enqueueV3");
    return true;
}
static void ctx_set_dev_mem(Impl *self, void *p, int64_t size) { self->dev_mem = p; self->dev_size = size; fake_event("setDeviceMemoryV2 %lld", (long long)size); }
static void **ctx_vtable(void)
{
    static void **vt;
    if (!vt) { vt = new_vtable(); vt[2] = (void *)get_pimpl; vt[7] = (void *)ctx_get_engine; vt[21] = (void *)ctx_set_input_shape; vt[22] = (void *)ctx_get_shape;
               vt[24] = (void *)ctx_set_address; vt[37] = (void *)ctx_enqueue; vt[49] = (void *)ctx_set_dev_mem; }
    return vt;
}

/* ---- ICudaEngine: 2 getPImpl, 5 createExecutionContext, 19 getTensorShape, 20 getTensorDataType,
 *      23 getTensorIOMode, 30 getNbIOTensors, 31 getIOTensorName, 52 getDeviceMemorySizeV2 ---- */
static Pub *e_create_ctx(Impl *self, int32_t strategy)
{
    if (strategy != 2) { log_to(self->logger, 1, "fake: only kUSER_MANAGED contexts"); return NULL; }
    Pub *c = new_object("IExecutionContext", ctx_vtable(), self->logger);
    c->impl->engine = self->pub;
    if (self->multi) { c->impl->multi = 1; c->impl->data = calloc(MAXT, sizeof(void *)); }
    c->impl->wrong_pimpl = g_wrong_pimpl;
    return c;
}
static Dims64 e_get_shape(Impl *self, const char *name)
{
    Dims64 d = { -1, {0} };
    if (self->multi) { int i = multi_find((Multi *)self->data, name); if (i >= 0) d = ((Multi *)self->data)->dims[i]; return d; }
    if (strcmp(name, self->in_name) == 0 || strcmp(name, self->out_name) == 0) d = self->in_dims;
    return d;
}
static int32_t e_get_dtype(Impl *self, const char *name)
{
    if (self->multi) { int i = multi_find((Multi *)self->data, name); return i >= 0 ? ((Multi *)self->data)->dtype[i] : -1; }
    return 0;
}
static int32_t e_get_iomode(Impl *self, const char *name)
{
    if (self->multi) { int i = multi_find((Multi *)self->data, name); return i >= 0 ? ((Multi *)self->data)->mode[i] : 0; }
    return strcmp(name, self->in_name) == 0 ? 1 : strcmp(name, self->out_name) == 0 ? 2 : 0;
}
static int32_t e_nb_io(Impl *self) { return self->multi ? ((Multi *)self->data)->n : 2; }
static const char *e_io_name(Impl *self, int32_t i)
{
    if (self->multi) return i >= 0 && i < ((Multi *)self->data)->n ? ((Multi *)self->data)->name[i] : NULL;
    return i == 0 ? self->in_name : i == 1 ? self->out_name : NULL;
}
static int64_t e_dev_size(Impl *self) { return self->dev_size; }
static void **engine_vtable(void)
{
    static void **vt;
    if (!vt) { vt = new_vtable(); vt[2] = (void *)get_pimpl; vt[5] = (void *)e_create_ctx; vt[19] = (void *)e_get_shape; vt[20] = (void *)e_get_dtype;
               vt[23] = (void *)e_get_iomode; vt[30] = (void *)e_nb_io; vt[31] = (void *)e_io_name; vt[52] = (void *)e_dev_size; }
    return vt;
}

/* ---- IRuntime: 2 getPImpl, 3 deserializeCudaEngine(blob, size) ---- */
static Pub *rt_deserialize_multi(Impl *self, const void *blob, size_t size)
{
    /* "FAKEPLAN2 dm=<bytes>\n" then one line per tensor: "<i|o> <dtype> <name> <nbDims> <d0> <d1> ...".
     * FAKEPLAN3: the same, with the lines "onnx <path of the part's ONNX file>" and "ort <path of libonnxruntime.so>". */
    char *text = calloc(1, size + 1);
    memcpy(text, blob, size);
    Multi *m = calloc(1, sizeof(Multi));
    long long dm = 0;
    int version = 0;
    char onnx[1024] = "", ortlib[1024] = "";
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    if (!line || sscanf(line, "FAKEPLAN%d dm=%lld", &version, &dm) != 2 || (version != 2 && version != 3)) { free(text); free(m); log_to(self->logger, 1, "fake: not a plan"); return NULL; }
    while ((line = strtok_r(NULL, "\n", &save)) != NULL)
    {
        if (version == 3 && strncmp(line, "onnx ", 5) == 0) { snprintf(onnx, sizeof onnx, "%s", line + 5); continue; }
        if (version == 3 && strncmp(line, "ort ", 4) == 0) { snprintf(ortlib, sizeof ortlib, "%s", line + 4); continue; }
        if (strncmp(line, "warn ", 5) == 0) { log_to(self->logger, 2, line + 5); continue; }
        if (m->n >= MAXT) break;
        char mode = 0; int dtype = 0, nb = 0, used = 0;
        if (sscanf(line, " %c %d %255s %d%n", &mode, &dtype, m->name[m->n], &nb, &used) != 4 || nb < 0 || nb > 8) continue;
        m->mode[m->n] = mode == 'i' ? 1 : 2;
        m->dtype[m->n] = dtype;
        m->dims[m->n].nbDims = nb;
        const char *rest = line + used;
        for (int k = 0; k < nb; k++) { char *end; m->dims[m->n].d[k] = strtoll(rest, &end, 10); rest = end; }
        m->n++;
    }
    free(text);
    OrtPart *ort = NULL;
    if (version == 3 && !(ort = ort_open(self->logger, m, onnx, ortlib))) { free(m); return NULL; }
    Pub *e = new_object("ICudaEngine", engine_vtable(), self->logger);
    e->impl->multi = 1;
    e->impl->data = (char *)m;
    e->impl->dev_size = dm;
    e->impl->wrong_pimpl = g_wrong_pimpl;
    if (ort) { e->impl->ort = ort; e->impl->cleanup = ort_engine_cleanup; }
    return e;
}

static Pub *rt_deserialize(Impl *self, const void *blob, size_t size)
{
    char text[512] = {0};
    if (size >= 9 && (memcmp(blob, "FAKEPLAN2", 9) == 0 || memcmp(blob, "FAKEPLAN3", 9) == 0)) return rt_deserialize_multi(self, blob, size);
    if (size < 8 || size >= sizeof text || memcmp(blob, "FAKEPLAN", 8) != 0) { log_to(self->logger, 1, "fake: not a plan"); return NULL; }
    memcpy(text, blob, size);
    Pub *e = new_object("ICudaEngine", engine_vtable(), self->logger);
    long long d0 = 0, d1 = 0;
    int nb = 0;
    sscanf(text, "FAKEPLAN in=%31s out=%31s nb=%d d0=%lld d1=%lld", e->impl->in_name, e->impl->out_name, &nb, &d0, &d1);
    e->impl->in_dims.nbDims = nb;
    e->impl->in_dims.d[0] = d0;
    e->impl->in_dims.d[1] = d1;
    /* Optional " dm=<bytes>": the scratch the engine asks for (getDeviceMemorySizeV2); 4096 by default. */
    const char *dm = strstr(text, " dm=");
    e->impl->dev_size = dm ? atoll(dm + 4) : 4096;
    e->impl->wrong_pimpl = g_wrong_pimpl;
    return e;
}
static void **runtime_vtable(void)
{
    static void **vt;
    if (!vt) { vt = new_vtable(); vt[2] = (void *)get_pimpl; vt[3] = (void *)rt_deserialize; }
    return vt;
}

EXPORT void *createInferRuntime_INTERNAL(void *logger, int32_t version)
{
    if (!g_global_logger) g_global_logger = logger;
    fake_event("createInferRuntime version=%d", version);
    log_to(logger, 3, "fake: runtime created");
    Pub *r = new_object("IRuntime", runtime_vtable(), logger);
    r->impl->wrong_pimpl = g_wrong_pimpl;
    return r;
}

EXPORT void *createInferBuilder_INTERNAL(void *logger, int32_t version)
{
    if (!g_global_logger) g_global_logger = logger;
    fake_event("createInferBuilder version=%d", version);
    log_to(logger, 4, "fake: builder created");
    return new_object("IBuilder", builder_vtable(), logger);
}

#else /* FAKE_PARSER */

/* ---- IParserError: 1 desc, 6 nodeName, 10/11 destructors ---- */
typedef struct { void **vtable; char desc[128]; char node[64]; } ParserError;
static const char *pe_desc(ParserError *e) { return e->desc; }
static const char *pe_node(ParserError *e) { return e->node; }
static void *g_error_vtable[12];

/* ---- IParser (no impl): 0 parse, 5 getNbErrors, 6 getError, 8 complete dtor, 9 deleting dtor ---- */
typedef struct { void **vtable; Pub *network; void *logger; int nerrors; ParserError error; } Parser;
static bool p_parse(Parser *self, const void *data, size_t size, const char *path)
{
    fake_event("parse %zu bytes path=%s", size, path ? path : "(null)");
    if (size >= 3 && memcmp(data, "BAD", 3) == 0) {
        self->nerrors = 1;
        self->error.vtable = g_error_vtable;
        snprintf(self->error.desc, sizeof self->error.desc, "unsupported operator FancyOp");
        snprintf(self->error.node, sizeof self->error.node, "down_blocks.0.fancy");
        log_to(self->logger, 1, "fake parser: unsupported operator");
        return false;
    }
    Impl *net = self->network->impl;
    snprintf(net->onnx, sizeof net->onnx, "%s", path ? path : "");
    snprintf(net->in_name, sizeof net->in_name, "x");
    snprintf(net->out_name, sizeof net->out_name, "y");
    return true;
}
static int32_t p_nb_errors(Parser *self) { return self->nerrors; }
static ParserError *p_get_error(Parser *self, int32_t i) { return i == 0 && self->nerrors ? &self->error : NULL; }
static void p_complete_dtor(Parser *self) { (void)self; fake_event("parser-complete-dtor-called"); }
static void p_deleting_dtor(Parser *self) { fake_event("delete IParser"); fake_live_delta(-1); free(self); }
static void *g_parser_vtable[NSLOTS];

EXPORT void *createNvOnnxParser_INTERNAL(void *network, void *logger, int version)
{
    for (int i = 0; i < NSLOTS; i++) g_parser_vtable[i] = (void *)trap;
    g_parser_vtable[0] = (void *)p_parse;
    g_parser_vtable[5] = (void *)p_nb_errors;
    g_parser_vtable[6] = (void *)p_get_error;
    g_parser_vtable[8] = (void *)p_complete_dtor;
    g_parser_vtable[9] = (void *)p_deleting_dtor;
    for (int i = 0; i < 12; i++) g_error_vtable[i] = (void *)trap;
    g_error_vtable[1] = (void *)pe_desc;
    g_error_vtable[6] = (void *)pe_node;
    Parser *p = calloc(1, sizeof(Parser));
    p->vtable = g_parser_vtable;
    p->network = network;
    p->logger = logger;
    fake_live_delta(1);
    fake_event("createNvOnnxParser version=%d", version);
    return p;
}
#endif

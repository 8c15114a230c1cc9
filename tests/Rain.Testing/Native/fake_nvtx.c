/* A fake NVTX tool: an injection library as Nsight Systems provides one (NVTX_INJECTION64_PATH), speaking NVTX v3's
 * injection protocol. InitializeInjectionNvtx2 asks the application for its export tables, checks their sizes, and
 * writes its functions into the CORE2 (domain) slots the way a real tool does; the functions record what they are
 * called with as text lines, which tests read through fake_nvtx_log() (and, when FAKE_NVTX_LOG names a file, in that
 * file, for child processes). Variants for the failure paths: -DFAKE_REFUSE (initialisation reports failure),
 * -DFAKE_NO_DOMAINS (fills no slot), -DFAKE_NO_INIT (exports no InitializeInjectionNvtx2). Everything here is written from NVTX's public protocol: module ids CORE = 1 … SYNC = 6,
 * callback ids, the 48-byte nvtxEventAttributes_v2. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

typedef void (*fn_t)(void);
typedef const void *(*get_export_table_t)(uint32_t id);
typedef struct { size_t struct_size; int (*get_module_function_table)(int module, fn_t ***table, unsigned *size); } callbacks_t;
typedef struct { size_t struct_size; uint32_t version; uint32_t reserved0; void (*set_injection_version)(uint32_t); } version_info_t;
typedef struct
{
    uint16_t version, size;
    uint32_t category;
    int32_t color_type;
    uint32_t color;
    int32_t payload_type, reserved0;
    int64_t payload;
    int32_t message_type, padding;
    const void *message;
} attributes_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[1 << 20];
static size_t log_length;
static FILE *log_file;
static char *strings[4096];
static int string_count, depth;

static void note(const char *format, ...) __attribute__((format(printf, 1, 2)));
#include <stdarg.h>
static void note(const char *format, ...)
{
    char line[512];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    if (n < 0)
        return;
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    line[n] = 0;
    if (log_length + (size_t)n < sizeof log_text)
    {
        memcpy(log_text + log_length, line, (size_t)n + 1);
        log_length += (size_t)n;
    }
    if (log_file)
    {
        fputs(line, log_file);
        fflush(log_file);
    }
}

static const char *message(const attributes_t *a)
{
    if (a->message_type == 3) /* registered */
    {
        intptr_t h = (intptr_t)a->message;
        return h >= 1 && h <= string_count ? strings[h - 1] : "<bad handle>";
    }
    return a->message_type == 1 ? (const char *)a->message : "<no message>";
}

static void *domain_create(const char *name)
{
    pthread_mutex_lock(&lock);
    note("domain %s", name);
    pthread_mutex_unlock(&lock);
    return (void *)0xD0;
}

static void *register_string(void *domain, const char *s)
{
    pthread_mutex_lock(&lock);
    intptr_t h = 0;
    if (domain == (void *)0xD0 && string_count < 4096)
    {
        strings[string_count++] = strdup(s);
        h = string_count;
    }
    note("string %ld %s", (long)h, s);
    pthread_mutex_unlock(&lock);
    return (void *)h;
}

static int range_push(void *domain, const attributes_t *a)
{
    pthread_mutex_lock(&lock);
    int d = depth++;
    note("push %d %s color=%08x payload=%lld%s", d, message(a), a->color, (long long)a->payload,
         domain == (void *)0xD0 && a->version == 3 && a->size == 48 && a->color_type == 1 && a->payload_type == 2 ? "" : " MALFORMED");
    pthread_mutex_unlock(&lock);
    return d;
}

static int range_pop(void *domain)
{
    pthread_mutex_lock(&lock);
    int d = --depth;
    note("pop %d%s", d, domain == (void *)0xD0 ? "" : " MALFORMED");
    pthread_mutex_unlock(&lock);
    return d;
}

static void mark(void *domain, const attributes_t *a)
{
    pthread_mutex_lock(&lock);
    note("mark %s payload=%lld%s", message(a), (long long)a->payload, domain == (void *)0xD0 ? "" : " MALFORMED");
    pthread_mutex_unlock(&lock);
}

#ifndef FAKE_NO_INIT
int InitializeInjectionNvtx2(get_export_table_t get)
{
    const char *path = getenv("FAKE_NVTX_LOG");
    if (path && !log_file)
        log_file = fopen(path, "a");
    const callbacks_t *callbacks = (const callbacks_t *)get(1);
    const version_info_t *version = (const version_info_t *)get(3);
    if (!callbacks || callbacks->struct_size < sizeof(callbacks_t) || !version || version->struct_size < sizeof(version_info_t) || get(2) != NULL)
    {
        note("init refused: bad export tables");
        return 0;
    }
    version->set_injection_version(3);

    static const unsigned sizes[] = {0, 16, 9, 15, 7, 16, 7};
    for (int module = 1; module <= 6; module++)
    {
        fn_t **table = NULL;
        unsigned size = 0;
        if (!callbacks->get_module_function_table(module, &table, &size) || size != sizes[module] || !table || table[0] || table[size])
        {
            note("init refused: module %d table (size %u)", module, size);
            return 0;
        }
        for (unsigned i = 1; i < size; i++)
            if (!table[i])
            {
                note("init refused: module %d slot %u is null", module, i);
                return 0;
            }
    }
    if (callbacks->get_module_function_table(7, NULL, NULL))
    {
        note("init refused: module 7 exists");
        return 0;
    }

#ifdef FAKE_REFUSE
    note("init refused on purpose");
    return 0;
#endif
    fn_t **core2 = NULL;
    callbacks->get_module_function_table(5, &core2, NULL);
#ifdef FAKE_NO_DOMAINS
    note("init version %u, no domains", version->version);
    return 1;
#endif
    *core2[1] = (fn_t)mark;
    *core2[4] = (fn_t)range_push;
    *core2[5] = (fn_t)range_pop;
    *core2[10] = (fn_t)register_string;
    *core2[12] = (fn_t)domain_create;
    note("init version %u", version->version);
    return 1;
}
#endif

const char *fake_nvtx_log(void) { return log_text; }

/* Stand-in SDK: clock helpers, misuse counter, journal, reset and process-exit cleanup. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sdk_internal.h"

uint64_t sdk__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct timespec sdk__deadline(unsigned ms)
{
    uint64_t t = sdk__now_ns() + (uint64_t)ms * 1000000u;
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000u), .tv_nsec = (long)(t % 1000000000u)};
    return ts;
}

void sdk__cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

char *sdk_addr_str(uint64_t addr, char *out)
{
    dap_stream_node_addr_t a = {.uint64 = addr};
    return dap_stream_node_addr_to_str_buf(&a, out);
}

/* ---- misuse ---- */

static size_t s_misuse_count; /* atomic */

void sdk__misuse(const char *fmt, ...)
{
    __atomic_add_fetch(&s_misuse_count, 1, __ATOMIC_RELAXED);
    va_list ap;
    va_start(ap, fmt);
    flockfile(stderr);
    fputs("[sdk_standin] MISUSE: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    va_end(ap);
}

void sdk__misuse_reset(void)
{
    __atomic_store_n(&s_misuse_count, 0, __ATOMIC_RELAXED);
}

size_t sdk_misuse_count(void)
{
    return __atomic_load_n(&s_misuse_count, __ATOMIC_RELAXED);
}

/* ---- journal ---- */

static pthread_mutex_t s_journal_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_journal_cond;
static pthread_once_t s_journal_once = PTHREAD_ONCE_INIT;
static char **s_journal;
static size_t s_journal_len, s_journal_cap;

static void journal_init(void)
{
    sdk__cond_init(&s_journal_cond);
}

void sdk__journal(const char *fmt, ...)
{
    pthread_once(&s_journal_once, journal_init);
    char *line = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    pthread_mutex_lock(&s_journal_lock);
    if (s_journal_len == s_journal_cap) {
        size_t cap = s_journal_cap ? s_journal_cap * 2 : 256;
        char **grown = realloc(s_journal, cap * sizeof(*grown));
        if (!grown)
            abort();
        s_journal = grown;
        s_journal_cap = cap;
    }
    s_journal[s_journal_len++] = line;
    pthread_cond_broadcast(&s_journal_cond);
    pthread_mutex_unlock(&s_journal_lock);
}

size_t sdk_journal_len(void)
{
    pthread_mutex_lock(&s_journal_lock);
    size_t n = s_journal_len;
    pthread_mutex_unlock(&s_journal_lock);
    return n;
}

const char *sdk_journal_line(size_t i)
{
    pthread_mutex_lock(&s_journal_lock);
    const char *line = i < s_journal_len ? s_journal[i] : NULL;
    pthread_mutex_unlock(&s_journal_lock);
    return line;
}

static size_t journal_count_locked(const char *prefix)
{
    size_t plen = prefix ? strlen(prefix) : 0, n = 0;
    for (size_t i = 0; i < s_journal_len; i++)
        if (!plen || strncmp(s_journal[i], prefix, plen) == 0)
            n++;
    return n;
}

size_t sdk_journal_count(const char *prefix)
{
    pthread_mutex_lock(&s_journal_lock);
    size_t n = journal_count_locked(prefix);
    pthread_mutex_unlock(&s_journal_lock);
    return n;
}

bool sdk_journal_wait(const char *prefix, size_t n, unsigned timeout_ms)
{
    pthread_once(&s_journal_once, journal_init);
    struct timespec deadline = sdk__deadline(timeout_ms);
    pthread_mutex_lock(&s_journal_lock);
    bool ok;
    while (!(ok = journal_count_locked(prefix) >= n))
        if (pthread_cond_timedwait(&s_journal_cond, &s_journal_lock, &deadline) == ETIMEDOUT) {
            ok = journal_count_locked(prefix) >= n;
            break;
        }
    pthread_mutex_unlock(&s_journal_lock);
    return ok;
}

void sdk__journal_free_all(void)
{
    pthread_mutex_lock(&s_journal_lock);
    for (size_t i = 0; i < s_journal_len; i++)
        free(s_journal[i]);
    free(s_journal);
    s_journal = NULL;
    s_journal_len = s_journal_cap = 0;
    pthread_mutex_unlock(&s_journal_lock);
}

void sdk_journal_clear(void)
{
    sdk__journal_free_all();
}

void sdk_journal_dump(FILE *out)
{
    pthread_mutex_lock(&s_journal_lock);
    for (size_t i = 0; i < s_journal_len; i++)
        fprintf(out, "%s\n", s_journal[i]);
    pthread_mutex_unlock(&s_journal_lock);
}

/* ---- whole SDK ---- */

void sdk_set_node_addr(uint64_t addr)
{
    g_node_addr.uint64 = addr; /* set before the library starts, as the node does */
}

void sdk_reset(void)
{
    sdk__clients_reset();
    sdk__streams_reset();
    sdk__ch_proc_reset();
    sdk__cluster_reset();
    sdk_config_clear();
    sdk__config_free_all();
    sdk__log_free_all();
    sdk__journal_free_all();
    sdk__misuse_reset();
}

/* At exit: stop the worker and free what the stand-in owns. Clients the library never deleted and
 * clusters (owned by tests) are left alone: something may still point at them. */
__attribute__((destructor)) static void sdk__at_exit(void)
{
    sdk__clients_shutdown();
    sdk__streams_reset();
    sdk__config_free_all();
    sdk__log_free_all();
    sdk__journal_free_all();
}

/* Stand-in SDK: _log_it_tag into a ring of lines that tests query. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sdk_internal.h"

enum dap_log_level g_dap_log_level = L_DEBUG;

typedef struct log_line {
    int level;
    char *tag;
    char *text;
} log_line_t;

static pthread_mutex_t s_log_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_log_cond;
static pthread_once_t s_log_once = PTHREAD_ONCE_INIT;
static log_line_t s_ring[SDK_LOG_CAPACITY];
static size_t s_first, s_len; /* ring window */
static size_t s_total;        /* lines recorded since the last clear */
static bool s_echo;           /* atomic */

static const char *const s_level_names[] = {"DBG", "INF", " * ", "MSG", "DAP", "WRN", "ATT", "ERR", "CRT"};

static void log_init(void)
{
    sdk__cond_init(&s_log_cond);
    const char *env = getenv("SDK_LOG_ECHO");
    if (env && strcmp(env, "1") == 0)
        __atomic_store_n(&s_echo, true, __ATOMIC_RELAXED);
}

static const char *level_name(int level)
{
    return level >= L_DEBUG && level <= L_CRITICAL ? s_level_names[level] : "???";
}

void _log_it_tag(enum dap_log_level level, const char *tag, const char *fmt, ...)
{
    pthread_once(&s_log_once, log_init);
    if ((int)level < (int)__atomic_load_n(&g_dap_log_level, __ATOMIC_RELAXED))
        return;
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt ? fmt : "", ap);
    va_end(ap);
    if (n < 0)
        abort();
    char *tag_copy = strdup(tag ? tag : "");
    if (!tag_copy)
        abort();

    pthread_mutex_lock(&s_log_lock);
    if (s_len == SDK_LOG_CAPACITY) { /* drop the oldest line */
        free(s_ring[s_first].tag);
        free(s_ring[s_first].text);
        s_first = (s_first + 1) % SDK_LOG_CAPACITY;
        s_len--;
    }
    s_ring[(s_first + s_len) % SDK_LOG_CAPACITY] = (log_line_t){(int)level, tag_copy, text};
    s_len++;
    s_total++;
    if (__atomic_load_n(&s_echo, __ATOMIC_RELAXED))
        fprintf(stderr, "[%s] [%s] %s\n", level_name((int)level), tag_copy, text);
    pthread_cond_broadcast(&s_log_cond);
    pthread_mutex_unlock(&s_log_lock);
}

static size_t count_locked(int min_level, const char *substr)
{
    size_t n = 0;
    bool any = !substr || !*substr;
    for (size_t i = 0; i < s_len; i++) {
        const log_line_t *l = &s_ring[(s_first + i) % SDK_LOG_CAPACITY];
        if (l->level >= min_level && (any || strstr(l->text, substr) || strstr(l->tag, substr)))
            n++;
    }
    return n;
}

size_t sdk_log_count_level(int min_level, const char *substr)
{
    pthread_mutex_lock(&s_log_lock);
    size_t n = count_locked(min_level, substr);
    pthread_mutex_unlock(&s_log_lock);
    return n;
}

size_t sdk_log_count(const char *substr)
{
    return sdk_log_count_level(L_DEBUG, substr);
}

size_t sdk_log_total(void)
{
    pthread_mutex_lock(&s_log_lock);
    size_t n = s_total;
    pthread_mutex_unlock(&s_log_lock);
    return n;
}

bool sdk_log_wait(const char *substr, size_t n, unsigned timeout_ms)
{
    pthread_once(&s_log_once, log_init);
    struct timespec deadline = sdk__deadline(timeout_ms);
    pthread_mutex_lock(&s_log_lock);
    bool ok;
    while (!(ok = count_locked(L_DEBUG, substr) >= n))
        if (pthread_cond_timedwait(&s_log_cond, &s_log_lock, &deadline) == ETIMEDOUT) {
            ok = count_locked(L_DEBUG, substr) >= n;
            break;
        }
    pthread_mutex_unlock(&s_log_lock);
    return ok;
}

void sdk__log_free_all(void)
{
    pthread_mutex_lock(&s_log_lock);
    for (size_t i = 0; i < s_len; i++) {
        log_line_t *l = &s_ring[(s_first + i) % SDK_LOG_CAPACITY];
        free(l->tag);
        free(l->text);
    }
    s_first = s_len = s_total = 0;
    pthread_mutex_unlock(&s_log_lock);
}

void sdk_log_clear(void)
{
    sdk__log_free_all();
}

void sdk_log_set_echo(bool on)
{
    pthread_once(&s_log_once, log_init);
    __atomic_store_n(&s_echo, on, __ATOMIC_RELAXED);
}

void sdk_log_dump(FILE *out)
{
    pthread_mutex_lock(&s_log_lock);
    for (size_t i = 0; i < s_len; i++) {
        const log_line_t *l = &s_ring[(s_first + i) % SDK_LOG_CAPACITY];
        fprintf(out, "[%s] [%s] %s\n", level_name(l->level), l->tag, l->text);
    }
    pthread_mutex_unlock(&s_log_lock);
}

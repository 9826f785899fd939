/*
 * dap_link_manager_legacy: the lock-based C baseline of the link manager.
 *
 * Written by us from shared/spec/CONTRACT.md (§1-10, FIX items included), NOT from the GPL DAP SDK. It
 * keeps the locking structure of the original C link manager so the same C tests and benchmarks can run
 * against an old-style implementation and the Rust actor:
 *
 *   - links_lock (pthread_rwlock_t inside the static dap_link_manager_t) guards the link table, a chained
 *     hash keyed by the 64-bit address; nets_lock guards the nets list. Getters take read locks; lock
 *     order is always links -> nets -> cluster locks -> leaf mutexes (queue, hot list, channels).
 *   - One worker thread drains a priority FIFO (mutex + condvar; CRITICAL/HIGH/NORMAL/LOW). Every fact
 *     about a link (stream events, accounting, cluster membership, client events) is queued at HIGH in one
 *     FIFO so they apply in issue order (FIX-ORDER); link_update's applied step and the tick go at NORMAL.
 *   - The worker applies each message holding the links write lock, and calls the node's callbacks with
 *     it held, as the C version did. Re-entry is made safe by per-thread lock bookkeeping: a thread that
 *     already holds a lock does not take it again, so a callback's getters and inline mutations
 *     (link_create, set_net_condition, ...) run under the worker's lock; queued calls just enqueue.
 *   - Operations that return a result (add_net, link_create, nets mutations) run on the caller's thread
 *     under the locks. A timer thread posts the maintenance tick.
 *
 * Exports only the original dap_link_manager_* functions (everything else is hidden); test builds add the
 * harness entry points of legacy_hooks.c (virtual clock, manual tick, flush, link snapshot).
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "dap_client_pvt.h"
#include "dap_config.h"
#include "dap_events_socket.h"
#include "dap_link_manager.h"
#include "dap_stream.h"
#include "dap_stream_ch_proc.h"

#define LM_API __attribute__((visibility("default")))
#define LM_TAG "link_manager"

#define LM_SECTION          "link_manager"
#define LM_HOT_COOLING_SECS 900u
#define LM_MAX_CHANNELS     255u

/* ------------------------------------------------------------------------------------------------ */
/* logging                                                                                           */

static void lm_log(enum dap_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void lm_log(enum dap_log_level level, const char *fmt, ...)
{
    if (level < g_dap_log_level)
        return;
    char buf[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    _log_it_tag(level, LM_TAG, "%s", buf);
}

/* The one place that formats node addresses: "XXXX::XXXX::XXXX::XXXX", most significant word first. */
typedef struct {
    char s[DAP_NODE_ADDR_STR_SIZE];
} lm_addr_str_t;

static lm_addr_str_t lm_addr(uint64_t a)
{
    lm_addr_str_t r;
    snprintf(r.s, sizeof(r.s), "%04X::%04X::%04X::%04X", (unsigned)((a >> 48) & 0xffff), (unsigned)((a >> 32) & 0xffff),
             (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xffff));
    return r;
}
#define ADDR_S(a) (lm_addr(a).s)

/* Test builds (CMake DAP_LM_TEST_HOOKS) include c_tests/legacy/legacy_hooks.c at the end of this file: it
 * exports the harness's entry points (virtual clock, manual tick, flush, link snapshot) with the Rust
 * library's contract. These are its only seams into the baseline; elsewhere they do nothing. */
#ifdef DAP_LM_LEGACY_TEST_HOOKS
static bool hooks_now_secs(uint64_t *secs);              /* the harness's virtual clock, when set */
static bool hooks_auto_tick(void);                       /* false once the harness drives the tick */
static void hooks_barrier_reached(void *waiter, int rc); /* a flush request left the queue */
static void hooks_reset(void);                           /* at init: real clock, automatic tick */
#else
static inline bool hooks_now_secs(uint64_t *secs)
{
    (void)secs;
    return false;
}
static inline bool hooks_auto_tick(void)
{
    return true;
}
static inline void hooks_barrier_reached(void *waiter, int rc)
{
    (void)waiter;
    (void)rc;
}
static inline void hooks_reset(void)
{
}
#endif

static uint64_t now_secs(void)
{
    uint64_t virtual_secs;
    if (hooks_now_secs(&virtual_secs))
        return virtual_secs;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec;
}

/* ------------------------------------------------------------------------------------------------ */
/* small sets of 64-bit values (net ids, cluster pointers), insertion ordered                        */

typedef struct {
    uint64_t *v;
    uint32_t n, cap;
} lm_set_t;

static bool set_has(const lm_set_t *s, uint64_t x)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->v[i] == x)
            return true;
    return false;
}

/* 1 inserted, 0 already there, -1 out of memory. */
static int set_insert(lm_set_t *s, uint64_t x)
{
    if (set_has(s, x))
        return 0;
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 4;
        uint64_t *v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return 1;
}

static bool set_remove(lm_set_t *s, uint64_t x)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->v[i] == x) {
            memmove(s->v + i, s->v + i + 1, (s->n - i - 1) * sizeof(*s->v));
            s->n--;
            return true;
        }
    return false;
}

static void set_free(lm_set_t *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* A copy of a set to iterate over while callbacks may change the original. */
typedef struct {
    uint64_t *v;
    uint32_t n;
    uint64_t inline_buf[8];
} lm_snap_t;

static void snap_take(lm_snap_t *sn, const lm_set_t *s)
{
    sn->n = s->n;
    sn->v = sn->inline_buf;
    if (s->n > 8) {
        sn->v = malloc(s->n * sizeof(uint64_t));
        if (!sn->v) {
            lm_log(L_CRITICAL, "[LM-ERROR] out of memory copying a set of %u entries", s->n);
            sn->v = sn->inline_buf;
            sn->n = 8;
        }
    }
    if (sn->n)
        memcpy(sn->v, s->v, sn->n * sizeof(uint64_t));
}

static void snap_free(lm_snap_t *sn)
{
    if (sn->v != sn->inline_buf)
        free(sn->v);
}

#define CL_KEY(c) ((uint64_t)(uintptr_t)(c))
#define CL_PTR(k) ((dap_cluster_t *)(uintptr_t)(k))

/* ------------------------------------------------------------------------------------------------ */
/* state                                                                                             */

typedef struct lm_link {
    dap_link_t rec; /* the live record handed to callbacks (its list fields stay NULL, as in the Rust library) */
    uint64_t addr;
    uint64_t client_tag;  /* incarnation of rec.uplink.client, carried by its connected/error events */
    lm_set_t nets;        /* associated nets */
    lm_set_t active;      /* active clusters */
    lm_set_t statics;     /* static clusters */
    struct lm_link *next; /* hash chain, then graveyard chain */
} lm_link_t;

typedef struct lm_net {
    uint64_t id;
    lm_set_t clusters; /* primary first */
    uint32_t min_links;
    bool active;
    size_t uplinks_cached;
} lm_net_t;

typedef struct {
    uint64_t addr, stamp;
} lm_hot_entry_t;

typedef struct {
    uint64_t net;
    lm_hot_entry_t *e;
    size_t n, cap;
} lm_hot_t;

/* The process's one manager object; its two rwlocks are THE locks (never destroyed, so a late getter
 * never touches a dead lock: it takes the lock and finds the manager down). */
static dap_link_manager_t s_manager = {
    .links_lock = PTHREAD_RWLOCK_INITIALIZER,
    .nets_lock = PTHREAD_RWLOCK_INITIALIZER,
};

static pthread_mutex_t s_life = PTHREAD_MUTEX_INITIALIZER; /* serialises init/deinit */
static bool s_inited;                                      /* under s_life */
static atomic_bool s_up;                                   /* init done, deinit not started */

/* settings read at init */
static uint32_t s_max_attempts = 1;
static uint64_t s_reconnect_delay = 20;
static unsigned s_tick_ms = 5000;
static bool s_debug_more;
static atomic_bool s_allow_loopback;

/* under links_lock */
static struct {
    lm_link_t **b;
    size_t nb, n;
} s_links;
static lm_link_t *s_graveyard;     /* removed records, freed when the write lock is finally released */
static unsigned s_count_pending;   /* link_count_changed calls owed */
static bool s_next_is_wakeup;      /* tick phase */
static uint64_t s_next_client_tag; /* process-wide, never reused across init/deinit */

/* under nets_lock */
static struct {
    lm_net_t **v;
    size_t n, cap;
} s_nets;

/* hot list (its own leaf mutex: the C version kept it in the global DB) */
static pthread_mutex_t s_hot_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    lm_hot_t *v;
    size_t n, cap;
} s_hot;

/* ------------------------------------------------------------------------------------------------ */
/* re-entrant lock bookkeeping                                                                       */

typedef struct {
    int depth;
    bool write;
} lm_held_t;

static _Thread_local lm_held_t tl_links, tl_nets;
static _Thread_local bool tl_worker;   /* this thread is the worker */
static _Thread_local int tl_sdk_depth; /* inside a cluster call made under the links write lock */
static _Thread_local int tl_cb_depth;  /* inside a node callback */

static void free_graveyard(void);

static void lock_rd(pthread_rwlock_t *l, lm_held_t *h)
{
    if (h->depth++ == 0) {
        pthread_rwlock_rdlock(l);
        h->write = false;
    }
}

static void lock_wr(pthread_rwlock_t *l, lm_held_t *h)
{
    if (h->depth++ == 0) {
        pthread_rwlock_wrlock(l);
        h->write = true;
    } else if (!h->write) {
        /* Upgrading a read lock would deadlock: a design error, never reached. */
        lm_log(L_CRITICAL, "[LM-ERROR] write lock requested while holding the read lock");
        abort();
    }
}

static void links_rd(void)
{
    lock_rd(&s_manager.links_lock, &tl_links);
}
static void links_wr(void)
{
    lock_wr(&s_manager.links_lock, &tl_links);
}
static void nets_rd(void)
{
    lock_rd(&s_manager.nets_lock, &tl_nets);
}
static void nets_wr(void)
{
    lock_wr(&s_manager.nets_lock, &tl_nets);
}

static void links_unlock(void)
{
    if (--tl_links.depth == 0) {
        if (tl_links.write)
            free_graveyard(); /* no callback can still hold one of these records now */
        pthread_rwlock_unlock(&s_manager.links_lock);
    }
}

static void nets_unlock(void)
{
    if (--tl_nets.depth == 0)
        pthread_rwlock_unlock(&s_manager.nets_lock);
}

static bool links_write_held(void)
{
    return tl_links.depth > 0 && tl_links.write;
}

/* ------------------------------------------------------------------------------------------------ */
/* the priority FIFO of the worker                                                                   */

typedef enum { PRIO_CRITICAL, PRIO_HIGH, PRIO_NORMAL, PRIO_LOW, PRIO_COUNT } lm_prio_t;

typedef enum {
    MSG_STREAM_ADD,
    MSG_STREAM_REPLACE,
    MSG_STREAM_DELETE,
    MSG_ACCOUNTING,
    MSG_CLUSTER_JOINED,
    MSG_CLUSTER_LEFT,
    MSG_STATIC_JOINED,
    MSG_STATIC_LEFT,
    MSG_CLIENT_CONNECTED,
    MSG_CLIENT_ERROR,
    MSG_LINK_UPDATE,
    MSG_COUNT_CHANGED,
    MSG_TICK,
    MSG_SHUTDOWN,
    MSG_BARRIER /* test builds: a flush request, answered when the queue drained up to it */
} lm_msg_kind_t;

typedef struct lm_msg {
    struct lm_msg *next;
    lm_msg_kind_t kind;
    uint64_t addr;
    uint64_t net;     /* ACCOUNTING */
    uint64_t tag;     /* CLIENT_*: client incarnation */
    uint64_t cluster; /* membership */
    unsigned count;   /* COUNT_CHANGED */
    int tick_phase;   /* TICK: -1 the next in turn, 0 wake-up, 1 links request */
    void *waiter;     /* BARRIER */
    uint16_t port;    /* LINK_UPDATE */
    bool flag;        /* uplink / ok / last attempt */
    char host[];      /* LINK_UPDATE */
} lm_msg_t;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    lm_msg_t *head[PRIO_COUNT], *tail[PRIO_COUNT];
    bool open;
} s_q = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static lm_msg_t *msg_new(lm_msg_kind_t kind, uint64_t addr, size_t host_len)
{
    lm_msg_t *m = malloc(sizeof(*m) + host_len + 1);
    if (!m)
        return NULL;
    memset(m, 0, sizeof(*m));
    m->kind = kind;
    m->addr = addr;
    m->tick_phase = -1;
    m->host[0] = '\0';
    return m;
}

/* The one place that maps messages to priorities (CONTRACT.md §5: facts share one class). */
static lm_prio_t prio_of(lm_msg_kind_t k)
{
    switch (k) {
    case MSG_SHUTDOWN:
        return PRIO_CRITICAL;
    case MSG_LINK_UPDATE:
    case MSG_TICK:
        return PRIO_NORMAL;
    case MSG_BARRIER:
        return PRIO_LOW; /* after everything queued before it, whatever its class */
    default:
        return PRIO_HIGH; /* facts, and the link_count_changed owed by a membership change */
    }
}

/* 0 queued; -1 the queue is closed (not initialised / shutting down). Takes ownership of m. */
static int q_push(lm_msg_t *m)
{
    lm_prio_t p = prio_of(m->kind);
    m->next = NULL;
    pthread_mutex_lock(&s_q.mu);
    if (!s_q.open) {
        pthread_mutex_unlock(&s_q.mu);
        free(m);
        return -1;
    }
    if (s_q.tail[p])
        s_q.tail[p]->next = m;
    else
        s_q.head[p] = m;
    s_q.tail[p] = m;
    if (m->kind == MSG_SHUTDOWN)
        s_q.open = false; /* nothing is accepted after the shutdown request */
    pthread_cond_signal(&s_q.cv);
    pthread_mutex_unlock(&s_q.mu);
    return 0;
}

static lm_msg_t *q_pop_locked(void)
{
    for (int p = 0; p < PRIO_COUNT; p++) {
        lm_msg_t *m = s_q.head[p];
        if (m) {
            s_q.head[p] = m->next;
            if (!s_q.head[p])
                s_q.tail[p] = NULL;
            return m;
        }
    }
    return NULL;
}

static lm_msg_t *q_pop_wait(void)
{
    pthread_mutex_lock(&s_q.mu);
    lm_msg_t *m;
    while (!(m = q_pop_locked()))
        pthread_cond_wait(&s_q.cv, &s_q.mu);
    pthread_mutex_unlock(&s_q.mu);
    return m;
}

/* Membership events our own cluster calls caused synchronously, applied right after the call
 * (under the links write lock, like everything they touch). */
static lm_msg_t *s_inplace_head, *s_inplace_tail;

/* ------------------------------------------------------------------------------------------------ */
/* link table                                                                                        */

static size_t bucket_of(uint64_t addr)
{
    uint64_t x = addr;
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return (size_t)(x & (s_links.nb - 1));
}

static lm_link_t *link_find(uint64_t addr)
{
    if (!s_links.nb)
        return NULL;
    for (lm_link_t *l = s_links.b[bucket_of(addr)]; l; l = l->next)
        if (l->addr == addr)
            return l;
    return NULL;
}

static bool table_grow(void)
{
    size_t nb = s_links.nb ? s_links.nb * 2 : 64;
    lm_link_t **b = calloc(nb, sizeof(*b));
    if (!b)
        return false;
    lm_link_t **old = s_links.b;
    size_t onb = s_links.nb;
    s_links.b = b;
    s_links.nb = nb;
    for (size_t i = 0; i < onb; i++)
        for (lm_link_t *l = old[i], *next; l; l = next) {
            next = l->next;
            size_t k = bucket_of(l->addr);
            l->next = b[k];
            b[k] = l;
        }
    free(old);
    return true;
}

/* A new record for addr (no client, no nets), inserted in the table; NULL when out of memory. */
static lm_link_t *link_new(uint64_t addr)
{
    if (s_links.n + 1 > s_links.nb && !table_grow() && !s_links.nb)
        return NULL;
    lm_link_t *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->addr = addr;
    l->rec.addr.uint64 = addr;
    l->rec.uplink.state = LINK_STATE_DISCONNECTED;
    l->rec.link_manager = &s_manager;
    size_t k = bucket_of(addr);
    l->next = s_links.b[k];
    s_links.b[k] = l;
    s_links.n++;
    return l;
}

static void link_unlink(lm_link_t *l)
{
    for (lm_link_t **p = &s_links.b[bucket_of(l->addr)]; *p; p = &(*p)->next)
        if (*p == l) {
            *p = l->next;
            s_links.n--;
            break;
        }
    l->next = s_graveyard;
    s_graveyard = l;
}

static void link_free(lm_link_t *l)
{
    set_free(&l->nets);
    set_free(&l->active);
    set_free(&l->statics);
    free(l);
}

static void free_graveyard(void)
{
    while (s_graveyard) {
        lm_link_t *l = s_graveyard;
        s_graveyard = l->next;
        link_free(l);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every address in the table, sorted (deterministic order, as the Rust library); *n set. */
static uint64_t *links_sorted(size_t *n, bool with_client_only)
{
    *n = 0;
    if (!s_links.n)
        return NULL;
    uint64_t *v = malloc(s_links.n * sizeof(*v));
    if (!v)
        return NULL;
    for (size_t i = 0; i < s_links.nb; i++)
        for (lm_link_t *l = s_links.b[i]; l; l = l->next)
            if (!with_client_only || l->rec.uplink.client)
                v[(*n)++] = l->addr;
    qsort(v, *n, sizeof(*v), cmp_u64);
    return v;
}

/* ------------------------------------------------------------------------------------------------ */
/* nets list (callers hold nets_lock)                                                                */

static lm_net_t *net_find(uint64_t id)
{
    for (size_t i = 0; i < s_nets.n; i++)
        if (s_nets.v[i]->id == id)
            return s_nets.v[i];
    return NULL;
}

/* What the worker needs of a net, copied under the read lock (the list may change during callbacks). */
typedef struct {
    bool found, active;
    dap_cluster_t *primary;
} lm_net_info_t;

static lm_net_info_t net_info(uint64_t id)
{
    lm_net_info_t r = {false, false, NULL};
    nets_rd();
    lm_net_t *n = net_find(id);
    if (n) {
        r.found = true;
        r.active = n->active;
        r.primary = CL_PTR(n->clusters.v[0]);
    }
    nets_unlock();
    return r;
}

/* ------------------------------------------------------------------------------------------------ */
/* hot list                                                                                          */

static lm_hot_t *hot_of_locked(uint64_t net, bool create)
{
    for (size_t i = 0; i < s_hot.n; i++)
        if (s_hot.v[i].net == net)
            return &s_hot.v[i];
    if (!create)
        return NULL;
    if (s_hot.n == s_hot.cap) {
        size_t cap = s_hot.cap ? s_hot.cap * 2 : 4;
        lm_hot_t *v = realloc(s_hot.v, cap * sizeof(*v));
        if (!v)
            return NULL;
        s_hot.v = v;
        s_hot.cap = cap;
    }
    lm_hot_t *h = &s_hot.v[s_hot.n++];
    memset(h, 0, sizeof(*h));
    h->net = net;
    return h;
}

static void hot_stamp(uint64_t net, uint64_t addr)
{
    uint64_t now = now_secs();
    pthread_mutex_lock(&s_hot_mu);
    lm_hot_t *h = hot_of_locked(net, true);
    if (h) {
        size_t i = 0;
        while (i < h->n && h->e[i].addr != addr)
            i++;
        if (i < h->n) {
            h->e[i].stamp = now;
        } else {
            if (h->n == h->cap) {
                size_t cap = h->cap ? h->cap * 2 : 16;
                lm_hot_entry_t *e = realloc(h->e, cap * sizeof(*e));
                if (e) {
                    h->e = e;
                    h->cap = cap;
                }
            }
            if (h->n < h->cap)
                h->e[h->n++] = (lm_hot_entry_t){addr, now};
        }
    }
    pthread_mutex_unlock(&s_hot_mu);
}

static void hot_expire_locked(lm_hot_t *h, uint64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < h->n; i++)
        if (now < h->e[i].stamp || now - h->e[i].stamp <= LM_HOT_COOLING_SECS)
            h->e[k++] = h->e[i];
    h->n = k;
}

static void hot_expire_all(void)
{
    uint64_t now = now_secs();
    pthread_mutex_lock(&s_hot_mu);
    for (size_t i = 0; i < s_hot.n; i++)
        hot_expire_locked(&s_hot.v[i], now);
    pthread_mutex_unlock(&s_hot_mu);
}

static void hot_clear(void)
{
    pthread_mutex_lock(&s_hot_mu);
    for (size_t i = 0; i < s_hot.n; i++)
        free(s_hot.v[i].e);
    free(s_hot.v);
    s_hot.v = NULL;
    s_hot.n = s_hot.cap = 0;
    pthread_mutex_unlock(&s_hot_mu);
}

/* ------------------------------------------------------------------------------------------------ */
/* active channels: process-wide, "RCGEND" at start, usable before init (FIX-CHANNELS-GLOBAL)        */

static pthread_mutex_t s_ch_mu = PTHREAD_MUTEX_INITIALIZER;
static char s_ch_default[] = "RCGEND";
static char *s_ch_cur = s_ch_default;
/* Every string ever handed out stays readable until exit (a reader may hold the previous pointer). */
static struct {
    char **v;
    size_t n, cap;
} s_ch_old;

static void channels_copy(char *out, size_t size)
{
    pthread_mutex_lock(&s_ch_mu);
    snprintf(out, size, "%s", s_ch_cur);
    pthread_mutex_unlock(&s_ch_mu);
}

/* Replace the current string (called with s_ch_mu held); false when out of memory. */
static bool channels_publish_locked(const char *text, size_t len)
{
    char *s = malloc(len + 1);
    if (!s)
        return false;
    if (s_ch_cur != s_ch_default) {
        if (s_ch_old.n == s_ch_old.cap) {
            size_t cap = s_ch_old.cap ? s_ch_old.cap * 2 : 8;
            char **v = realloc(s_ch_old.v, cap * sizeof(*v));
            if (!v) {
                free(s);
                return false;
            }
            s_ch_old.v = v;
            s_ch_old.cap = cap;
        }
        s_ch_old.v[s_ch_old.n++] = s_ch_cur;
    }
    memcpy(s, text, len);
    s[len] = '\0';
    s_ch_cur = s;
    return true;
}

__attribute__((destructor)) static void channels_free_at_exit(void)
{
    for (size_t i = 0; i < s_ch_old.n; i++)
        free(s_ch_old.v[i]);
    free(s_ch_old.v);
    if (s_ch_cur != s_ch_default)
        free(s_ch_cur);
    s_ch_old.v = NULL;
    s_ch_old.n = s_ch_old.cap = 0;
    s_ch_cur = s_ch_default;
}

/* ------------------------------------------------------------------------------------------------ */
/* SDK calls                                                                                         */

static void apply_membership(lm_msg_t *m);

static void drain_inplace(void)
{
    while (s_inplace_head) {
        lm_msg_t *m = s_inplace_head;
        s_inplace_head = m->next;
        if (!s_inplace_head)
            s_inplace_tail = NULL;
        apply_membership(m);
        free(m);
    }
}

/* Cluster calls that may call our membership callbacks synchronously (links write lock held). */
static void cl_add(dap_cluster_t *c, uint64_t addr)
{
    dap_stream_node_addr_t a = {.uint64 = addr};
    tl_sdk_depth++;
    dap_cluster_member_add(c, &a, 0, NULL);
    tl_sdk_depth--;
    drain_inplace();
}

static void cl_delete(dap_cluster_t *c, uint64_t addr)
{
    dap_stream_node_addr_t a = {.uint64 = addr};
    tl_sdk_depth++;
    dap_cluster_member_delete(c, &a);
    tl_sdk_depth--;
    drain_inplace();
}

static void cl_clear(dap_cluster_t *c)
{
    tl_sdk_depth++;
    dap_cluster_delete_all_members(c);
    tl_sdk_depth--;
    drain_inplace();
}

static bool cl_has(dap_cluster_t *c, uint64_t addr)
{
    dap_stream_node_addr_t a = {.uint64 = addr};
    return dap_cluster_member_find_unsafe(c, &a) != NULL;
}

static bool cl_enabled(dap_cluster_t *c)
{
    return *(volatile int *)&c->status == DAP_CLUSTER_STATUS_ENABLED;
}

static void cl_set_enabled(dap_cluster_t *c, bool on)
{
    *(volatile int *)&c->status = on ? DAP_CLUSTER_STATUS_ENABLED : DAP_CLUSTER_STATUS_DISABLED;
}

/* What each client carries (arg, freed by the SDK with the client since del_arg is set; and
 * _inheritor): the link address and the client incarnation, resolved on the worker (FIX-CLIENT-UAF). */
typedef struct {
    uint64_t addr;
    uint64_t tag;
} lm_client_tag_t;

static void on_client_error(dap_client_t *client, void *flag);
static void on_client_connected(dap_client_t *client, void *arg);

static dap_client_t *client_new(uint64_t addr, uint64_t tag)
{
    lm_client_tag_t *t = malloc(sizeof(*t));
    if (!t)
        return NULL;
    t->addr = addr;
    t->tag = tag;
    dap_client_t *c = dap_client_new(on_client_error, t);
    if (!c) {
        free(t);
        return NULL;
    }
    c->del_arg = true;
    c->_inheritor = t;
    return c;
}

static void client_reset(dap_client_t *c)
{
    dap_client_go_stage(c, STAGE_BEGIN, NULL);
}

static uint64_t client_stream_uuid(dap_client_t *c)
{
    dap_client_pvt_t *p = c->_internal;
    return p && p->stream_es ? p->stream_es->uuid : 0;
}

/* Close every stream to addr except the one with uuid `except` (0: all). */
static void streams_close(uint64_t addr, uint64_t except)
{
    dap_stream_node_addr_t a = {.uint64 = addr};
    dap_list_t *node = dap_stream_find_all_by_addr(&a);
    while (node) {
        dap_list_t *next = node->next;
        dap_events_socket_uuid_ctrl_t *ctrl = node->data;
        if (ctrl) {
            if (ctrl->uuid != except)
                dap_events_socket_remove_and_delete_mt(ctrl->worker, ctrl->uuid);
            free(ctrl);
        }
        free(node);
        node = next;
    }
}

/* ------------------------------------------------------------------------------------------------ */
/* node callbacks: read from the manager object at each call (some node builds write it directly);  */
/* called on the worker with the links write lock held, as the C version did                        */

#define LM_CB(name) (*(__typeof__(s_manager.callbacks.name) volatile *)&s_manager.callbacks.name)

static void node_connected(lm_link_t *l, uint64_t net)
{
    dap_link_manager_callback_t f = LM_CB(connected);
    if (!f)
        return;
    tl_cb_depth++;
    f(&l->rec, net);
    tl_cb_depth--;
}

static bool node_disconnected(lm_link_t *l, uint64_t net, int count)
{
    dap_link_manager_callback_disconnected_t f = LM_CB(disconnected);
    if (!f)
        return false;
    tl_cb_depth++;
    bool r = f(&l->rec, net, count);
    tl_cb_depth--;
    return r;
}

static void node_error(lm_link_t *l, uint64_t net, int stage)
{
    dap_link_manager_callback_error_t f = LM_CB(error);
    if (!f)
        return;
    tl_cb_depth++;
    f(&l->rec, net, stage);
    tl_cb_depth--;
}

static int node_fill_net_info(lm_link_t *l)
{
    dap_link_manager_callback_fill_net_info_t f = LM_CB(fill_net_info);
    if (!f)
        return -1; /* mandatory at init; a node that cleared it later gets "no info" */
    tl_cb_depth++;
    int r = f(&l->rec);
    tl_cb_depth--;
    return r;
}

static void node_link_request(uint64_t net)
{
    dap_link_manager_callback_link_request_t f = LM_CB(link_request);
    if (!f) {
        lm_log(L_DEBUG, "net 0x%016" PRIX64 " needs links, but the node gave no link_request callback", net);
        return;
    }
    tl_cb_depth++;
    f(net);
    tl_cb_depth--;
}

/* Call link_count_changed for every membership change owed, at a point where the worker holds no
 * record across the call (callers look their link up again afterwards). Elsewhere the debt waits:
 * inline calls from callbacks leave it to the running operation; other threads hand it to the worker. */
static void flush_count_changed(void)
{
    if (!tl_worker || tl_cb_depth > 0)
        return;
    while (s_count_pending) {
        s_count_pending--;
        dap_link_manager_callback_link_count_changed_t f = LM_CB(link_count_changed);
        if (!f)
            continue;
        tl_cb_depth++;
        f(); /* no arguments (CONTRACT.md §12.13) */
        tl_cb_depth--;
    }
}

/* End of a synchronous operation on a caller's thread (links write lock held). */
static void hand_count_changed_to_worker(void)
{
    if (tl_worker || !s_count_pending)
        return;
    lm_msg_t *m = msg_new(MSG_COUNT_CHANGED, 0, 0);
    if (m) {
        m->count = s_count_pending;
        q_push(m);
    } else {
        lm_log(L_CRITICAL, "[LM-ERROR] out of memory: %u link_count_changed calls lost", s_count_pending);
    }
    s_count_pending = 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* link operations (links write lock held)                                                           */

static bool link_active(const lm_link_t *l)
{
    return l->active.n > 0;
}

static void link_set_client(lm_link_t *l, dap_client_t *c, uint64_t tag)
{
    l->rec.uplink.client = c;
    l->client_tag = tag;
}

static bool link_give_client(lm_link_t *l)
{
    uint64_t tag = ++s_next_client_tag;
    dap_client_t *c = client_new(l->addr, tag);
    if (!c)
        return false;
    link_set_client(l, c, tag);
    return true;
}

static void link_connect(lm_link_t *l)
{
    if (!l->rec.uplink.client)
        return;
    l->rec.uplink.state = LINK_STATE_CONNECTING;
    dap_client_go_stage(l->rec.uplink.client, STAGE_STREAM_STREAMING, on_client_connected);
}

/* CONTRACT.md §7 "Delete link", read as C's s_link_delete (and as the Rust core): out of every active
 * cluster; when the stream was not destroyed or the record is not preserved, its nets are forgotten,
 * its client deleted (or, preserved, sent back to BEGIN unless already DISCONNECTED) and the other
 * streams to the address closed. A preserved link whose stream is already destroyed keeps its nets,
 * client and state: the client's own error/drop events decide what happens to it next. */
static void delete_link(uint64_t addr, bool force, bool preserve_client)
{
    lm_link_t *l = link_find(addr);
    if (!l)
        return;
    bool was_uplink = l->rec.is_uplink;
    bool had_clusters = l->active.n > 0; /* read first: the deletes' membership callbacks empty the set */
    lm_snap_t cl;
    snap_take(&cl, &l->active);
    for (uint32_t i = 0; i < cl.n; i++)
        cl_delete(CL_PTR(cl.v[i]), addr);
    snap_free(&cl);
    if (!(l = link_find(addr)))
        return;
    l->active.n = 0;
    if (had_clusters && was_uplink)
        s_count_pending += l->nets.n; /* once per associated net */
    bool preserve = (preserve_client || l->statics.n > 0) && !force;
    if (!l->rec.stream_is_destroyed || !preserve) {
        dap_client_t *c = l->rec.uplink.client;
        uint64_t own_uuid = c ? l->rec.uplink.es_uuid : 0;
        if (c) {
            l->nets.n = 0;
            if (!preserve) {
                dap_client_delete_mt(c);
                link_set_client(l, NULL, 0);
            } else if (l->rec.uplink.state != LINK_STATE_DISCONNECTED) {
                client_reset(c);
                l->rec.uplink.state = LINK_STATE_DISCONNECTED;
            }
        }
        streams_close(addr, own_uuid);
    }
    if (!preserve) {
        link_unlink(l);
        lm_log(L_DEBUG, "link %s deleted", ADDR_S(addr));
    }
}

/* Remove the net from every link, in address order; a link left with no net is deleted (static links
 * keep their client). */
static void detach_net(uint64_t net_id)
{
    size_t count = 0;
    uint64_t *addrs = links_sorted(&count, false);
    size_t n_orphans = 0;
    for (size_t i = 0; i < count; i++) {
        lm_link_t *l = link_find(addrs[i]);
        if (l && set_remove(&l->nets, net_id) && l->nets.n == 0)
            addrs[n_orphans++] = addrs[i];
    }
    for (size_t i = 0; i < n_orphans; i++)
        delete_link(addrs[i], false, false);
    free(addrs);
}

static void set_net_condition_locked(uint64_t net_id, bool on)
{
    nets_wr();
    lm_net_t *n = net_find(net_id);
    if (!n || n->active == on) {
        nets_unlock();
        return;
    }
    n->active = on;
    lm_log(L_INFO, "net 0x%016" PRIX64 " %s", net_id, on ? "enabled" : "disabled");
    for (uint32_t i = 0; i < n->clusters.n; i++) {
        dap_cluster_t *c = CL_PTR(n->clusters.v[i]);
        cl_set_enabled(c, on);
        if (!on)
            cl_clear(c);
    }
    nets_unlock();
    if (on)
        return;
    s_count_pending++;
    detach_net(net_id);
}

static void uplink_lost(uint64_t addr);

/* link_update's applied step (CONTRACT.md §4). */
static void apply_link_update(const lm_msg_t *m)
{
    lm_link_t *l = link_find(m->addr);
    if (!l) {
        lm_log(L_WARNING, "link_update %s: no such link", ADDR_S(m->addr));
        return;
    }
    dap_client_t *c = l->rec.uplink.client;
    if (!c) {
        lm_log(L_WARNING, "link_update %s: link has no client", ADDR_S(m->addr));
        return;
    }
    if (l->rec.uplink.state != LINK_STATE_DISCONNECTED) {
        l->rec.uplink.ready = false;
        lm_log(L_DEBUG, "link_update %s: link is not disconnected, update ignored", ADDR_S(m->addr));
        return;
    }
    bool ready = l->rec.uplink.ready;
    l->rec.uplink.ready = false;
    dap_stream_node_addr_t a = {.uint64 = m->addr};
    dap_client_set_uplink_unsafe(c, &a, m->host, m->port);
    dap_client_set_is_always_reconnect(c, false);
    char chans[LM_MAX_CHANNELS + 1];
    channels_copy(chans, sizeof(chans));
    dap_client_set_active_channels_unsafe(c, chans);
    if (ready)
        link_connect(l);
}

/* ---- streams (§5) ---- */

static void apply_stream_add(uint64_t addr, bool uplink)
{
    lm_link_t *l = link_find(addr);
    if (!l) {
        if (uplink) {
            lm_log(L_ERROR, "[LM-ERROR] stream_add: uplink %s has no link", ADDR_S(addr));
            return;
        }
        if (!(l = link_new(addr))) {
            lm_log(L_CRITICAL, "[LM-ERROR] stream_add %s: out of memory", ADDR_S(addr));
            return;
        }
    }
    if (link_active(l)) {
        lm_log(L_DEBUG, "stream_add %s: link already in active clusters", ADDR_S(addr));
        return;
    }
    lm_snap_t st;
    snap_take(&st, &l->statics);
    for (uint32_t i = 0; i < st.n; i++) {
        dap_cluster_t *c = CL_PTR(st.v[i]);
        if (cl_enabled(c)) {
            cl_add(c, addr);
            s_count_pending++;
            flush_count_changed();
        }
    }
    snap_free(&st);
    if (!(l = link_find(addr)))
        return;
    if (uplink) {
        lm_snap_t nets;
        snap_take(&nets, &l->nets);
        for (uint32_t i = 0; i < nets.n; i++) {
            lm_net_info_t ni = net_info(nets.v[i]);
            if (!ni.found || !ni.active)
                continue;
            if (!(l = link_find(addr)))
                break;
            node_connected(l, nets.v[i]);
        }
        snap_free(&nets);
    }
    if ((l = link_find(addr)))
        l->rec.is_uplink = uplink;
}

static void apply_stream_replace(uint64_t addr, bool uplink)
{
    lm_link_t *l = link_find(addr);
    if (!l || !link_active(l))
        return;
    if (l->rec.is_uplink && !uplink && l->rec.uplink.client) {
        /* FIX-REPLACE-NOCLIENT: a link without a client just changes direction. */
        client_reset(l->rec.uplink.client);
        l->rec.uplink.state = LINK_STATE_DISCONNECTED;
    }
    l->rec.is_uplink = uplink;
}

static void apply_stream_delete(uint64_t addr)
{
    lm_link_t *l = link_find(addr);
    if (!l)
        return;
    if (!link_active(l)) {
        /* FIX-GHOST-DOWNLINK: a client-less record with no cluster at all goes with its stream. */
        if (!l->rec.uplink.client && l->statics.n == 0)
            delete_link(addr, true, false);
        return;
    }
    l->rec.stream_is_destroyed = true;
    lm_snap_t cl;
    snap_take(&cl, &l->active);
    for (uint32_t i = 0; i < cl.n; i++) {
        cl_delete(CL_PTR(cl.v[i]), addr);
        if ((l = link_find(addr)))
            set_remove(&l->active, cl.v[i]);
    }
    snap_free(&cl);
    s_count_pending++;
    if ((l = link_find(addr)) && !l->rec.uplink.client)
        delete_link(addr, false, false);
}

/* ---- accounting and membership (§6) ---- */

static void apply_accounting(uint64_t net_id, uint64_t addr, bool ok)
{
    lm_snap_t cl;
    nets_rd();
    lm_net_t *n = net_find(net_id);
    if (!n) {
        nets_unlock();
        return;
    }
    snap_take(&cl, &n->clusters);
    nets_unlock();
    lm_link_t *l = link_find(addr);
    if (!l) {
        snap_free(&cl);
        return;
    }
    if (ok) {
        lm_snap_t st;
        snap_take(&st, &l->statics);
        for (uint32_t i = 0; i < cl.n; i++) {
            bool is_static = false;
            for (uint32_t j = 0; j < st.n && !is_static; j++)
                is_static = st.v[j] == cl.v[i];
            if (i == 0 || is_static) {
                cl_add(CL_PTR(cl.v[i]), addr);
                s_count_pending++;
                flush_count_changed();
            }
        }
        snap_free(&st);
        snap_free(&cl);
        return;
    }
    for (uint32_t i = 0; i < cl.n; i++) {
        cl_delete(CL_PTR(cl.v[i]), addr);
        if ((l = link_find(addr)))
            set_remove(&l->active, cl.v[i]);
    }
    s_count_pending++;
    flush_count_changed();
    if ((l = link_find(addr)))
        l->rec.uplink.start_after = now_secs() + s_reconnect_delay;
    dap_cluster_t *primary = CL_PTR(cl.v[0]);
    snap_free(&cl);
    int count = (int)dap_cluster_members_count(primary);
    if (!(l = link_find(addr)))
        return;
    if (node_disconnected(l, net_id, count))
        return; /* permanent: keep the link and its net */
    if (!(l = link_find(addr)))
        return;
    set_remove(&l->nets, net_id);
    if (l->rec.uplink.client && l->nets.n == 0 && l->statics.n == 0)
        delete_link(addr, false, false);
}

static void apply_membership(lm_msg_t *m)
{
    uint64_t addr = m->addr;
    lm_link_t *l = link_find(addr);
    switch (m->kind) {
    case MSG_CLUSTER_JOINED:
        if (l && set_insert(&l->active, m->cluster) < 0)
            lm_log(L_CRITICAL, "[LM-ERROR] %s: out of memory recording a cluster", ADDR_S(addr));
        break;
    case MSG_CLUSTER_LEFT:
        if (l)
            set_remove(&l->active, m->cluster);
        break;
    case MSG_STATIC_JOINED:
        if (addr == g_node_addr.uint64)
            return;
        if (!l && !(l = link_new(addr))) {
            lm_log(L_CRITICAL, "[LM-ERROR] static link %s: out of memory", ADDR_S(addr));
            return;
        }
        if (!l->rec.uplink.client && !link_give_client(l))
            lm_log(L_ERROR, "[LM-ERROR] static link %s: the SDK could not make a client", ADDR_S(addr));
        if (set_insert(&l->statics, m->cluster) < 0)
            lm_log(L_CRITICAL, "[LM-ERROR] %s: out of memory recording a static cluster", ADDR_S(addr));
        break;
    case MSG_STATIC_LEFT:
        if (addr == g_node_addr.uint64 || !l)
            return;
        set_remove(&l->statics, m->cluster);
        if (l->statics.n == 0 && l->active.n == 0)
            delete_link(addr, false, true);
        break;
    default:
        break;
    }
}

/* ---- the uplink state machine (§7) ---- */

static void apply_client_connected(uint64_t addr, uint64_t tag)
{
    lm_link_t *l = link_find(addr);
    if (!l || !l->rec.uplink.client || l->client_tag != tag) {
        lm_log(L_INFO, "client of %s connected, but the link was already dropped", ADDR_S(addr));
        return;
    }
    l->rec.uplink.attempts_count = 0;
    l->rec.uplink.state = LINK_STATE_ESTABLISHED;
    l->rec.uplink.es_uuid = client_stream_uuid(l->rec.uplink.client);
    lm_log(L_INFO, "uplink %s established", ADDR_S(addr));
}

/* The link is disconnected for good this round: each active net decides through `disconnected`
 * whether to keep it (permanent); a link left with nothing is deleted, else its client is reset. */
static void drop_disconnected(uint64_t addr)
{
    lm_link_t *l = link_find(addr);
    if (!l)
        return;
    lm_snap_t nets;
    snap_take(&nets, &l->nets);
    lm_set_t keep = {NULL, 0, 0};
    for (uint32_t i = 0; i < nets.n; i++) {
        lm_net_info_t ni = net_info(nets.v[i]);
        if (!ni.found || !ni.active)
            continue; /* inactive: dropped */
        int count = (int)dap_cluster_members_count(ni.primary);
        if (!(l = link_find(addr)))
            continue;
        if (node_disconnected(l, nets.v[i], count) && set_insert(&keep, nets.v[i]) < 0)
            lm_log(L_CRITICAL, "[LM-ERROR] %s: out of memory keeping a net", ADDR_S(addr));
    }
    snap_free(&nets);
    if ((l = link_find(addr))) {
        for (uint32_t i = 0; i < l->nets.n;)
            if (!set_has(&keep, l->nets.v[i]))
                set_remove(&l->nets, l->nets.v[i]);
            else
                i++;
        l->rec.uplink.attempts_count = 0;
        if (l->active.n == 0 && l->nets.n == 0 && l->statics.n == 0) {
            lm_log(L_INFO, "uplink %s dropped: no net keeps it", ADDR_S(addr));
            delete_link(addr, false, false);
        } else if (l->rec.uplink.client) {
            client_reset(l->rec.uplink.client);
        }
    }
    set_free(&keep);
}

/* The uplink is down ("drop as disconnected"): DISCONNECTED, next try after reconnect_delay; past
 * max_attempts the nets decide. */
static void uplink_lost(uint64_t addr)
{
    lm_link_t *l = link_find(addr);
    if (!l || !l->rec.uplink.client)
        return;
    l->rec.uplink.state = LINK_STATE_DISCONNECTED;
    l->rec.uplink.start_after = now_secs() + s_reconnect_delay;
    uint32_t attempts = ++l->rec.uplink.attempts_count;
    if (attempts < s_max_attempts) {
        client_reset(l->rec.uplink.client);
        lm_log(L_DEBUG, "uplink %s lost, attempt %u of %u", ADDR_S(addr), attempts, s_max_attempts);
        return;
    }
    drop_disconnected(addr);
}

static void apply_client_error(uint64_t addr, uint64_t tag, bool last_attempt)
{
    lm_link_t *l = link_find(addr);
    if (!l || !l->rec.uplink.client || l->client_tag != tag) {
        lm_log(L_INFO, "error from a client of %s, but the link was already dropped", ADDR_S(addr));
        return;
    }
    if (last_attempt) {
        uplink_lost(addr);
        return;
    }
    int stage = l->rec.uplink.client->stage_target;
    lm_snap_t nets;
    snap_take(&nets, &l->nets);
    for (uint32_t i = 0; i < nets.n; i++) {
        if (!(l = link_find(addr)))
            break;
        node_error(l, nets.v[i], stage);
    }
    snap_free(&nets);
    if (!(l = link_find(addr)) || l->client_tag != tag)
        return;
    if (l->rec.uplink.state == LINK_STATE_ESTABLISHED) {
        l->rec.stream_is_destroyed = true;
        delete_link(addr, false, true);
    } else if (link_active(l)) {
        if (l->rec.uplink.client)
            client_reset(l->rec.uplink.client);
        l->rec.uplink.state = LINK_STATE_DISCONNECTED;
    }
}

/* ---- the maintenance tick (§8) ---- */

static void links_request(void)
{
    uint64_t *wanted = NULL;
    size_t n_wanted = 0;
    nets_wr();
    if (s_nets.n)
        wanted = malloc(s_nets.n * sizeof(*wanted));
    for (size_t i = 0; i < s_nets.n; i++) {
        lm_net_t *n = s_nets.v[i];
        if (!n->active)
            continue;
        size_t count = dap_cluster_members_count(CL_PTR(n->clusters.v[0]));
        n->uplinks_cached = count;
        if (count < n->min_links && wanted)
            wanted[n_wanted++] = n->id;
    }
    nets_unlock();
    for (size_t i = 0; i < n_wanted; i++)
        node_link_request(wanted[i]);
    free(wanted);
}

static void wake_up_link(uint64_t addr, uint64_t now)
{
    lm_link_t *l = link_find(addr);
    if (!l)
        return;
    if (l->rec.uplink.state == LINK_STATE_ESTABLISHED && l->rec.uplink.start_after < now) {
        /* Repeats until the peer is accounted: the node's callback is idempotent. */
        lm_snap_t nets;
        snap_take(&nets, &l->nets);
        for (uint32_t i = 0; i < nets.n; i++) {
            lm_net_info_t ni = net_info(nets.v[i]);
            if (!ni.found || cl_has(ni.primary, addr))
                continue;
            if (!(l = link_find(addr)))
                break;
            node_connected(l, nets.v[i]);
        }
        snap_free(&nets);
        if (!(l = link_find(addr)))
            return;
    }
    dap_client_t *client = l->rec.uplink.client;
    if (!client)
        return;
    bool static_on = false;
    for (uint32_t i = 0; i < l->statics.n && !static_on; i++)
        static_on = cl_enabled(CL_PTR(l->statics.v[i]));
    if (link_active(l) || l->rec.uplink.state != LINK_STATE_DISCONNECTED || (l->nets.n == 0 && !static_on) ||
        l->rec.uplink.start_after >= now)
        return;
    if (dap_client_get_stage(client) != STAGE_BEGIN) {
        client_reset(client); /* retried next pass */
        return;
    }
    uint64_t tag = l->client_tag;
    int rc = node_fill_net_info(l);
    if (rc == 0)
        return; /* the node handled it: link_update (queued) and `ready` */
    if (!(l = link_find(addr)) || !l->rec.uplink.client || l->client_tag != tag)
        return;
    if (l->rec.uplink.client->link_info.uplink_port != 0) {
        link_connect(l);
        return;
    }
    lm_log(L_INFO, "no address known for uplink %s: dropped as disconnected", ADDR_S(addr));
    uplink_lost(addr);
}

/* phase: -1 the next in turn (the timer), 0 wake-up, 1 links request; the one after is the other. */
static void apply_tick(int phase)
{
    if (!__atomic_load_n(&s_manager.active, __ATOMIC_ACQUIRE))
        return;
    bool wakeup = phase < 0 ? s_next_is_wakeup : phase == 0;
    s_next_is_wakeup = !wakeup;
    hot_expire_all();
    if (!wakeup) {
        links_request();
        return;
    }
    uint64_t now = now_secs();
    size_t n = 0;
    uint64_t *addrs = links_sorted(&n, true);
    for (size_t i = 0; i < n; i++)
        wake_up_link(addrs[i], now);
    free(addrs);
}

/* ------------------------------------------------------------------------------------------------ */
/* the worker and the timer                                                                          */

static pthread_t s_worker;
static lm_msg_t *s_shutdown_msg; /* under s_life */
static atomic_bool s_tick_queued;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    pthread_t th;
} s_timer = {.mu = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t s_timer_once = PTHREAD_ONCE_INIT;

static void timer_cond_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&s_timer.cv, &a);
    pthread_condattr_destroy(&a);
}

static void *timer_main(void *arg)
{
    (void)arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&s_timer.mu);
    while (!s_timer.stop) {
        next.tv_sec += s_tick_ms / 1000;
        next.tv_nsec += (long)(s_tick_ms % 1000) * 1000000L;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000L;
        }
        while (!s_timer.stop && pthread_cond_timedwait(&s_timer.cv, &s_timer.mu, &next) == 0)
            ;
        if (s_timer.stop)
            break;
        /* One tick in the queue at most: a busy worker does not build a backlog of ticks. */
        if (hooks_auto_tick() && !atomic_exchange(&s_tick_queued, true)) {
            lm_msg_t *m = msg_new(MSG_TICK, 0, 0);
            if (!m || q_push(m) != 0)
                atomic_store(&s_tick_queued, false);
        }
    }
    pthread_mutex_unlock(&s_timer.mu);
    return NULL;
}

static void apply_shutdown(void)
{
    links_wr();
    nets_wr();
    size_t n = 0;
    uint64_t *addrs = links_sorted(&n, false);
    for (size_t i = 0; i < n; i++)
        delete_link(addrs[i], true, false);
    free(addrs);
    for (size_t i = 0; i < s_nets.n; i++)
        set_net_condition_locked(s_nets.v[i]->id, false);
    for (size_t i = 0; i < s_nets.n; i++) {
        set_free(&s_nets.v[i]->clusters);
        free(s_nets.v[i]);
    }
    free(s_nets.v);
    s_nets.v = NULL;
    s_nets.n = s_nets.cap = 0;
    /* Records a shutdown left preserved (none: every delete is forced) and the table itself. */
    for (size_t i = 0; i < s_links.nb; i++)
        for (lm_link_t *l = s_links.b[i], *next; l; l = next) {
            next = l->next;
            if (l->rec.uplink.client)
                dap_client_delete_mt(l->rec.uplink.client);
            link_free(l);
        }
    free(s_links.b);
    s_links.b = NULL;
    s_links.nb = s_links.n = 0;
    s_count_pending = 0; /* no link_count_changed for the shutdown itself */
    hot_clear();
    nets_unlock();
    links_unlock();
}

static void apply_msg(lm_msg_t *m)
{
    switch (m->kind) {
    case MSG_STREAM_ADD:
        apply_stream_add(m->addr, m->flag);
        break;
    case MSG_STREAM_REPLACE:
        apply_stream_replace(m->addr, m->flag);
        break;
    case MSG_STREAM_DELETE:
        apply_stream_delete(m->addr);
        break;
    case MSG_ACCOUNTING:
        apply_accounting(m->net, m->addr, m->flag);
        break;
    case MSG_CLUSTER_JOINED:
    case MSG_CLUSTER_LEFT:
    case MSG_STATIC_JOINED:
    case MSG_STATIC_LEFT:
        apply_membership(m);
        break;
    case MSG_CLIENT_CONNECTED:
        apply_client_connected(m->addr, m->tag);
        break;
    case MSG_CLIENT_ERROR:
        apply_client_error(m->addr, m->tag, m->flag);
        break;
    case MSG_LINK_UPDATE:
        apply_link_update(m);
        break;
    case MSG_COUNT_CHANGED:
        s_count_pending += m->count;
        break;
    case MSG_TICK:
        atomic_store(&s_tick_queued, false);
        apply_tick(m->tick_phase);
        break;
    case MSG_SHUTDOWN:
        break;
    case MSG_BARRIER:
        hooks_barrier_reached(m->waiter, 0);
        break;
    }
}

static void *worker_main(void *arg)
{
    (void)arg;
    tl_worker = true;
    for (;;) {
        lm_msg_t *m = q_pop_wait();
        if (m->kind == MSG_SHUTDOWN) {
            free(m);
            break;
        }
        links_wr();
        apply_msg(m);
        flush_count_changed();
        links_unlock();
        free(m);
    }
    apply_shutdown();
    /* The queue is closed: whatever is left was issued during shutdown and is dropped. */
    pthread_mutex_lock(&s_q.mu);
    size_t dropped = 0;
    for (lm_msg_t *m; (m = q_pop_locked()); dropped++) {
        if (m->kind == MSG_BARRIER)
            hooks_barrier_reached(m->waiter, DAP_LM_ERR_SHUTTING_DOWN);
        free(m);
    }
    pthread_mutex_unlock(&s_q.mu);
    lm_log(L_INFO, "link manager worker stopped (%zu queued requests dropped: shutting down)", dropped);
    return NULL;
}

/* ------------------------------------------------------------------------------------------------ */
/* SDK client callbacks (SDK worker threads): enqueue only                                           */

static void post_client_event(lm_msg_kind_t kind, const lm_client_tag_t *t, bool flag)
{
    lm_msg_t *m = msg_new(kind, t->addr, 0);
    if (!m) {
        lm_log(L_CRITICAL, "[LM-ERROR] out of memory: client event of %s lost", ADDR_S(t->addr));
        return;
    }
    m->tag = t->tag;
    m->flag = flag;
    q_push(m);
}

static void on_client_error(dap_client_t *client, void *flag)
{
    const lm_client_tag_t *t = client ? client->_inheritor : NULL;
    if (!t) {
        lm_log(L_WARNING, "[LM-ERROR] client callback without a client or its tag: ignored");
        return;
    }
    post_client_event(MSG_CLIENT_ERROR, t, flag != NULL);
}

static void on_client_connected(dap_client_t *client, void *arg)
{
    const lm_client_tag_t *t = arg;
    if (!client || !t) {
        lm_log(L_WARNING, "[LM-ERROR] client callback without a client or its tag: ignored");
        return;
    }
    post_client_event(MSG_CLIENT_CONNECTED, t, false);
}

/* ------------------------------------------------------------------------------------------------ */
/* API: lifecycle (§2)                                                                               */

static uint64_t config_uint(const char *key, uint64_t min, uint64_t max, uint64_t dflt)
{
    dap_config_t *cfg = g_config;
    if (!cfg)
        return dflt;
    uint64_t v = _dap_config_get_item_uint(cfg, LM_SECTION, key, dflt);
    if (v < min || v > max) {
        lm_log(L_WARNING,
               "[LM-ERROR] config [" LM_SECTION "] %s=%" PRIu64 " is not in %" PRIu64 "..=%" PRIu64 "; using %" PRIu64,
               key, v, min, max, dflt);
        return dflt;
    }
    return v;
}

static bool config_bool(const char *key, bool dflt)
{
    dap_config_t *cfg = g_config;
    return cfg ? dap_config_get_item_bool_default(cfg, LM_SECTION, key, dflt) : dflt;
}

LM_API int dap_link_manager_init(const dap_link_manager_callbacks_t *callbacks)
{
    if (tl_worker) { /* from a callback: initialised by definition (and deinit may hold s_life) */
        lm_log(L_WARNING, "[LM-ERROR] code=-2 init: the link manager is already initialised");
        return -2;
    }
    pthread_mutex_lock(&s_life);
    if (s_inited) {
        pthread_mutex_unlock(&s_life);
        lm_log(L_WARNING, "[LM-ERROR] code=-2 init: the link manager is already initialised");
        return -2;
    }
    if (!callbacks || !callbacks->fill_net_info) {
        pthread_mutex_unlock(&s_life);
        lm_log(L_ERROR, "[LM-ERROR] code=-2 init: %s",
               !callbacks ? "callbacks are NULL" : "the fill_net_info callback is mandatory");
        return -2;
    }
    if (!callbacks->link_request)
        lm_log(L_WARNING, "init: no link_request callback: nets below their link target will not ask for links");
    s_tick_ms = (unsigned)config_uint("timer_update_states", 10, 3600000, 5000);
    s_max_attempts = (uint32_t)config_uint("max_attempts_num", 1, 1000, 1);
    s_reconnect_delay = config_uint("reconnect_delay", 0, 86400, 20);
    s_debug_more = config_bool("debug_more", false);
    atomic_store(&s_allow_loopback, config_bool("allow_loopback_uplinks", false));

    links_wr();
    nets_wr();
    s_manager.callbacks = *callbacks;
    s_manager.max_attempts_num = s_max_attempts;
    s_manager.reconnect_delay = (uint32_t)s_reconnect_delay;
    s_next_is_wakeup = false; /* the first tick is a links request */
    s_count_pending = 0;
    __atomic_store_n(&s_manager.active, true, __ATOMIC_RELEASE);
    nets_unlock();
    links_unlock();
    hot_clear();
    hooks_reset();

    if (!(s_shutdown_msg = msg_new(MSG_SHUTDOWN, 0, 0))) {
        __atomic_store_n(&s_manager.active, false, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&s_life);
        lm_log(L_ERROR, "[LM-ERROR] code=-1 init: out of memory");
        return -1;
    }
    pthread_mutex_lock(&s_q.mu);
    s_q.open = true;
    pthread_mutex_unlock(&s_q.mu);
    atomic_store(&s_tick_queued, false);
    atomic_store(&s_up, true);

    if (pthread_create(&s_worker, NULL, worker_main, NULL) != 0) {
        atomic_store(&s_up, false);
        pthread_mutex_lock(&s_q.mu);
        s_q.open = false;
        pthread_mutex_unlock(&s_q.mu);
        __atomic_store_n(&s_manager.active, false, __ATOMIC_RELEASE);
        free(s_shutdown_msg);
        s_shutdown_msg = NULL;
        pthread_mutex_unlock(&s_life);
        lm_log(L_ERROR, "[LM-ERROR] code=-1 init: the worker thread could not start");
        return -1;
    }
    pthread_once(&s_timer_once, timer_cond_init);
    s_timer.stop = false;
    if (pthread_create(&s_timer.th, NULL, timer_main, NULL) != 0) {
        atomic_store(&s_up, false);
        __atomic_store_n(&s_manager.active, false, __ATOMIC_RELEASE);
        q_push(s_shutdown_msg);
        s_shutdown_msg = NULL;
        pthread_join(s_worker, NULL);
        pthread_mutex_unlock(&s_life);
        lm_log(L_ERROR, "[LM-ERROR] code=-3 init: the timer thread could not start");
        return -3;
    }
    s_inited = true;
    pthread_mutex_unlock(&s_life);
    lm_log(L_INFO, "link manager initialised (legacy baseline, tick %u ms)", s_tick_ms);
    return 0;
}

LM_API void dap_link_manager_deinit(void)
{
    if (tl_worker || tl_links.depth > 0) {
        lm_log(L_ERROR, "[LM-ERROR] deinit called from inside a callback: ignored");
        return;
    }
    pthread_mutex_lock(&s_life);
    if (!s_inited) {
        pthread_mutex_unlock(&s_life);
        lm_log(L_WARNING, "deinit: the link manager is not initialised");
        return;
    }
    atomic_store(&s_up, false);
    __atomic_store_n(&s_manager.active, false, __ATOMIC_RELEASE);
    pthread_mutex_lock(&s_timer.mu);
    s_timer.stop = true;
    pthread_cond_signal(&s_timer.cv);
    pthread_mutex_unlock(&s_timer.mu);
    pthread_join(s_timer.th, NULL);
    q_push(s_shutdown_msg); /* allocated by init: stopping never needs memory */
    s_shutdown_msg = NULL;
    pthread_join(s_worker, NULL);
    s_inited = false;
    pthread_mutex_unlock(&s_life);
    lm_log(L_INFO, "link manager stopped");
}

LM_API dap_link_manager_t *dap_link_manager_new(const dap_link_manager_callbacks_t *callbacks)
{
    if (!callbacks || !callbacks->fill_net_info) {
        lm_log(L_ERROR, "[LM-ERROR] new: %s",
               !callbacks ? "callbacks are NULL" : "the fill_net_info callback is mandatory");
        return NULL;
    }
    dap_link_manager_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->callbacks = *callbacks;
    m->active = true;
    m->max_attempts_num = 1;
    m->reconnect_delay = 20;
    pthread_rwlock_init(&m->links_lock, NULL);
    pthread_rwlock_init(&m->nets_lock, NULL);
    return m;
}

LM_API dap_link_manager_t *dap_link_manager_get_default(void)
{
    return atomic_load(&s_up) ? &s_manager : NULL;
}

LM_API void dap_link_manager_set_condition(bool active)
{
    if (!atomic_load(&s_up)) {
        lm_log(L_WARNING, "[LM-ERROR] set_condition: the link manager is not initialised");
        return;
    }
    __atomic_store_n(&s_manager.active, active, __ATOMIC_RELEASE);
}

LM_API bool dap_link_manager_get_condition(void)
{
    return atomic_load(&s_up) && __atomic_load_n(&s_manager.active, __ATOMIC_ACQUIRE);
}

/* ------------------------------------------------------------------------------------------------ */
/* API: nets (§3)                                                                                    */

LM_API int dap_link_manager_add_net(uint64_t net_id, dap_cluster_t *cluster, uint32_t min_links)
{
    if (!net_id || !cluster) {
        lm_log(L_WARNING, "[LM-ERROR] code=-2 add_net: net id 0 or cluster NULL");
        return -2;
    }
    nets_wr();
    if (!atomic_load(&s_up)) {
        nets_unlock();
        lm_log(L_WARNING, "[LM-ERROR] code=-2 add_net: the link manager is not initialised");
        return -2;
    }
    if (net_find(net_id)) {
        nets_unlock(); /* FIX-ADDNET-LOCK: never return with the lock held */
        lm_log(L_WARNING, "[LM-ERROR] code=-3 net 0x%016" PRIX64 " is already managed", net_id);
        return -3;
    }
    int rc = 0;
    lm_net_t *n = calloc(1, sizeof(*n));
    if (n && s_nets.n == s_nets.cap) {
        size_t cap = s_nets.cap ? s_nets.cap * 2 : 8;
        lm_net_t **v = realloc(s_nets.v, cap * sizeof(*v));
        if (v) {
            s_nets.v = v;
            s_nets.cap = cap;
        }
    }
    if (!n || s_nets.n == s_nets.cap || set_insert(&n->clusters, CL_KEY(cluster)) < 0) {
        if (n)
            set_free(&n->clusters);
        free(n);
        rc = -2;
    } else {
        n->id = net_id;
        n->min_links = min_links;
        s_nets.v[s_nets.n++] = n;
    }
    nets_unlock();
    if (rc)
        lm_log(L_CRITICAL, "[LM-ERROR] code=-2 add_net 0x%016" PRIX64 ": out of memory", net_id);
    else
        lm_log(L_INFO, "net 0x%016" PRIX64 " added, min links %u", net_id, min_links);
    return rc;
}

LM_API int dap_link_manager_add_net_associate(uint64_t net_id, dap_cluster_t *cluster)
{
    if (!net_id || !cluster) {
        lm_log(L_WARNING, "[LM-ERROR] code=-2 add_net_associate: net id 0 or cluster NULL");
        return -2;
    }
    nets_wr();
    if (!atomic_load(&s_up)) {
        nets_unlock();
        lm_log(L_WARNING, "[LM-ERROR] code=-2 add_net_associate: the link manager is not initialised");
        return -2;
    }
    lm_net_t *n = net_find(net_id);
    int rc = 0;
    if (!n) {
        rc = -3;
    } else {
        int ins = set_insert(&n->clusters, CL_KEY(cluster));
        if (ins == 0)
            rc = -4;
        else if (ins < 0)
            rc = -2;
        else
            cl_set_enabled(cluster, n->active); /* FIX-ASSOC-STATUS: the net's status at once */
    }
    nets_unlock();
    if (rc == -3)
        lm_log(L_WARNING, "[LM-ERROR] code=-3 associate: net 0x%016" PRIX64 " is not managed", net_id);
    else if (rc == -4)
        lm_log(L_WARNING, "[LM-ERROR] code=-4 associate: cluster already attached to net 0x%016" PRIX64, net_id);
    else if (rc == -2)
        lm_log(L_CRITICAL, "[LM-ERROR] code=-2 associate 0x%016" PRIX64 ": out of memory", net_id);
    return rc;
}

LM_API void dap_link_manager_set_net_condition(uint64_t net_id, bool active)
{
    links_wr();
    if (atomic_load(&s_up)) {
        set_net_condition_locked(net_id, active);
        hand_count_changed_to_worker();
    } else {
        lm_log(L_WARNING, "[LM-ERROR] code=-2 set_net_condition: the link manager is not initialised");
    }
    links_unlock();
}

LM_API void dap_link_manager_remove_net(uint64_t net_id)
{
    links_wr();
    if (atomic_load(&s_up)) {
        set_net_condition_locked(net_id, false);
        nets_rd();
        bool known = net_find(net_id) != NULL;
        nets_unlock();
        if (known)
            detach_net(net_id); /* an already inactive net is still forgotten by its links */
        nets_wr();
        for (size_t i = 0; i < s_nets.n; i++)
            if (s_nets.v[i]->id == net_id) {
                lm_net_t *n = s_nets.v[i];
                memmove(s_nets.v + i, s_nets.v + i + 1, (s_nets.n - i - 1) * sizeof(*s_nets.v));
                s_nets.n--;
                set_free(&n->clusters);
                free(n);
                break;
            }
        nets_unlock();
        hand_count_changed_to_worker();
    } else {
        lm_log(L_WARNING, "[LM-ERROR] code=-2 remove_net: the link manager is not initialised");
    }
    links_unlock();
}

LM_API bool dap_link_manager_get_net_condition(uint64_t net_id)
{
    bool r = false;
    nets_rd();
    if (atomic_load(&s_up)) {
        lm_net_t *n = net_find(net_id);
        r = n && n->active;
    }
    nets_unlock();
    return r;
}

LM_API size_t dap_link_manager_links_count(uint64_t net_id)
{
    size_t r = 0;
    nets_rd();
    if (atomic_load(&s_up)) {
        lm_net_t *n = net_find(net_id);
        if (n)
            r = dap_cluster_members_count(CL_PTR(n->clusters.v[0]));
    }
    nets_unlock();
    return r;
}

LM_API size_t dap_link_manager_required_links_count(uint64_t net_id)
{
    size_t r = 0;
    nets_rd();
    if (atomic_load(&s_up)) {
        lm_net_t *n = net_find(net_id);
        if (n)
            r = n->min_links;
    }
    nets_unlock();
    return r;
}

LM_API size_t dap_link_manager_needed_links_count(uint64_t net_id)
{
    size_t r = 0;
    nets_rd();
    if (atomic_load(&s_up)) {
        lm_net_t *n = net_find(net_id);
        if (n && n->min_links > n->uplinks_cached)
            r = n->min_links - n->uplinks_cached;
    }
    nets_unlock();
    return r;
}

LM_API size_t dap_link_manager_established_uplinks_count(uint64_t net_id)
{
    size_t r = 0;
    links_rd();
    nets_rd();
    bool known = atomic_load(&s_up) && net_find(net_id);
    nets_unlock();
    if (known)
        for (size_t i = 0; i < s_links.nb; i++)
            for (lm_link_t *l = s_links.b[i]; l; l = l->next)
                if (l->rec.is_uplink && l->rec.uplink.state == LINK_STATE_ESTABLISHED && set_has(&l->nets, net_id))
                    r++;
    links_unlock();
    return r;
}

/* ------------------------------------------------------------------------------------------------ */
/* API: links (§4)                                                                                   */

static bool addr_ok(const dap_stream_node_addr_t *addr, uint64_t *out)
{
    if (!addr || !addr->uint64)
        return false;
    *out = addr->uint64;
    return true;
}

/* As C's s_link_manager_link_create: find or make the link, give it a client, then associate the net;
 * on -2 (unknown net or already associated) a link made here is rolled back, its client deleted. */
static int link_create_locked(uint64_t a, uint64_t net_id)
{
    lm_link_t *l = link_find(a);
    bool created = !l;
    if (created && !(l = link_new(a))) {
        lm_log(L_CRITICAL, "[LM-ERROR] code=-4 link_create %s: out of memory", ADDR_S(a));
        return -4;
    }
    if (!l->rec.uplink.client && !link_give_client(l)) {
        lm_log(L_ERROR, "[LM-ERROR] code=-4 link_create %s: the SDK could not make a client", ADDR_S(a));
        if (created)
            link_unlink(l);
        return -4;
    }
    if (net_id != DAP_NET_ID_INVALID) {
        nets_rd();
        bool known = net_find(net_id) != NULL;
        nets_unlock();
        int ins = known ? set_insert(&l->nets, net_id) : 0;
        if (ins <= 0) {
            if (created) {
                dap_client_delete_mt(l->rec.uplink.client);
                link_set_client(l, NULL, 0);
                link_unlink(l);
            }
            if (ins < 0) {
                lm_log(L_CRITICAL, "[LM-ERROR] code=-4 link_create %s: out of memory", ADDR_S(a));
                return -4;
            }
            if (known)
                lm_log(L_DEBUG, "link_create %s: net 0x%016" PRIX64 " already associated", ADDR_S(a), net_id);
            else
                lm_log(L_WARNING, "[LM-ERROR] code=-2 link_create %s: net 0x%016" PRIX64 " is not managed", ADDR_S(a),
                       net_id);
            return -2;
        }
    }
    if (s_debug_more)
        lm_log(L_DEBUG, "[LM-TRACE] link %s created/associated with net 0x%016" PRIX64, ADDR_S(a), net_id);
    return 0;
}

LM_API int dap_link_manager_link_create(dap_stream_node_addr_t *addr, uint64_t net_id)
{
    uint64_t a;
    if (!addr_ok(addr, &a)) {
        lm_log(L_WARNING, "[LM-ERROR] code=-5 link_create: address NULL or zero");
        return -5;
    }
    links_wr();
    int rc;
    if (!atomic_load(&s_up)) {
        rc = -3;
        lm_log(L_WARNING, "[LM-ERROR] code=-3 link_create: the link manager is not initialised");
    } else if (a == g_node_addr.uint64) {
        rc = -1;
        lm_log(L_WARNING, "[LM-ERROR] code=-1 link_create: %s is this node's own address", ADDR_S(a));
    } else {
        rc = link_create_locked(a, net_id);
        hot_stamp(net_id, a); /* always, whatever the outcome, for any net id (as C, after the attempt) */
    }
    links_unlock();
    return rc;
}

/* Host checks for link_update (FIX-LOOPBACK: what the C check meant). 0, -2 or -6. */
static bool v4_bad(const uint8_t b[4], bool allow_loopback)
{
    bool any = !b[0] && !b[1] && !b[2] && !b[3];
    bool bcast = b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255;
    bool loop = b[0] == 127;
    return any || bcast || (loop && !allow_loopback);
}

static bool v6_bad(const uint8_t b[16], bool allow_loopback)
{
    static const uint8_t zero[16];
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!memcmp(b, zero, 16))
        return true; /* :: */
    if (!memcmp(b, zero, 15) && b[15] == 1)
        return !allow_loopback; /* ::1 */
    if (!memcmp(b, mapped, 12))
        return v4_bad(b + 12, allow_loopback);
    return false;
}

static int check_host(const char *host, uint16_t port, bool allow_loopback)
{
    if (!*host || !port || !strcmp(host, "::"))
        return -2;
    uint8_t buf[16];
    if (inet_pton(AF_INET, host, buf) == 1)
        return v4_bad(buf, allow_loopback) ? -6 : 0;
    if (inet_pton(AF_INET6, host, buf) == 1)
        return v6_bad(buf, allow_loopback) ? -6 : 0;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char service[8];
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    if (getaddrinfo(host, service, &hints, &res) != 0 || !res) {
        if (res)
            freeaddrinfo(res);
        return -6;
    }
    int rc = -6;
    if (res->ai_family == AF_INET) {
        const struct sockaddr_in *sa = (const struct sockaddr_in *)(const void *)res->ai_addr;
        memcpy(buf, &sa->sin_addr, 4);
        rc = v4_bad(buf, allow_loopback) ? -6 : 0;
    } else if (res->ai_family == AF_INET6) {
        const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)(const void *)res->ai_addr;
        memcpy(buf, &sa->sin6_addr, 16);
        rc = v6_bad(buf, allow_loopback) ? -6 : 0;
    }
    freeaddrinfo(res);
    return rc;
}

LM_API int dap_link_manager_link_update(dap_stream_node_addr_t *addr, const char *host, uint16_t port)
{
    uint64_t a;
    if (!addr_ok(addr, &a)) {
        lm_log(L_WARNING, "[LM-ERROR] code=-1 link_update: address NULL or zero");
        return -1;
    }
    if (!host) {
        lm_log(L_WARNING, "[LM-ERROR] code=-2 link_update %s: host NULL", ADDR_S(a));
        return -2;
    }
    int rc = check_host(host, port, atomic_load(&s_up) && atomic_load(&s_allow_loopback));
    if (rc == -2) {
        lm_log(L_WARNING, "[LM-ERROR] code=-2 link_update %s: bad host \"%.64s\" or port %u", ADDR_S(a), host,
               (unsigned)port);
        return -2;
    }
    if (rc == -6) {
        lm_log(L_WARNING, "[LM-ERROR] code=-6 link_update %s: host \"%.64s\" does not resolve to a usable address",
               ADDR_S(a), host);
        return -6;
    }
    if (!atomic_load(&s_up)) {
        lm_log(L_WARNING, "[LM-ERROR] code=-1 link_update: the link manager is not initialised");
        return -1;
    }
    size_t len = strnlen(host, DAP_HOSTADDR_STRLEN - 1);
    lm_msg_t *m = msg_new(MSG_LINK_UPDATE, a, len);
    if (!m) {
        lm_log(L_CRITICAL, "[LM-ERROR] code=-7 link_update %s: out of memory", ADDR_S(a));
        return -7;
    }
    memcpy(m->host, host, len);
    m->host[len] = '\0';
    m->port = port;
    if (q_push(m) != 0) {
        lm_log(L_WARNING, "[LM-ERROR] code=-1 link_update: the link manager is not initialised");
        return -1;
    }
    return 0;
}

LM_API bool dap_link_manager_link_find(dap_stream_node_addr_t *addr, uint64_t net_id)
{
    uint64_t a;
    if (!addr_ok(addr, &a))
        return false;
    bool r = false;
    links_rd();
    if (atomic_load(&s_up)) {
        lm_link_t *l = link_find(a);
        r = l && set_has(&l->nets, net_id);
    }
    links_unlock();
    return r;
}

LM_API bool dap_link_manager_link_is_established(dap_stream_node_addr_t *addr)
{
    uint64_t a;
    if (!addr_ok(addr, &a))
        return false;
    bool r = false;
    links_rd();
    if (atomic_load(&s_up)) {
        lm_link_t *l = link_find(a);
        r = l && l->rec.uplink.state == LINK_STATE_ESTABLISHED;
    }
    links_unlock();
    return r;
}

/* ------------------------------------------------------------------------------------------------ */
/* API: streams, accounting, clusters (§5-6): enqueue only                                           */

LM_API int dap_link_manager_stream_add(dap_stream_node_addr_t *addr, bool uplink)
{
    uint64_t a;
    if (!addr_ok(addr, &a)) {
        lm_log(L_WARNING, "[LM-ERROR] code=-1 stream_add: address NULL or zero");
        return -1;
    }
    if (!dap_link_manager_get_condition()) {
        lm_log(L_WARNING, "[LM-ERROR] code=-1 stream_add: the link manager is inactive or not initialised");
        return -1;
    }
    lm_msg_t *m = msg_new(MSG_STREAM_ADD, a, 0);
    if (!m) {
        lm_log(L_CRITICAL, "[LM-ERROR] code=-2 stream_add %s: out of memory", ADDR_S(a));
        return -2;
    }
    m->flag = uplink;
    return q_push(m) == 0 ? 0 : -1;
}

static void post_fact(const char *name, lm_msg_kind_t kind, dap_stream_node_addr_t *addr, uint64_t net, bool flag)
{
    uint64_t a;
    if (!addr_ok(addr, &a)) {
        lm_log(L_WARNING, "[LM-ERROR] %s: address NULL or zero", name);
        return;
    }
    if (!atomic_load(&s_up)) {
        lm_log(L_WARNING, "[LM-ERROR] code=not_initialised %s: the link manager is not initialised", name);
        return;
    }
    lm_msg_t *m = msg_new(kind, a, 0);
    if (!m) {
        lm_log(L_CRITICAL, "[LM-ERROR] %s %s: out of memory, event lost", name, ADDR_S(a));
        return;
    }
    m->net = net;
    m->flag = flag;
    q_push(m);
}

LM_API void dap_link_manager_stream_replace(dap_stream_node_addr_t *addr, bool new_is_uplink)
{
    post_fact("stream_replace", MSG_STREAM_REPLACE, addr, 0, new_is_uplink);
}

LM_API void dap_link_manager_stream_delete(dap_stream_node_addr_t *addr)
{
    post_fact("stream_delete", MSG_STREAM_DELETE, addr, 0, false);
}

LM_API void dap_link_manager_accounting_link_in_net(uint64_t net_id, dap_stream_node_addr_t *addr, bool ok)
{
    post_fact("accounting_link_in_net", MSG_ACCOUNTING, addr, net_id, ok);
}

/* Cluster member callbacks. Caused by our own cluster call (this thread holds the links write lock):
 * applied right after that call returns (or at once from a node callback's own cluster call). Otherwise
 * enqueued: the delete callback runs under the cluster's write lock, so no lock, no wait here. */
static void member_event(const char *name, lm_msg_kind_t kind, dap_cluster_member_t *member, bool is_static,
                         void *cluster_arg)
{
    if (!member) {
        lm_log(L_WARNING, "[LM-ERROR] %s: member NULL", name);
        return;
    }
    uint64_t a = member->addr.uint64;
    void *cluster = is_static ? cluster_arg : (void *)member->cluster;
    if (!a || !cluster) {
        lm_log(L_WARNING, "[LM-ERROR] %s: member without address or cluster", name);
        return;
    }
    lm_msg_t *m = msg_new(kind, a, 0);
    if (!m) {
        lm_log(L_CRITICAL, "[LM-ERROR] %s %s: out of memory, event lost", name, ADDR_S(a));
        return;
    }
    m->cluster = CL_KEY(cluster);
    if (links_write_held()) {
        if (tl_sdk_depth > 0) {
            m->next = NULL;
            if (s_inplace_tail)
                s_inplace_tail->next = m;
            else
                s_inplace_head = m;
            s_inplace_tail = m;
        } else {
            apply_membership(m);
            free(m);
        }
        return;
    }
    if (!atomic_load(&s_up)) {
        free(m);
        lm_log(L_WARNING, "[LM-ERROR] code=not_initialised %s: the link manager is not initialised", name);
        return;
    }
    q_push(m);
}

LM_API void dap_link_manager_add_links_cluster(dap_cluster_member_t *member_, void *_arg)
{
    (void)_arg;
    member_event("add_links_cluster", MSG_CLUSTER_JOINED, member_, false, NULL);
}

LM_API void dap_link_manager_remove_links_cluster(dap_cluster_member_t *member_, void *_arg)
{
    (void)_arg;
    member_event("remove_links_cluster", MSG_CLUSTER_LEFT, member_, false, NULL);
}

LM_API void dap_link_manager_add_static_links_cluster(dap_cluster_member_t *member_, void *cluster_arg)
{
    member_event("add_static_links_cluster", MSG_STATIC_JOINED, member_, true, cluster_arg);
}

LM_API void dap_link_manager_remove_static_links_cluster(dap_cluster_member_t *member_, void *cluster_arg)
{
    member_event("remove_static_links_cluster", MSG_STATIC_LEFT, member_, true, cluster_arg);
}

/* ------------------------------------------------------------------------------------------------ */
/* API: balancer views, hot list, info, channels (§9)                                                */

LM_API dap_stream_node_addr_t *dap_link_manager_get_net_links_addrs(uint64_t net_id, size_t *uplinks, size_t *downlinks,
                                                                    bool established_only)
{
    dap_stream_node_addr_t *out = NULL;
    links_rd();
    nets_rd();
    lm_net_t *n = atomic_load(&s_up) ? net_find(net_id) : NULL;
    dap_cluster_t *primary = n ? CL_PTR(n->clusters.v[0]) : NULL;
    nets_unlock();
    if (!primary)
        goto out; /* unknown net: NULL, counts untouched */
    size_t count = 0;
    dap_stream_node_addr_t *members = dap_cluster_get_all_members_addrs(primary, &count, -1);
    size_t up = 0, down = 0;
    if (members && count) {
        /* Sized from the array we hold, not from a count read earlier (§12.6). */
        uint64_t *ups = malloc(count * sizeof(uint64_t)), *downs = malloc(count * sizeof(uint64_t));
        if (ups && downs) {
            for (size_t i = 0; i < count; i++) {
                lm_link_t *l = link_find(members[i].uint64);
                if (!l)
                    continue;
                if (l->rec.is_uplink) {
                    if (!established_only || l->rec.uplink.state == LINK_STATE_ESTABLISHED)
                        ups[up++] = l->addr;
                } else {
                    downs[down++] = l->addr;
                }
            }
            if (up + down) {
                out = malloc((up + down) * sizeof(*out));
                if (out) {
                    for (size_t i = 0; i < up; i++)
                        out[i].uint64 = ups[i];
                    for (size_t i = 0; i < down; i++)
                        out[up + i].uint64 = downs[i];
                }
            }
        }
        if (!ups || !downs || (up + down && !out)) {
            lm_log(L_CRITICAL, "[LM-ERROR] get_net_links_addrs: out of memory");
            up = down = 0; /* no partial answer; the lock is released below all the same (§12.2) */
        }
        free(ups);
        free(downs);
    }
    free(members);
    if (uplinks)
        *uplinks = up;
    if (downlinks)
        *downlinks = down;
out:
    links_unlock();
    return out;
}

LM_API dap_stream_node_addr_t *dap_link_manager_get_ignored_addrs(size_t *count, uint64_t net_id)
{
    if (!atomic_load(&s_up) || net_id == DAP_NET_ID_INVALID)
        return NULL;
    dap_stream_node_addr_t *out = NULL;
    pthread_mutex_lock(&s_hot_mu);
    lm_hot_t *h = hot_of_locked(net_id, false);
    if (h) {
        hot_expire_locked(h, now_secs());
        if (h->n && (out = malloc(h->n * sizeof(*out)))) {
            for (size_t i = 0; i < h->n; i++)
                out[i].uint64 = h->e[i].addr;
            if (count)
                *count = h->n;
        }
    }
    pthread_mutex_unlock(&s_hot_mu);
    return out;
}

/* A growable text buffer for get_links_info. */
typedef struct {
    char *s;
    size_t n, cap;
    bool oom;
} lm_buf_t;

static void buf_printf(lm_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(lm_buf_t *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = (b->cap + (size_t)k + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static const char *state_name(dap_link_state_t s)
{
    switch (s) {
    case LINK_STATE_CONNECTING:
        return "connecting";
    case LINK_STATE_ESTABLISHED:
        return "established";
    default:
        return "disconnected";
    }
}

LM_API char *dap_link_manager_get_links_info(void)
{
    lm_buf_t b = {malloc(256), 0, 256, false};
    if (!b.s)
        return NULL;
    b.s[0] = '\0';
    links_rd();
    nets_rd();
    if (!atomic_load(&s_up)) {
        nets_unlock();
        links_unlock();
        free(b.s);
        return NULL;
    }
    buf_printf(&b, "{\"active\":%s,\"nets\":[", dap_link_manager_get_condition() ? "true" : "false");
    for (size_t i = 0; i < s_nets.n; i++) {
        lm_net_t *n = s_nets.v[i];
        buf_printf(&b,
                   "%s{\"id\":\"0x%016" PRIX64 "\",\"active\":%s,\"min_links\":%u,\"links\":%zu,"
                   "\"uplinks_cached\":%zu,\"clusters\":%u}",
                   i ? "," : "", n->id, n->active ? "true" : "false", n->min_links,
                   dap_cluster_members_count(CL_PTR(n->clusters.v[0])), n->uplinks_cached, n->clusters.n);
    }
    nets_unlock();
    buf_printf(&b, "],\"links\":[");
    size_t count = 0;
    uint64_t *addrs = links_sorted(&count, false);
    if (s_links.n && !addrs)
        b.oom = true;
    for (size_t i = 0; i < count; i++) {
        lm_link_t *l = link_find(addrs[i]);
        buf_printf(
            &b, "%s{\"addr\":\"%s\",\"direction\":\"%s\",\"state\":\"%s\",\"attempts\":%u,\"client\":%s,\"nets\":[",
            i ? "," : "", ADDR_S(l->addr), l->rec.is_uplink ? "uplink" : "downlink", state_name(l->rec.uplink.state),
            l->rec.uplink.attempts_count, l->rec.uplink.client ? "true" : "false");
        for (uint32_t j = 0; j < l->nets.n; j++)
            buf_printf(&b, "%s\"0x%016" PRIX64 "\"", j ? "," : "", l->nets.v[j]);
        buf_printf(&b, "],\"active_clusters\":%u,\"static_clusters\":%u}", l->active.n, l->statics.n);
    }
    links_unlock();
    free(addrs);
    buf_printf(&b, "]}");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

LM_API int dap_link_manager_add_active_channel(char channel)
{
    uint8_t id = (uint8_t)channel;
    int rc = 0;
    pthread_mutex_lock(&s_ch_mu);
    size_t len = strlen(s_ch_cur);
    if (id && memchr(s_ch_cur, id, len)) {
        rc = 0; /* already present */
    } else if (!dap_stream_ch_proc_find(id)) {
        rc = -3;
    } else if (len >= LM_MAX_CHANNELS || !id) {
        rc = -2;
    } else {
        char next[LM_MAX_CHANNELS + 1];
        memcpy(next, s_ch_cur, len);
        next[len] = (char)id;
        if (!channels_publish_locked(next, len + 1))
            rc = -2;
    }
    pthread_mutex_unlock(&s_ch_mu);
    if (rc == -3)
        lm_log(L_WARNING, "[LM-ERROR] code=-3 add_active_channel '%c': no channel processor registered", channel);
    else if (rc == -2)
        lm_log(L_WARNING, "[LM-ERROR] code=-2 add_active_channel '%c': channel list full", channel);
    return rc;
}

LM_API int dap_link_manager_remove_active_channel(char channel)
{
    uint8_t id = (uint8_t)channel;
    int rc = -2;
    pthread_mutex_lock(&s_ch_mu);
    size_t len = strlen(s_ch_cur);
    const char *p = id ? memchr(s_ch_cur, id, len) : NULL;
    if (p) {
        char next[LM_MAX_CHANNELS + 1];
        size_t pos = (size_t)(p - s_ch_cur);
        memcpy(next, s_ch_cur, pos);
        memcpy(next + pos, p + 1, len - pos - 1);
        rc = channels_publish_locked(next, len - 1) ? 0 : -2;
    }
    pthread_mutex_unlock(&s_ch_mu);
    if (rc)
        lm_log(L_WARNING, "[LM-ERROR] code=-2 remove_active_channel '%c': not present", channel);
    return rc;
}

LM_API const char *dap_link_manager_get_active_channels(void)
{
    pthread_mutex_lock(&s_ch_mu);
    const char *p = s_ch_cur;
    pthread_mutex_unlock(&s_ch_mu);
    return p;
}

#ifdef DAP_LM_LEGACY_TEST_HOOKS
#include "legacy_hooks.c"
#endif

/* Stand-in SDK: uplink clients, the simulated network and the SDK worker thread that delivers every
 * asynchronous client event. Semantics are documented in sdk_standin.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sdk_internal.h"

#define UPLINK_UUID_PREFIX (UINT64_C(0xC1) << 56)

/* The stand-in's private client: dap_client_t::_internal points at `pvt` (first member). */
typedef struct sdk_client {
    dap_client_pvt_t pvt;
    dap_events_socket_t es;
    dap_client_t *pub;
    uint64_t id;
    dap_client_callback_t error_cb;
    void *arg;
    bool deleted;                       /* delete_mt called */
    bool waiting;                       /* go_stage(> BEGIN) not answered yet */
    int pending_stage;                  /* target of that go_stage */
    dap_client_callback_t pending_done; /* its done callback */
    bool has_uplink;                    /* set_uplink called: uplink_addr is the node address */
    uint64_t uplink_addr;
    struct sdk_client *prev, *next; /* live list, newest first */
} sdk_client_t;

typedef enum { WORK_CONNECTED, WORK_ERROR, WORK_DONE, WORK_FREE } work_kind_t;

typedef struct work {
    struct work *next;
    uint64_t due_ns, seq;
    work_kind_t kind;
    sdk_client_t *client;
    bool scripted;                 /* produced by a network script (not by a test call) */
    int stage;                     /* CONNECTED: stage reached */
    uint64_t addr;                 /* CONNECTED: node address the stream is registered for */
    intptr_t flag;                 /* ERROR: the callback's arg value */
    dap_client_callback_t done_cb; /* CONNECTED / DONE */
} work_t;

typedef struct net_script {
    struct net_script *next;
    char *host;
    uint16_t port;
    sdk_net_behaviour_t behaviour;
    unsigned delay_ms;
    bool last_attempt;
} net_script_t;

/* One lock for clients, the queue and the scripts. Order: s_lock before the stream registry lock and
 * the journal lock; no callback is ever called with s_lock held. */
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_wake; /* worker: new work or stop */
static pthread_cond_t s_idle; /* quiesce: an item ran or was cancelled */
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static work_t *s_queue; /* sorted by (due_ns, seq) */
static uint64_t s_seq;
static bool s_running, s_stop, s_worker_started, s_paused;
static pthread_t s_worker;
static sdk_client_t *s_live;
static size_t s_live_count, s_created;
static uint64_t s_next_id = 1;
static net_script_t *s_scripts;
static net_script_t s_default_script = {NULL, NULL, 0, SDK_NET_MANUAL, 0, false};

static void init_once(void)
{
    sdk__cond_init(&s_wake);
    sdk__cond_init(&s_idle);
}

static sdk_client_t *priv_of(const dap_client_t *client)
{
    return client ? (sdk_client_t *)client->_internal : NULL;
}

static uint64_t node_addr_locked(const sdk_client_t *c)
{
    return c->has_uplink ? c->uplink_addr : c->pub->link_info.node_addr.uint64;
}

/* ---- worker ---- */

static void *worker_main(void *unused);

static void enqueue_locked(work_t w_in, unsigned delay_ms)
{
    if (s_stop)
        return; /* process exit: nothing runs any more */
    work_t *w = malloc(sizeof(*w));
    if (!w)
        abort();
    *w = w_in;
    w->due_ns = sdk__now_ns() + (uint64_t)delay_ms * 1000000u;
    w->seq = s_seq++;
    work_t **link = &s_queue;
    while (*link && ((*link)->due_ns < w->due_ns || ((*link)->due_ns == w->due_ns && (*link)->seq < w->seq)))
        link = &(*link)->next;
    w->next = *link;
    *link = w;
    if (!s_worker_started) {
        if (pthread_create(&s_worker, NULL, worker_main, NULL) != 0)
            abort();
        s_worker_started = true;
    }
    pthread_cond_signal(&s_wake);
}

/* Drops queued items of `c` (all: scripted_only false) that have not started. */
static void cancel_locked(sdk_client_t *c, bool scripted_only, bool outcomes_only)
{
    for (work_t **link = &s_queue; *link;) {
        work_t *w = *link;
        bool outcome = w->kind == WORK_CONNECTED || w->kind == WORK_ERROR;
        if (w->client == c && (!scripted_only || w->scripted) && (!outcomes_only || outcome)) {
            *link = w->next;
            free(w);
        } else {
            link = &w->next;
        }
    }
    pthread_cond_broadcast(&s_idle);
}

static void free_client(sdk_client_t *c)
{
    if (c->pub->del_arg)
        free(c->arg);
    free(c->pub->active_channels);
    free(c->pub);
    free(c);
}

static void unlink_live_locked(sdk_client_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s_live = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s_live_count--;
}

/* Runs one item; called with s_lock held, returns with it held, calls out without it. */
static void run_locked(work_t *w)
{
    sdk_client_t *c = w->client;
    switch (w->kind) {
    case WORK_CONNECTED:
        c->pvt.stage = w->stage;
        c->waiting = false;
        sdk__stream_register_uplink(w->addr, c->es.uuid, c->es.worker, c->id);
        pthread_mutex_unlock(&s_lock);
        if (w->done_cb)
            w->done_cb(c->pub, c->arg);
        pthread_mutex_lock(&s_lock);
        break;
    case WORK_ERROR:
        c->waiting = false;
        sdk__stream_unregister_uplink(c->id);
        pthread_mutex_unlock(&s_lock);
        if (c->error_cb)
            c->error_cb(c->pub, (void *)w->flag);
        pthread_mutex_lock(&s_lock);
        break;
    case WORK_DONE:
        pthread_mutex_unlock(&s_lock);
        if (w->done_cb)
            w->done_cb(c->pub, c->arg);
        pthread_mutex_lock(&s_lock);
        break;
    case WORK_FREE:
        cancel_locked(c, false, false); /* scripted events not yet due */
        unlink_live_locked(c);
        sdk__stream_unregister_uplink(c->id);
        pthread_mutex_unlock(&s_lock);
        free_client(c);
        pthread_mutex_lock(&s_lock);
        break;
    }
}

static void *worker_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&s_lock);
    while (!s_stop) {
        work_t *w = s_queue;
        if (s_paused) {
            pthread_cond_wait(&s_wake, &s_lock);
            continue;
        }
        if (!w) {
            pthread_cond_broadcast(&s_idle);
            pthread_cond_wait(&s_wake, &s_lock);
            continue;
        }
        if (w->due_ns > sdk__now_ns()) {
            struct timespec due = {.tv_sec = (time_t)(w->due_ns / 1000000000u),
                                   .tv_nsec = (long)(w->due_ns % 1000000000u)};
            pthread_cond_timedwait(&s_wake, &s_lock, &due);
            continue;
        }
        s_queue = w->next;
        s_running = true;
        run_locked(w);
        free(w);
        s_running = false;
        pthread_cond_broadcast(&s_idle);
    }
    pthread_mutex_unlock(&s_lock);
    return NULL;
}

static bool on_worker_locked(void)
{
    return s_worker_started && pthread_equal(pthread_self(), s_worker);
}

static void drain_locked(bool drop_delayed)
{
    while (s_queue || s_running) {
        if (drop_delayed) {
            uint64_t now = sdk__now_ns();
            for (work_t **link = &s_queue; *link;) {
                work_t *w = *link;
                if (w->due_ns > now && w->kind != WORK_FREE) {
                    *link = w->next;
                    free(w);
                } else {
                    link = &w->next;
                }
            }
            if (!s_queue && !s_running)
                break;
        }
        pthread_cond_wait(&s_idle, &s_lock);
    }
}

void sdk_quiesce(void)
{
    pthread_once(&s_once, init_once);
    pthread_mutex_lock(&s_lock);
    if (on_worker_locked())
        sdk__misuse("sdk_quiesce called from the SDK worker (from a callback): ignored");
    else if (s_paused)
        sdk__misuse("sdk_quiesce while the worker is paused: ignored");
    else
        drain_locked(false);
    pthread_mutex_unlock(&s_lock);
}

void sdk_worker_pause(void)
{
    pthread_once(&s_once, init_once);
    pthread_mutex_lock(&s_lock);
    if (on_worker_locked()) {
        sdk__misuse("sdk_worker_pause called from the SDK worker: ignored");
    } else {
        s_paused = true;
        while (s_running)
            pthread_cond_wait(&s_idle, &s_lock);
    }
    pthread_mutex_unlock(&s_lock);
}

void sdk_worker_resume(void)
{
    pthread_once(&s_once, init_once);
    pthread_mutex_lock(&s_lock);
    s_paused = false;
    pthread_cond_broadcast(&s_wake);
    pthread_mutex_unlock(&s_lock);
}

static void free_scripts_locked(void)
{
    while (s_scripts) {
        net_script_t *s = s_scripts;
        s_scripts = s->next;
        free(s->host);
        free(s);
    }
    s_default_script = (net_script_t){NULL, NULL, 0, SDK_NET_MANUAL, 0, false};
}

void sdk__clients_reset(void)
{
    pthread_once(&s_once, init_once);
    pthread_mutex_lock(&s_lock);
    free_scripts_locked(); /* a library still reacting now meets a MANUAL network: the drain ends */
    s_paused = false;
    pthread_cond_broadcast(&s_wake);
    if (on_worker_locked())
        sdk__misuse("sdk_reset called from the SDK worker (from a callback): not drained");
    else
        drain_locked(true);
    s_created = 0;
    if (!s_live)
        s_next_id = 1;
    pthread_mutex_unlock(&s_lock);
}

void sdk__clients_shutdown(void)
{
    pthread_once(&s_once, init_once);
    pthread_mutex_lock(&s_lock);
    s_stop = true;
    pthread_cond_broadcast(&s_wake);
    bool started = s_worker_started;
    pthread_mutex_unlock(&s_lock);
    if (started) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 2;
        if (pthread_timedjoin_np(s_worker, NULL, &deadline) != 0)
            return; /* stuck in a callback: leave everything as it is */
    }
    pthread_mutex_lock(&s_lock);
    while (s_queue) {
        work_t *w = s_queue;
        s_queue = w->next;
        free(w);
    }
    /* Deleted clients are the SDK's to free; the others still belong to the library. */
    for (sdk_client_t *c = s_live, *next; c; c = next) {
        next = c->next;
        if (c->deleted) {
            unlink_live_locked(c);
            free_client(c);
        }
    }
    free_scripts_locked();
    pthread_mutex_unlock(&s_lock);
}

/* ---- the simulated network ---- */

static void set_script(const char *host, uint16_t port, sdk_net_behaviour_t b, unsigned delay_ms, bool last)
{
    pthread_mutex_lock(&s_lock);
    net_script_t *s = s_scripts;
    while (s && !(s->port == port && strcmp(s->host, host) == 0))
        s = s->next;
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s || !(s->host = strdup(host)))
            abort();
        s->port = port;
        s->next = s_scripts;
        s_scripts = s;
    }
    s->behaviour = b;
    s->delay_ms = delay_ms;
    s->last_attempt = last;
    pthread_mutex_unlock(&s_lock);
}

void sdk_net_script(const char *host, uint16_t port, sdk_net_behaviour_t b, unsigned delay_ms, bool last_attempt)
{
    set_script(host ? host : "", port, b, delay_ms, last_attempt);
}

void sdk_net_default(sdk_net_behaviour_t b, unsigned delay_ms, bool last_attempt)
{
    pthread_mutex_lock(&s_lock);
    s_default_script.behaviour = b;
    s_default_script.delay_ms = delay_ms;
    s_default_script.last_attempt = last_attempt;
    pthread_mutex_unlock(&s_lock);
}

static const net_script_t *script_for_locked(const char *host, uint16_t port)
{
    for (const net_script_t *s = s_scripts; s; s = s->next)
        if (s->port == port && strcmp(s->host, host) == 0)
            return s;
    return &s_default_script;
}

/* ---- SDK client API ---- */

/* Journals a client call; returns false (and records the misuse) when the client was deleted. */
static bool journal_client_locked(sdk_client_t *c, const char *what, const char *fmt, ...) SDK_PRINTF(3, 4);
static bool journal_client_locked(sdk_client_t *c, const char *what, const char *fmt, ...)
{
    char args[512], addr[SDK_ADDR_STRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    sdk_addr_str(c->pub->link_info.node_addr.uint64, addr);
    sdk__journal("%s %" PRIu64 "%s%s %s%s", what, c->id, *args ? " " : "", args, addr,
                 c->deleted ? " after_delete" : "");
    if (c->deleted)
        sdk__misuse("%s on client %" PRIu64 " after dap_client_delete_mt", what, c->id);
    return !c->deleted;
}

dap_client_t *dap_client_new(dap_client_callback_t error_cb, void *arg)
{
    pthread_once(&s_once, init_once);
    dap_client_t *pub = calloc(1, sizeof(*pub));
    sdk_client_t *c = calloc(1, sizeof(*c));
    if (!pub || !c)
        abort();
    c->pub = pub;
    c->error_cb = error_cb;
    c->arg = arg;
    c->pvt.client = pub;
    c->pvt.worker = sdk_worker(0);
    c->pvt.stage = STAGE_BEGIN;
    c->pvt.stream_es = &c->es;
    c->es.socket = -1;
    c->es.worker = sdk_worker(0);
    pub->_internal = &c->pvt;
    pub->stage_target = STAGE_BEGIN;

    pthread_mutex_lock(&s_lock);
    c->id = s_next_id++;
    c->es.uuid = UPLINK_UUID_PREFIX | c->id;
    c->next = s_live;
    if (s_live)
        s_live->prev = c;
    s_live = c;
    s_live_count++;
    s_created++;
    sdk__journal("client_new %" PRIu64, c->id);
    pthread_mutex_unlock(&s_lock);
    return pub;
}

void dap_client_go_stage(dap_client_t *client, int stage, dap_client_callback_t done_cb)
{
    sdk_client_t *c = priv_of(client);
    if (!c) {
        sdk__misuse("dap_client_go_stage(NULL)");
        return;
    }
    pthread_mutex_lock(&s_lock);
    if (!journal_client_locked(c, "go_stage", "%d", stage))
        goto out;
    if (stage < STAGE_BEGIN || stage > STAGE_STREAM_STREAMING) {
        sdk__misuse("dap_client_go_stage: invalid stage %d", stage);
        goto out;
    }
    client->stage_target = stage;
    cancel_locked(c, false, true); /* the attempt in progress, if any, is abandoned */
    if (stage == STAGE_BEGIN) {
        c->waiting = false;
        c->pvt.stage = STAGE_BEGIN;
        sdk__stream_unregister_uplink(c->id);
        if (done_cb)
            enqueue_locked((work_t){.kind = WORK_DONE, .client = c, .done_cb = done_cb}, 0);
        goto out;
    }
    if (c->pvt.stage == stage && !c->waiting) {
        enqueue_locked((work_t){.kind = WORK_DONE, .client = c, .done_cb = done_cb}, 0);
        goto out;
    }
    if (stage > STAGE_ENC_INIT)
        c->pvt.stage = STAGE_ENC_INIT;
    c->waiting = true;
    c->pending_stage = stage;
    c->pending_done = done_cb;
    const net_script_t *s = script_for_locked(client->link_info.uplink_addr, client->link_info.uplink_port);
    work_t connected = {.kind = WORK_CONNECTED,
                        .client = c,
                        .scripted = true,
                        .stage = stage,
                        .addr = node_addr_locked(c),
                        .done_cb = done_cb};
    switch (s->behaviour) {
    case SDK_NET_MANUAL:
    case SDK_NET_SILENT:
        break;
    case SDK_NET_ACCEPT:
        enqueue_locked(connected, s->delay_ms);
        break;
    case SDK_NET_REFUSE:
        enqueue_locked((work_t){.kind = WORK_ERROR, .client = c, .scripted = true, .flag = s->last_attempt},
                       s->delay_ms);
        break;
    case SDK_NET_DROP_AFTER:
        enqueue_locked(connected, 0);
        enqueue_locked((work_t){.kind = WORK_ERROR, .client = c, .scripted = true, .flag = 0}, s->delay_ms);
        break;
    }
out:
    pthread_mutex_unlock(&s_lock);
}

int dap_client_get_stage(dap_client_t *client)
{
    sdk_client_t *c = priv_of(client);
    if (!c) {
        sdk__misuse("dap_client_get_stage(NULL)");
        return STAGE_UNDEFINED;
    }
    pthread_mutex_lock(&s_lock);
    if (c->deleted)
        sdk__misuse("dap_client_get_stage on client %" PRIu64 " after dap_client_delete_mt", c->id);
    int stage = c->pvt.stage;
    pthread_mutex_unlock(&s_lock);
    return stage;
}

void dap_client_delete_mt(dap_client_t *client)
{
    sdk_client_t *c = priv_of(client);
    if (!c) {
        sdk__misuse("dap_client_delete_mt(NULL)");
        return;
    }
    pthread_mutex_lock(&s_lock);
    if (journal_client_locked(c, "client_delete", "%s", "")) {
        c->deleted = true;
        enqueue_locked((work_t){.kind = WORK_FREE, .client = c}, 0);
    }
    pthread_mutex_unlock(&s_lock);
}

void dap_client_set_uplink_unsafe(dap_client_t *client, dap_stream_node_addr_t *node_addr, const char *host,
                                  uint16_t port)
{
    sdk_client_t *c = priv_of(client);
    if (!c || !node_addr) {
        sdk__misuse("dap_client_set_uplink_unsafe: NULL client or address");
        return;
    }
    pthread_mutex_lock(&s_lock);
    if (!c->deleted) {
        client->link_info.node_addr.uint64 = node_addr->uint64;
        snprintf(client->link_info.uplink_addr, sizeof(client->link_info.uplink_addr), "%s", host ? host : "");
        client->link_info.uplink_port = port;
        c->has_uplink = true;
        c->uplink_addr = node_addr->uint64;
    }
    char addr[SDK_ADDR_STRLEN];
    sdk__journal("set_uplink %" PRIu64 " %s %s %u%s", c->id, sdk_addr_str(node_addr->uint64, addr),
                 sdk__str_or_dash(host), (unsigned)port, c->deleted ? " after_delete" : "");
    if (c->deleted)
        sdk__misuse("set_uplink on client %" PRIu64 " after dap_client_delete_mt", c->id);
    pthread_mutex_unlock(&s_lock);
}

void dap_client_set_is_always_reconnect(dap_client_t *client, bool on)
{
    sdk_client_t *c = priv_of(client);
    if (!c) {
        sdk__misuse("dap_client_set_is_always_reconnect(NULL)");
        return;
    }
    pthread_mutex_lock(&s_lock);
    if (journal_client_locked(c, "set_always_reconnect", "%d", on ? 1 : 0))
        client->always_reconnect = on;
    pthread_mutex_unlock(&s_lock);
}

void dap_client_set_active_channels_unsafe(dap_client_t *client, const char *channels)
{
    sdk_client_t *c = priv_of(client);
    if (!c) {
        sdk__misuse("dap_client_set_active_channels_unsafe(NULL)");
        return;
    }
    pthread_mutex_lock(&s_lock);
    if (journal_client_locked(c, "set_active_channels", "%s", sdk__str_or_dash(channels))) {
        free(client->active_channels);
        client->active_channels = channels ? strdup(channels) : NULL;
        if (channels && !client->active_channels)
            abort();
    }
    pthread_mutex_unlock(&s_lock);
}

/* ---- test control ---- */

size_t sdk_clients_live(void)
{
    pthread_mutex_lock(&s_lock);
    size_t n = s_live_count;
    pthread_mutex_unlock(&s_lock);
    return n;
}

size_t sdk_clients_created(void)
{
    pthread_mutex_lock(&s_lock);
    size_t n = s_created;
    pthread_mutex_unlock(&s_lock);
    return n;
}

static sdk_client_t *find_locked(uint64_t addr, bool waiting_only)
{
    for (sdk_client_t *c = s_live; c; c = c->next)
        if (!c->deleted && node_addr_locked(c) == addr && (!waiting_only || c->waiting))
            return c;
    return NULL;
}

dap_client_t *sdk_client_find(uint64_t addr)
{
    pthread_mutex_lock(&s_lock);
    sdk_client_t *c = find_locked(addr, false);
    pthread_mutex_unlock(&s_lock);
    return c ? c->pub : NULL;
}

uint64_t sdk_client_id(const dap_client_t *client)
{
    const sdk_client_t *c = priv_of(client);
    return c ? c->id : 0;
}

bool sdk_client_complete_connect(uint64_t addr)
{
    pthread_once(&s_once, init_once);
    pthread_mutex_lock(&s_lock);
    sdk_client_t *c = find_locked(addr, true);
    if (c) {
        cancel_locked(c, true, false);
        c->waiting = false;
        enqueue_locked((work_t){.kind = WORK_CONNECTED,
                                .client = c,
                                .stage = c->pending_stage,
                                .addr = node_addr_locked(c),
                                .done_cb = c->pending_done},
                       0);
    }
    pthread_mutex_unlock(&s_lock);
    return c != NULL;
}

bool sdk_client_fail(uint64_t addr, bool last_attempt)
{
    pthread_once(&s_once, init_once);
    pthread_mutex_lock(&s_lock);
    sdk_client_t *c = find_locked(addr, false);
    if (c) {
        cancel_locked(c, true, false);
        c->waiting = false;
        enqueue_locked((work_t){.kind = WORK_ERROR, .client = c, .flag = last_attempt}, 0);
    }
    pthread_mutex_unlock(&s_lock);
    return c != NULL;
}

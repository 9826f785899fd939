/* The node's side of the link manager: its callbacks, the balancer and the chain-net channel.
 *
 * Callbacks run on the library's thread (CONTRACT.md §10): they read the link, count, and at most call
 * re-entrant API functions or hand work to a sim thread. They never sleep or wait, as in the node:
 * link_request only queues a balancer request, connected only schedules the ANNOUNCE reply. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

/* ---- the chain-net channel: ANNOUNCE replies due at a given time ---- */

typedef struct announce {
    uint64_t due_ms;
    uint32_t peer;
    uint8_t net;
    bool downlink;
} announce_t;

static pthread_mutex_t s_chan_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_chan_cond;
static announce_t *s_heap; /* min-heap on due_ms */
static size_t s_heap_len, s_heap_cap;
static uint64_t s_chan_rng;
static pthread_t s_chan_thread, s_balancer_thread;
static bool s_threads_started;

static pthread_mutex_t s_bal_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_bal_cond;

static void heap_push_locked(announce_t a)
{
    if (s_heap_len == s_heap_cap) {
        size_t cap = s_heap_cap ? s_heap_cap * 2 : 256;
        announce_t *grown = realloc(s_heap, cap * sizeof(*grown));
        if (!grown)
            abort();
        s_heap = grown;
        s_heap_cap = cap;
    }
    size_t i = s_heap_len++;
    while (i > 0 && s_heap[(i - 1) / 2].due_ms > a.due_ms) {
        s_heap[i] = s_heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s_heap[i] = a;
}

static announce_t heap_pop_locked(void)
{
    announce_t top = s_heap[0], last = s_heap[--s_heap_len];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s_heap_len)
            break;
        if (c + 1 < s_heap_len && s_heap[c + 1].due_ms < s_heap[c].due_ms)
            c++;
        if (s_heap[c].due_ms >= last.due_ms)
            break;
        s_heap[i] = s_heap[c];
        i = c;
    }
    if (s_heap_len)
        s_heap[i] = last;
    return top;
}

/* The peer answers an ANNOUNCE 20-150 ms later (one round trip plus its processing). */
static void schedule_announce(sim_peer_t *p, int net, bool downlink)
{
    pthread_mutex_lock(&s_chan_lock);
    uint32_t bit = UINT32_C(1) << net;
    /* `connected` repeats on every wake-up until the peer is accounted: one reply in flight is enough. */
    if (!atomic_load(&g_sim.stopping) && (downlink || !(p->announce_pending & bit))) {
        if (!downlink)
            p->announce_pending |= bit;
        heap_push_locked((announce_t){.due_ms = sim_now_ms() + sim_rng_range(&s_chan_rng, 20, 150),
                                      .peer = (uint32_t)(p - g_sim.peers),
                                      .net = (uint8_t)net,
                                      .downlink = downlink});
        pthread_cond_signal(&s_chan_cond);
    }
    pthread_mutex_unlock(&s_chan_lock);
}

void node_downlink_announce(sim_peer_t *peer, int net_index)
{
    if (net_index >= 0)
        schedule_announce(peer, net_index, true);
}

static void deliver_announce(announce_t a)
{
    sim_peer_t *p = &g_sim.peers[a.peer];
    sim_net_t *n = &g_sim.nets[a.net];
    uint64_t up, down;
    population_streams_of(p, &up, &down);
    /* The reply travels on the stream: none left, nothing arrives. The chain-net channel also drops
     * packets of a net that is off, as the node checks get_net_condition on every packet. */
    if (!(a.downlink ? down : up) || !dap_link_manager_get_net_condition(n->id)) {
        atomic_fetch_add(&g_sim.c.announce_lost, 1);
        return;
    }
    bool ok = a.downlink || p->profile != PROFILE_REJECTING;
    dap_link_manager_accounting_link_in_net(n->id, &p->addr, ok);
    atomic_fetch_add(&g_sim.c.api_calls, 1);
    atomic_fetch_add(ok ? &g_sim.c.accounting_ok : &g_sim.c.accounting_refused, 1);
}

static void *channel_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&s_chan_lock);
    while (!atomic_load(&g_sim.stopping)) {
        uint64_t now = sim_now_ms();
        if (s_heap_len && s_heap[0].due_ms <= now) {
            announce_t a = heap_pop_locked();
            if (!a.downlink)
                g_sim.peers[a.peer].announce_pending &= ~(UINT32_C(1) << a.net);
            pthread_mutex_unlock(&s_chan_lock);
            deliver_announce(a);
            pthread_mutex_lock(&s_chan_lock);
            continue;
        }
        uint64_t wait_ms = s_heap_len ? s_heap[0].due_ms - now : 1000;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)(wait_ms / 1000);
        ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s_chan_cond, &s_chan_lock, &ts);
    }
    pthread_mutex_unlock(&s_chan_lock);
    /* Everything this thread queued is applied before main takes the final snapshots. */
    sim_expect("dap_link_manager_sync(channel)", NULL, dap_link_manager_sync(10000), DAP_LM_OK);
    return NULL;
}

/* ---- the balancer ---- */

static uint64_t s_bal_rng;
static uint32_t *s_order; /* candidate order, reshuffled per request */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool in_sorted(const uint64_t *v, size_t n, uint64_t x)
{
    return n && bsearch(&x, v, n, sizeof(*v), cmp_u64);
}

static bool announce_pending(const sim_peer_t *p, int ni)
{
    pthread_mutex_lock(&s_chan_lock);
    bool pending = p->announce_pending & (UINT32_C(1) << ni);
    pthread_mutex_unlock(&s_chan_lock);
    return pending;
}

/* Links this balancer made that are still on their way: dialing (for at most 2.5 s), or
 * up with their ANNOUNCE reply still to come. A real balancer does not ask for more nodes while its
 * last answer is still connecting, otherwise every links-request pass during a slow dial adds `needed`
 * more links. A link that is up but was refused, or that keeps redialing, is not on its way. */
static size_t links_in_flight(int ni, uint64_t now)
{
    sim_net_t *n = &g_sim.nets[ni];
    const uint64_t window = 2500; /* past the slowest healthy answer (2 s): a silent peer stops blocking */
    size_t inflight = 0;
    for (size_t i = 0; i < g_sim.peer_count; i++) {
        if (!n->created_ms[i])
            continue;
        sim_peer_t *p = &g_sim.peers[i];
        if (!dap_link_manager_link_find(&p->addr, n->id)) {
            n->created_ms[i] = 0;
            continue;
        }
        if (sdk_cluster_has(n->cluster, p->addr.uint64))
            continue;
        struct dap_lm_link_snapshot *s = NULL;
        if (dap_link_manager_link_snapshot(&p->addr, &s) == DAP_LM_OK) {
            if (s->state == LINK_STATE_ESTABLISHED)
                inflight += announce_pending(p, ni);
            else if (s->state == LINK_STATE_CONNECTING)
                inflight += now - n->created_ms[i] < window;
            dap_lm_link_snapshot_free(s);
        }
    }
    return inflight;
}

static void balance_net(int ni)
{
    sim_net_t *n = &g_sim.nets[ni];
    atomic_fetch_add(&g_sim.c.balancer_requests, 1);
    if (!atomic_load(&n->on))
        return;
    size_t needed = dap_link_manager_needed_links_count(n->id);
    size_t inflight = links_in_flight(ni, sim_now_ms());
    atomic_store(&n->last_balanced_ms, sim_now_ms());
    atomic_store(&n->last_needed, (unsigned)needed);
    atomic_store(&n->last_inflight, (unsigned)inflight);
    atomic_store(&n->last_created, 0u);
    if (needed <= inflight)
        return;
    size_t want = needed - inflight;

    size_t ignored_count = 0;
    dap_stream_node_addr_t *ignored = dap_link_manager_get_ignored_addrs(&ignored_count, n->id);
    uint64_t *hot = NULL;
    if (ignored) {
        hot = malloc(ignored_count * sizeof(*hot));
        if (!hot)
            abort();
        for (size_t i = 0; i < ignored_count; i++)
            hot[i] = ignored[i].uint64;
        qsort(hot, ignored_count, sizeof(*hot), cmp_u64);
        free(ignored);
    }
    for (size_t i = g_sim.peer_count; i > 1; i--) { /* Fisher-Yates */
        size_t j = sim_rng_next(&s_bal_rng) % i;
        uint32_t t = s_order[i - 1];
        s_order[i - 1] = s_order[j];
        s_order[j] = t;
    }
    /* Seed (permanent) nodes first, as the node bootstraps from its root nodes; then everyone else. */
    for (size_t k = 0; k < 2 * g_sim.peer_count && want; k++) {
        sim_peer_t *p = &g_sim.peers[s_order[k % g_sim.peer_count]];
        if (p->permanent != (k < g_sim.peer_count))
            continue;
        if (p->profile == PROFILE_INBOUND || in_sorted(hot, ignored_count, p->addr.uint64) ||
            dap_link_manager_link_find(&p->addr, n->id))
            continue;
        pthread_mutex_lock(&g_sim.perm_lock);
        uint64_t epoch = n->epoch;
        pthread_mutex_unlock(&g_sim.perm_lock);
        int rc = dap_link_manager_link_create(&p->addr, n->id);
        if (!sim_expect("dap_link_manager_link_create", p, rc, 0))
            continue;
        atomic_fetch_add(&g_sim.c.link_creates, 1);
        atomic_store(&p->dialed, true);
        n->created_ms[p - g_sim.peers] = sim_now_ms();
        atomic_fetch_add(&n->last_created, 1u);
        want--;
        if (p->permanent) {
            /* A switch in between may have released it legitimately: track it only if none happened. */
            pthread_mutex_lock(&g_sim.perm_lock);
            if (n->epoch == epoch && atomic_load(&n->on))
                p->permanent_linked |= UINT32_C(1) << ni;
            pthread_mutex_unlock(&g_sim.perm_lock);
        }
    }
    free(hot);
}

static void *balancer_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&s_bal_lock);
    while (!atomic_load(&g_sim.stopping)) {
        int ni = -1;
        for (unsigned i = 0; i < g_sim.opt.nets && ni < 0; i++)
            if (atomic_exchange(&g_sim.nets[i].request_pending, false))
                ni = (int)i;
        if (ni < 0) {
            pthread_cond_wait(&s_bal_cond, &s_bal_lock);
            continue;
        }
        pthread_mutex_unlock(&s_bal_lock);
        balance_net(ni);
        pthread_mutex_lock(&s_bal_lock);
    }
    pthread_mutex_unlock(&s_bal_lock);
    sim_expect("dap_link_manager_sync(balancer)", NULL, dap_link_manager_sync(10000), DAP_LM_OK);
    return NULL;
}

/* ---- callbacks (library thread) ---- */

static sim_peer_t *peer_of(dap_link_t *link, const char *callback)
{
    sim_peer_t *p = link ? population_find(&link->addr) : NULL;
    if (!p)
        sim_anomaly("%s got a link that is no peer of ours (%p)", callback, (void *)link);
    return p;
}

static int cb_fill_net_info(dap_link_t *link)
{
    atomic_fetch_add(&g_sim.c.cb_fill_net_info, 1);
    sim_peer_t *p = peer_of(link, "fill_net_info");
    if (!p || p->profile == PROFILE_INBOUND) {
        if (p)
            sim_anomaly("fill_net_info asked for inbound-only peer %s", p->host);
        return -1; /* "no info": the library drops the link */
    }
    /* As the node: link_update from inside the callback, then `ready`, which the library reads after we return. */
    int rc = dap_link_manager_link_update(&link->addr, p->host, p->port);
    if (!sim_expect("dap_link_manager_link_update", p, rc, 0))
        return -1;
    link->uplink.ready = true;
    return 0;
}

static void cb_connected(dap_link_t *link, uint64_t net_id)
{
    atomic_fetch_add(&g_sim.c.cb_connected, 1);
    sim_peer_t *p = peer_of(link, "connected");
    int ni = sim_net_index(net_id);
    if (!p || ni < 0) {
        if (ni < 0)
            sim_anomaly("connected for unknown net 0x%llx", (unsigned long long)net_id);
        return;
    }
    uint64_t up, down;
    population_streams_of(p, &up, &down);
    if (!up) {
        /* The ANNOUNCE cannot be sent (the stream is already gone): the node reports the failure at once. */
        dap_link_manager_accounting_link_in_net(net_id, &link->addr, false);
        atomic_fetch_add(&g_sim.c.api_calls, 1);
        atomic_fetch_add(&g_sim.c.accounting_refused, 1);
        return;
    }
    atomic_fetch_add(&g_sim.c.announces_sent, 1);
    schedule_announce(p, ni, false);
}

static bool cb_disconnected(dap_link_t *link, uint64_t net_id, int count)
{
    (void)net_id;
    (void)count;
    atomic_fetch_add(&g_sim.c.cb_disconnected, 1);
    sim_peer_t *p = peer_of(link, "disconnected");
    bool keep = p && p->permanent;
    if (keep)
        atomic_fetch_add(&g_sim.c.cb_disconnected_kept, 1);
    return keep;
}

static void cb_error(dap_link_t *link, uint64_t net_id, int stage)
{
    (void)stage;
    atomic_fetch_add(&g_sim.c.cb_error, 1);
    sim_peer_t *p = peer_of(link, "error");
    /* The node logs the uplink's host from the live client: it must be this peer's. */
    dap_client_t *client = link ? link->uplink.client : NULL;
    if (p && client && client->link_info.uplink_addr[0] && strcmp(client->link_info.uplink_addr, p->host) != 0)
        sim_anomaly("error callback for %s: its client dials %s", p->host, client->link_info.uplink_addr);
    (void)dap_link_manager_links_count(net_id);
    (void)dap_link_manager_required_links_count(net_id);
}

static int cb_link_request(uint64_t net_id)
{
    atomic_fetch_add(&g_sim.c.cb_link_request, 1);
    int ni = sim_net_index(net_id);
    if (ni < 0) {
        sim_anomaly("link_request for unknown net 0x%llx", (unsigned long long)net_id);
        return -1;
    }
    atomic_fetch_add(&g_sim.nets[ni].requests, 1);
    atomic_store(&g_sim.nets[ni].last_request_ms, sim_now_ms());
    /* Queue only (never block the library's thread); one pending request per net is enough. */
    if (!atomic_exchange(&g_sim.nets[ni].request_pending, true)) {
        pthread_mutex_lock(&s_bal_lock);
        pthread_cond_signal(&s_bal_cond);
        pthread_mutex_unlock(&s_bal_lock);
    }
    return 0;
}

static int cb_link_count_changed(void)
{
    atomic_fetch_add(&g_sim.c.cb_link_count_changed, 1);
    for (unsigned i = 0; i < g_sim.opt.nets; i++) {
        (void)dap_link_manager_links_count(g_sim.nets[i].id);
        (void)dap_link_manager_required_links_count(g_sim.nets[i].id);
    }
    return 0;
}

const dap_link_manager_callbacks_t g_sim_callbacks = {
    .connected = cb_connected,
    .disconnected = cb_disconnected,
    .error = cb_error,
    .fill_net_info = cb_fill_net_info,
    .link_request = cb_link_request,
    .link_count_changed = cb_link_count_changed,
};

/* ---- lifecycle ---- */

static void cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

int node_start(void)
{
    cond_init_monotonic(&s_chan_cond);
    cond_init_monotonic(&s_bal_cond);
    s_chan_rng = g_sim.opt.seed ^ UINT64_C(0xC4A77E1);
    s_bal_rng = g_sim.opt.seed ^ UINT64_C(0xBA1A7CE);
    s_order = calloc(g_sim.peer_count, sizeof(*s_order));
    if (!s_order)
        return -1;
    for (size_t i = 0; i < g_sim.peer_count; i++)
        s_order[i] = (uint32_t)i;
    for (unsigned i = 0; i < g_sim.opt.nets; i++)
        if (!(g_sim.nets[i].created_ms = calloc(g_sim.peer_count, sizeof(uint64_t))))
            return -1;
    if (pthread_create(&s_chan_thread, NULL, channel_main, NULL) != 0)
        return -1;
    if (pthread_create(&s_balancer_thread, NULL, balancer_main, NULL) != 0) {
        atomic_store(&g_sim.stopping, true);
        pthread_cond_broadcast(&s_chan_cond);
        pthread_join(s_chan_thread, NULL);
        return -1;
    }
    s_threads_started = true;
    return 0;
}

void node_stop(void)
{
    if (!s_threads_started)
        return;
    pthread_mutex_lock(&s_chan_lock);
    pthread_cond_broadcast(&s_chan_cond);
    pthread_mutex_unlock(&s_chan_lock);
    pthread_mutex_lock(&s_bal_lock);
    pthread_cond_broadcast(&s_bal_cond);
    pthread_mutex_unlock(&s_bal_lock);
    pthread_join(s_balancer_thread, NULL);
    pthread_join(s_chan_thread, NULL);
    s_threads_started = false;
}

void node_free(void)
{
    free(s_heap);
    s_heap = NULL;
    s_heap_len = s_heap_cap = 0;
    free(s_order);
    s_order = NULL;
    for (unsigned i = 0; i < g_sim.opt.nets; i++) {
        free(g_sim.nets[i].created_ms);
        g_sim.nets[i].created_ms = NULL;
    }
    pthread_cond_destroy(&s_chan_cond);
    pthread_cond_destroy(&s_bal_cond);
}

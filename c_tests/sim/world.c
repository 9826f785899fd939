/* Everything outside the node: the stream layer that reports streams to the link manager, the remote
 * peers that connect to us or never answer, and the operator switching nets off and on. */
#include <stdlib.h>
#include <time.h>

#include "sim.h"

static pthread_t s_streams_thread, s_world_thread;
static bool s_streams_started, s_world_started;
static uint64_t s_downlink_seq;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the stream layer ----
 * The stand-in network registers an uplink's stream when the dial succeeds and unregisters it when it
 * drops; the sim registers the downlinks the peers open. This thread plays the node's stream workers:
 * every stream that appears is reported with stream_add, every one that goes away with stream_delete,
 * from a thread of their own, as in the node. Polling the registry adds at most one period of delay. A
 * peer without a stream needs no report: seen_* are 0 then. */

#define STREAMS_PERIOD_MS 20

static void report_streams(sim_peer_t *p)
{
    uint64_t up, down;
    population_streams_of(p, &up, &down);
    if (p->seen_up_uuid && up != p->seen_up_uuid) {
        dap_link_manager_stream_delete(&p->addr);
        atomic_fetch_add(&g_sim.c.api_calls, 1);
        atomic_fetch_add(&g_sim.c.up_deletes, 1);
        p->seen_up_uuid = 0;
    }
    /* The node's stream layer reports an uplink once the client's handshake is done, which the library
     * has recorded as ESTABLISHED by then: until it has, the stream waits for the next pass. */
    if (up && up != p->seen_up_uuid && dap_link_manager_link_is_established(&p->addr)) {
        if (p->ever_up)
            atomic_fetch_add(&g_sim.c.reconnects, 1);
        p->ever_up = true;
        sim_expect("dap_link_manager_stream_add(uplink)", p, dap_link_manager_stream_add(&p->addr, true), 0);
        atomic_fetch_add(&g_sim.c.up_adds, 1);
        p->seen_up_uuid = up;
    }

    if (p->seen_down_uuid && down != p->seen_down_uuid) {
        dap_link_manager_stream_delete(&p->addr);
        atomic_fetch_add(&g_sim.c.api_calls, 1);
        atomic_fetch_add(&g_sim.c.down_deletes, 1);
    }
    if (down && down != p->seen_down_uuid) {
        sim_expect("dap_link_manager_stream_add(downlink)", p, dap_link_manager_stream_add(&p->addr, false), 0);
        atomic_fetch_add(&g_sim.c.down_adds, 1);
        /* The peer announces itself in its net right after connecting. */
        node_downlink_announce(p, atomic_load(&p->dl_net));
    }
    p->seen_down_uuid = down;
}

static atomic_bool s_streams_stop; /* set once the world thread, which closes downlinks, has stopped */

static void *streams_main(void *unused)
{
    (void)unused;
    while (!atomic_load(&s_streams_stop)) {
        for (size_t i = 0; i < g_sim.peer_count; i++)
            report_streams(&g_sim.peers[i]);
        sleep_ms(STREAMS_PERIOD_MS);
    }
    /* A last pass: every stream the peers closed is reported, so no link is left waiting for its delete. */
    for (size_t i = 0; i < g_sim.peer_count; i++)
        report_streams(&g_sim.peers[i]);
    sim_expect("dap_link_manager_sync(streams)", NULL, dap_link_manager_sync(10000), DAP_LM_OK);
    return NULL;
}

/* ---- the remote peers and the operator ---- */

#define WORLD_PERIOD_MS 50

typedef struct world {
    uint64_t rng;
    uint64_t next_switch_ms; /* when the operator next switches a net off */
    int off_net;             /* the net currently switched off, -1 none */
    uint64_t off_until_ms;
    uint32_t *inbound; /* indices of the inbound-only peers */
    size_t inbound_count;
} world_t;

/* Inbound peers connect now and then (about one a second), stay 1-5 s and leave. Few enough that
 * downlinks alone never meet a net's target: the uplink machinery has to do the work. */
static void inbound_downlinks(world_t *w, uint64_t now)
{
    for (size_t i = 0; i < g_sim.peer_count; i++) {
        sim_peer_t *p = &g_sim.peers[i];
        if (!p->dl_uuid || now < p->dl_close_at_ms)
            continue;
        /* The library closes the downlinks of a link it deletes: then the stream is already gone. */
        if (!sdk_stream_remove(p->dl_uuid))
            atomic_fetch_add(&g_sim.c.downlinks_closed_by_library, 1);
        p->dl_uuid = 0;
    }
    if (!w->inbound_count || sim_rng_unit(&w->rng) >= WORLD_PERIOD_MS / 1000.0)
        return;
    sim_peer_t *p = &g_sim.peers[w->inbound[sim_rng_next(&w->rng) % w->inbound_count]];
    int ni = (int)(sim_rng_next(&w->rng) % g_sim.opt.nets);
    if (p->dl_uuid || !atomic_load(&g_sim.nets[ni].on))
        return;
    atomic_store(&p->dl_net, ni);
    p->dl_uuid = (SIM_DOWNLINK_UUID_TAG << 56) | ++s_downlink_seq;
    p->dl_close_at_ms = now + sim_rng_range(&w->rng, 1000, 5000);
    sdk_stream_open(p->addr.uint64, p->dl_uuid);
    atomic_fetch_add(&g_sim.c.downlinks_opened, 1);
}

/* What the SDK client does on its own, which the stand-in leaves to the test: it gives up a dial after
 * its connect timeout, and after its stream dropped it reports the loss as final ("last attempt") once
 * it decides not to retry by itself (always_reconnect is off for uplinks). Both arrive as
 * error(client, last_attempt = true), which is what sends the library into its disconnect/redial path. */
static void client_timeouts(uint64_t now)
{
    for (size_t i = 0; i < g_sim.peer_count; i++) {
        sim_peer_t *p = &g_sim.peers[i];
        if (!atomic_load(&p->dialed))
            continue;
        struct dap_lm_link_snapshot *s = NULL;
        int rc = dap_link_manager_link_snapshot(&p->addr, &s);
        if (rc != DAP_LM_ERR_NOT_FOUND)
            sim_expect("dap_link_manager_link_snapshot", p, rc, DAP_LM_OK);
        bool connecting = rc == DAP_LM_OK && s->state == LINK_STATE_CONNECTING;
        bool dropped = false;
        if (rc == DAP_LM_OK && s->state == LINK_STATE_ESTABLISHED && s->stream_is_destroyed) {
            uint64_t up, down;
            population_streams_of(p, &up, &down);
            dropped = !up; /* the stand-in registers a stream before it reports the connection */
        }
        dap_lm_link_snapshot_free(s);
        if (!connecting) {
            p->connecting_since_ms = 0;
        } else if (!p->connecting_since_ms) {
            p->connecting_since_ms = now;
        } else if (now - p->connecting_since_ms >= g_sim.opt.connect_timeout_ms) {
            if (sdk_client_fail(p->addr.uint64, true))
                atomic_fetch_add(&g_sim.c.connect_timeouts, 1);
            p->connecting_since_ms = 0;
        }
        /* One verdict per drop: the snapshot may show the old state until the library applied it. */
        if (dropped && now - p->gave_up_ms >= 1000) {
            if (sdk_client_fail(p->addr.uint64, true))
                atomic_fetch_add(&g_sim.c.client_giveups, 1);
            p->gave_up_ms = now;
        }
    }
}

/* The operator switches one net off for 1-3 s now and then, as the node does on a CLI `net go offline`. */
static void net_switches(world_t *w, uint64_t now)
{
    if (w->off_net >= 0) {
        if (now < w->off_until_ms)
            return;
        sim_net_t *n = &g_sim.nets[w->off_net];
        dap_link_manager_set_net_condition(n->id, true);
        atomic_fetch_add(&g_sim.c.api_calls, 1);
        pthread_mutex_lock(&g_sim.perm_lock);
        n->epoch++;
        atomic_store(&n->on_since_ms, sim_now_ms());
        atomic_store(&n->on, true);
        pthread_mutex_unlock(&g_sim.perm_lock);
        w->off_net = -1;
        w->next_switch_ms = now + sim_rng_range(&w->rng, 6000, 12000);
        return;
    }
    if (now < w->next_switch_ms)
        return;
    int ni = (int)(sim_rng_next(&w->rng) % g_sim.opt.nets);
    sim_net_t *n = &g_sim.nets[ni];
    /* Off releases the net's links, permanent ones included: they stop being tracked first. */
    pthread_mutex_lock(&g_sim.perm_lock);
    n->epoch++;
    atomic_store(&n->on, false);
    for (size_t i = 0; i < g_sim.peer_count; i++)
        g_sim.peers[i].permanent_linked &= ~(UINT32_C(1) << ni);
    pthread_mutex_unlock(&g_sim.perm_lock);
    dap_link_manager_set_net_condition(n->id, false);
    atomic_fetch_add(&g_sim.c.api_calls, 1);
    atomic_fetch_add(&g_sim.c.net_switches, 1);
    w->off_net = ni;
    w->off_until_ms = now + sim_rng_range(&w->rng, 1000, 3000);
}

static void *world_main(void *unused)
{
    (void)unused;
    world_t w = {.rng = g_sim.opt.seed ^ UINT64_C(0x3077D), .off_net = -1};
    w.next_switch_ms = sim_now_ms() + sim_rng_range(&w.rng, 3000, 8000);
    w.inbound = calloc(g_sim.peer_count, sizeof(*w.inbound));
    if (!w.inbound)
        abort();
    for (size_t i = 0; i < g_sim.peer_count; i++)
        if (g_sim.peers[i].profile == PROFILE_INBOUND)
            w.inbound[w.inbound_count++] = (uint32_t)i;
    unsigned round = 0;
    while (!atomic_load(&g_sim.stopping)) {
        uint64_t now = sim_now_ms();
        inbound_downlinks(&w, now);
        if (++round % 2 == 0)
            client_timeouts(now);
        net_switches(&w, now);
        sleep_ms(WORLD_PERIOD_MS);
    }
    free(w.inbound);
    sim_expect("dap_link_manager_sync(world)", NULL, dap_link_manager_sync(10000), DAP_LM_OK);
    return NULL;
}

int world_start(void)
{
    if (pthread_create(&s_streams_thread, NULL, streams_main, NULL) != 0)
        return -1;
    s_streams_started = true;
    if (pthread_create(&s_world_thread, NULL, world_main, NULL) != 0)
        return -1;
    s_world_started = true;
    return 0;
}

void world_stop(void)
{
    if (s_world_started)
        pthread_join(s_world_thread, NULL);
    atomic_store(&s_streams_stop, true);
    if (s_streams_started)
        pthread_join(s_streams_thread, NULL);
    s_world_started = s_streams_started = false;
}

size_t world_close_downlinks(void)
{
    size_t closed = 0;
    for (size_t i = 0; i < g_sim.peer_count; i++) {
        sim_peer_t *p = &g_sim.peers[i];
        if (p->dl_uuid && sdk_stream_remove(p->dl_uuid))
            closed++;
        p->dl_uuid = 0;
    }
    return closed;
}

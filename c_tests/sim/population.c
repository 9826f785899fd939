/* The remote peers: addresses, hosts, failure profiles (from the seed) and their network scripts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* Sorted copy of the addresses for lookups from callbacks (immutable after build: no lock). */
static uint64_t *s_sorted_addrs;
static uint32_t *s_sorted_index;

static const char *const s_profile_names[PROFILE_COUNT] = {"healthy",  "slow",     "refusing",  "silent",
                                                           "flapping", "dropping", "rejecting", "inbound"};

const char *profile_name(peer_profile_t p)
{
    return p < PROFILE_COUNT ? s_profile_names[p] : "?";
}

static peer_profile_t draw_profile(uint64_t *rng)
{
    const sim_options_t *o = &g_sim.opt;
    double x = sim_rng_unit(rng);
    const double rates[] = {o->inbound_rate, o->refuse_rate, o->silent_rate, o->flap_rate,
                            o->drop_rate,    o->reject_rate, o->slow_rate};
    const peer_profile_t profiles[] = {PROFILE_INBOUND,  PROFILE_REFUSING,  PROFILE_SILENT, PROFILE_FLAPPING,
                                       PROFILE_DROPPING, PROFILE_REJECTING, PROFILE_SLOW};
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        if (x < rates[i])
            return profiles[i];
        x -= rates[i];
    }
    return PROFILE_HEALTHY;
}

/* Script of the peer's host:port in the stand-in network: what a dial of it does. */
static void script_peer(sim_peer_t *p, uint64_t *rng)
{
    switch (p->profile) {
    case PROFILE_HEALTHY:
    case PROFILE_REJECTING:
        p->delay_ms = sim_rng_range(rng, 5, 60);
        sdk_net_script(p->host, p->port, SDK_NET_ACCEPT, p->delay_ms, false);
        break;
    case PROFILE_SLOW:
        p->delay_ms = sim_rng_range(rng, 300, 2000);
        sdk_net_script(p->host, p->port, SDK_NET_ACCEPT, p->delay_ms, false);
        break;
    case PROFILE_REFUSING:
        /* last_attempt: the SDK client gave up, so the library consults `disconnected` (§7). */
        p->delay_ms = sim_rng_range(rng, 10, 300);
        sdk_net_script(p->host, p->port, SDK_NET_REFUSE, p->delay_ms, true);
        break;
    case PROFILE_SILENT:
        p->delay_ms = 0;
        sdk_net_script(p->host, p->port, SDK_NET_SILENT, 0, false);
        break;
    case PROFILE_FLAPPING:
        p->delay_ms = sim_rng_range(rng, 300, 1500);
        sdk_net_script(p->host, p->port, SDK_NET_DROP_AFTER, p->delay_ms, false);
        break;
    case PROFILE_DROPPING:
        p->delay_ms = sim_rng_range(rng, 4000, 12000);
        sdk_net_script(p->host, p->port, SDK_NET_DROP_AFTER, p->delay_ms, false);
        break;
    case PROFILE_INBOUND:
    case PROFILE_COUNT:
        /* never dialed: a dial would hit the default script (MANUAL), which would show as a stuck link */
        break;
    }
}

static int cmp_index_by_addr(const void *a, const void *b)
{
    uint64_t x = g_sim.peers[*(const uint32_t *)a].addr.uint64, y = g_sim.peers[*(const uint32_t *)b].addr.uint64;
    return x < y ? -1 : x > y;
}

int population_build(void)
{
    size_t n = g_sim.opt.peers;
    g_sim.peers = calloc(n, sizeof(*g_sim.peers));
    s_sorted_addrs = calloc(n, sizeof(*s_sorted_addrs));
    s_sorted_index = calloc(n, sizeof(*s_sorted_index));
    if (!g_sim.peers || !s_sorted_addrs || !s_sorted_index)
        return -1;
    g_sim.peer_count = n;
    uint64_t rng = g_sim.opt.seed * UINT64_C(0x9E3779B97F4A7C15) + 1;
    for (size_t i = 0; i < n; i++) {
        sim_peer_t *p = &g_sim.peers[i];
        /* Random 64-bit addresses, as real node addresses look; 0, our own and duplicates are redrawn. */
        for (;;) {
            p->addr.uint64 = sim_rng_next(&rng);
            bool clash = p->addr.uint64 == 0 || p->addr.uint64 == g_node_addr.uint64;
            for (size_t j = 0; j < i && !clash; j++)
                clash = g_sim.peers[j].addr.uint64 == p->addr.uint64;
            if (!clash)
                break;
        }
        /* 10.a.b.c, unique per index; b and c stay in 1..250 so no host is a network or broadcast address. */
        snprintf(p->host, sizeof(p->host), "10.%zu.%zu.%zu", (i / 62500) % 250 + 1, (i / 250) % 250 + 1, i % 250 + 1);
        p->port = (uint16_t)(8079 + sim_rng_range(&rng, 0, 20));
        p->profile = draw_profile(&rng);
        p->permanent = p->profile != PROFILE_INBOUND && sim_rng_unit(&rng) < g_sim.opt.permanent_rate;
        atomic_init(&p->dl_net, -1);
        atomic_init(&p->dialed, false);
        script_peer(p, &rng);
        g_sim.profile_count[p->profile]++;
        g_sim.permanent_count += p->permanent;
        s_sorted_index[i] = (uint32_t)i;
    }
    qsort(s_sorted_index, n, sizeof(*s_sorted_index), cmp_index_by_addr);
    for (size_t i = 0; i < n; i++)
        s_sorted_addrs[i] = g_sim.peers[s_sorted_index[i]].addr.uint64;
    return 0;
}

void population_free(void)
{
    free(g_sim.peers);
    free(s_sorted_addrs);
    free(s_sorted_index);
    g_sim.peers = NULL;
    s_sorted_addrs = NULL;
    s_sorted_index = NULL;
    g_sim.peer_count = 0;
}

sim_peer_t *population_find(const dap_stream_node_addr_t *addr)
{
    if (!addr)
        return NULL;
    uint64_t a = addr->uint64;
    size_t lo = 0, hi = g_sim.peer_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s_sorted_addrs[mid] < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g_sim.peer_count && s_sorted_addrs[lo] == a ? &g_sim.peers[s_sorted_index[lo]] : NULL;
}

void population_streams_of(const sim_peer_t *peer, uint64_t *up_uuid, uint64_t *down_uuid)
{
    dap_stream_node_addr_t addr = peer->addr;
    *up_uuid = *down_uuid = 0;
    dap_list_t *list = dap_stream_find_all_by_addr(&addr);
    while (list) {
        dap_list_t *next = list->next;
        dap_events_socket_uuid_ctrl_t *ctrl = list->data;
        uint64_t tag = ctrl->uuid >> 56;
        if (tag == SIM_UPLINK_UUID_TAG)
            *up_uuid = ctrl->uuid;
        else if (tag == SIM_DOWNLINK_UUID_TAG)
            *down_uuid = ctrl->uuid;
        free(ctrl);
        free(list);
        list = next;
    }
}

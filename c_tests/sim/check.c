/* Invariants checked while the simulation runs (main thread). */
#include <stdlib.h>

#include "sim.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Peers that would connect and stay if dialed now: healthy or slow, not in the net's hot list (the
 * balancer must skip those) and not already linked in the net. */
size_t check_healthy_available(int net_index)
{
    sim_net_t *n = &g_sim.nets[net_index];
    size_t count = 0;
    dap_stream_node_addr_t *ignored = dap_link_manager_get_ignored_addrs(&count, n->id);
    uint64_t *hot = calloc(count ? count : 1, sizeof(*hot));
    if (!hot)
        abort();
    for (size_t i = 0; ignored && i < count; i++)
        hot[i] = ignored[i].uint64;
    free(ignored);
    if (!ignored)
        count = 0;
    qsort(hot, count, sizeof(*hot), cmp_u64);
    size_t available = 0;
    for (size_t i = 0; i < g_sim.peer_count; i++) {
        sim_peer_t *p = &g_sim.peers[i];
        if (p->profile != PROFILE_HEALTHY && p->profile != PROFILE_SLOW)
            continue;
        uint64_t a = p->addr.uint64;
        if (count && bsearch(&a, hot, count, sizeof(*hot), cmp_u64))
            continue;
        if (!dap_link_manager_link_find(&p->addr, n->id))
            available++;
    }
    free(hot);
    return available;
}

/* A net on for longer than the settle window, below its target for all of that window, while enough
 * healthy peers were there to dial: the manager stopped asking for links or lost them (no cause). */
void check_below_target(uint64_t now)
{
    uint64_t settle = (uint64_t)g_sim.opt.settle_seconds * 1000;
    for (unsigned i = 0; i < g_sim.opt.nets; i++) {
        sim_net_t *n = &g_sim.nets[i];
        size_t links = dap_link_manager_links_count(n->id);
        if (!atomic_load(&n->on) || links >= n->min_links) {
            n->last_ok_ms = now;
            n->below_flagged = false;
            continue;
        }
        uint64_t since = n->last_ok_ms;
        uint64_t on_since = atomic_load(&n->on_since_ms);
        if (on_since > since)
            since = on_since;
        if (n->below_flagged || now - since < settle)
            continue;
        size_t available = check_healthy_available((int)i);
        size_t deficit = n->min_links - links;
        if (available < deficit)
            continue; /* a cause: the population ran out of peers worth dialing */
        n->below_flagged = true;
        n->below_violations++;
        sim_record("%s below target for %.1f s: links %zu/%u, established %zu, needed %zu, %zu healthy "
                         "peers available",
                         n->name, (double)(now - since) / 1000.0, links, n->min_links,
                         dap_link_manager_established_uplinks_count(n->id), dap_link_manager_needed_links_count(n->id),
                         available);
    }
}

/* Every permanent peer the balancer linked must keep its link record in that net until the net is
 * switched off (CONTRACT.md §6, §7, §12.14). The fast getter reads the published view; a miss is
 * confirmed with the _sync variant so a view not yet republished is not taken for a loss. */
unsigned check_permanent_links(unsigned *tracked)
{
    typedef struct {
        size_t peer;
        int net;
        uint64_t epoch;
    } entry_t;
    entry_t *list = NULL;
    size_t len = 0, cap = 0;
    pthread_mutex_lock(&g_sim.perm_lock);
    for (size_t i = 0; i < g_sim.peer_count; i++) {
        for (unsigned ni = 0; ni < g_sim.opt.nets; ni++) {
            if (!(g_sim.peers[i].permanent_linked & (UINT32_C(1) << ni)))
                continue;
            if (len == cap) {
                cap = cap ? cap * 2 : 32;
                entry_t *grown = realloc(list, cap * sizeof(*grown));
                if (!grown)
                    abort();
                list = grown;
            }
            list[len++] = (entry_t){i, (int)ni, g_sim.nets[ni].epoch};
        }
    }
    pthread_mutex_unlock(&g_sim.perm_lock);

    unsigned lost = 0;
    for (size_t k = 0; k < len; k++) {
        sim_peer_t *p = &g_sim.peers[list[k].peer];
        sim_net_t *n = &g_sim.nets[list[k].net];
        if (dap_link_manager_link_find(&p->addr, n->id))
            continue;
        bool found = false;
        if (!sim_expect("dap_link_manager_link_find_sync", p,
                        dap_link_manager_link_find_sync(&p->addr, n->id, &found, 10000), DAP_LM_OK) ||
            found)
            continue;
        /* A switch after we listed it releases the link legitimately. */
        pthread_mutex_lock(&g_sim.perm_lock);
        bool still = n->epoch == list[k].epoch && (p->permanent_linked & (UINT32_C(1) << list[k].net));
        if (still)
            p->permanent_linked &= ~(UINT32_C(1) << list[k].net); /* report each loss once */
        pthread_mutex_unlock(&g_sim.perm_lock);
        if (!still)
            continue;
        struct dap_lm_link_snapshot *s = NULL;
        int rc = dap_link_manager_link_snapshot_sync(&p->addr, &s, 10000);
        char addr[SDK_ADDR_STRLEN];
        sim_record("permanent link lost: %s (%s:%u, %s) in %s; link record %s",
                         sdk_addr_str(p->addr.uint64, addr), p->host, p->port, profile_name(p->profile), n->name,
                         rc == DAP_LM_OK ? (s->nets_count ? "kept, other nets only" : "kept without nets")
                                         : "deleted");
        dap_lm_link_snapshot_free(s);
        lost++;
        g_sim.permanent_lost++;
    }
    *tracked = (unsigned)len;
    free(list);
    return lost;
}

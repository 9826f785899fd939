/* lm_bench W4-W6: memory, idle CPU, and how costs grow with the number of links. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "lm_bench.h"

/* ---- W4: heap per link and per queued event ----------------------------------------------------- */

static double s_sdk_member_bytes = -1; /* what the stand-in SDK's cluster spends per member */

/* The SDK's own cost per cluster member (same for both libraries), subtracted from bytes per link. */
void w4_sdk_member_bytes(void)
{
    size_t n = g_opts.quick ? 10000u : 100000u;
    dap_cluster_t *c = sdk_cluster_new("bench-plain", NULL, NULL, NULL);
    size_t m0 = lm_heap_bytes();
    for (size_t i = 0; i < n; i++)
        sdk_cluster_add_member(c, lm_addr(0x7, i));
    size_t m1 = lm_heap_bytes();
    sdk_cluster_free(c);
    s_sdk_member_bytes = (double)(m1 - m0) / (double)n;
    lm_note("W4", "the stand-in SDK spends %.1f heap bytes per cluster member; it is subtracted from bytes/link",
            s_sdk_member_bytes);
}

void w4_memory(lm_impl_t *impl)
{
    size_t links = g_opts.quick ? 10000u : 100000u;
    size_t queued = g_opts.quick ? 100000u : 1000000u;
    lm_run_t run;
    lm_run_begin(&run, impl, 0);

    sdk_journal_clear();
    size_t m0 = lm_heap_bytes();
    lm_populate_downlinks(&run, lm_addr(0x1, 0), links);
    size_t m1 = lm_heap_bytes();
    double per_link = ((double)m1 - (double)m0) / (double)links - s_sdk_member_bytes;
    lm_record("W4", (int)links, "heap bytes/link", "B", -1, impl->index, per_link, -1, -1);

    /* Hold the library thread inside link_count_changed: what is sent now stays queued. */
    lm_hold_set(true);
    dap_stream_node_addr_t h = {.uint64 = lm_addr(0x2, 0)};
    impl->f.dap_link_manager_stream_add(&h, false);
    impl->f.dap_link_manager_accounting_link_in_net(run.net[0], &h, true);
    if (!lm_hold_wait_entered(10000)) {
        fprintf(stderr, "lm_bench: %s: the library never called link_count_changed\n", impl->name);
        exit(3);
    }
    size_t m2 = lm_heap_bytes();
    for (size_t i = 0; i < queued / 3; i++) {
        dap_stream_node_addr_t a = {.uint64 = lm_addr(0x3, i)};
        impl->f.dap_link_manager_stream_add(&a, false);
        impl->f.dap_link_manager_accounting_link_in_net(run.net[0], &a, true);
        impl->f.dap_link_manager_stream_delete(&a);
    }
    size_t m3 = lm_heap_bytes();
    lm_record("W4", (int)queued, "heap bytes/queued event", "B", -1, impl->index,
              ((double)m3 - (double)m2) / (double)(queued / 3 * 3), -1, -1);
    lm_hold_set(false);
    lm_drain(&run);
    sdk_journal_clear();
    lm_run_end(&run);
}

/* ---- W5: idle ----------------------------------------------------------------------------------- */

void w5_idle(lm_impl_t *impl)
{
    uint64_t window = g_opts.quick ? 1000000000u : 10000000000u;
    lm_run_t run;
    lm_run_begin(&run, impl, 0); /* the default 5 s tick: a 10 s window holds two ticks */
    lm_populate_downlinks(&run, lm_addr(0x1, 0), 1000);
    lm_sleep_ns(100000000);
    uint64_t c0 = lm_lib_cpu_ns(&run), t0 = lm_now_ns();
    lm_sleep_ns(window);
    uint64_t c1 = lm_lib_cpu_ns(&run), t1 = lm_now_ns();
    lm_record("W5", 0, "library CPU, % of one core", "%", -1, impl->index,
              100.0 * (double)(c1 - c0) / (double)(t1 - t0), -1, -1);
    lm_run_end(&run);
}

/* ---- W6: per-operation cost at 1k .. 1M links --------------------------------------------------- */

static uint64_t s_rng = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

void w6_scale(lm_impl_t *impl, size_t links)
{
    size_t triples = g_opts.quick ? 5000u : 20000u, finds = g_opts.quick ? 100000u : 500000u;
    lm_run_t run;
    /* No tick during the figures (a wake-up pass scans every link: at 1M links it would land inside the
     * event window); the tick is measured on its own below. */
    lm_run_begin(&run, impl, 3600000);
    size_t m0 = lm_heap_bytes();
    lm_populate_downlinks(&run, lm_addr(0x1, 0), links);
    size_t m1 = lm_heap_bytes();
    lm_record("W6", (int)links, "heap bytes/link", "B", -1, impl->index,
              ((double)m1 - (double)m0) / (double)links - s_sdk_member_bytes, -1, -1);

    /* Events on fresh links (created, accounted, deleted) with `links` others present, drained. */
    uint64_t t0 = lm_now_ns();
    for (size_t i = 0; i < triples; i++) {
        dap_stream_node_addr_t a = {.uint64 = lm_addr(0x4, i)};
        impl->f.dap_link_manager_stream_add(&a, false);
        impl->f.dap_link_manager_accounting_link_in_net(run.net[0], &a, true);
        impl->f.dap_link_manager_stream_delete(&a);
    }
    lm_drain(&run);
    uint64_t t1 = lm_now_ns();
    lm_record("W6", (int)links, "ns/event, drained", "ns", -1, impl->index, (double)(t1 - t0) / (double)(triples * 3),
              -1, -1);
    sdk_journal_clear();

    /* link_find of random present links (false: an accounted downlink has no net associated, but the
     * lookup is the same work). */
    lm_hist_t h = {0};
    size_t sink = 0;
    t0 = lm_now_ns();
    for (size_t i = 0; i < finds; i++) {
        dap_stream_node_addr_t a = {.uint64 = lm_addr(0x1, rnd() % links)};
        if (i & 7) {
            sink += impl->f.dap_link_manager_link_find(&a, run.net[0]);
        } else {
            uint64_t s0 = lm_ticks();
            sink += impl->f.dap_link_manager_link_find(&a, run.net[0]);
            lm_hist_add(&h, lm_ticks_ns(s0, lm_ticks()));
        }
    }
    t1 = lm_now_ns();
    __asm__ volatile("" ::"r"(sink));
    lm_record("W6", (int)links, "link_find ns", "ns", -1, impl->index, (double)(t1 - t0) / (double)finds,
              lm_hist_pct(&h, 50), lm_hist_pct(&h, 99));
    lm_run_end(&run);
}

/* Tick cost: `links` uplinks with clients. The library is set inactive while they are created (no
 * tick runs), then active: the first wake-up pass calls fill_net_info for every link (the node answers
 * with link_update + ready, so each starts connecting; the stand-in's network stays silent), later
 * passes only skip them. Costs are the library threads' CPU time, so both are measured the same way. */
void w6_tick(lm_impl_t *impl, size_t links)
{
    const unsigned tick_ms = 100;
    lm_run_t run;
    lm_run_begin(&run, impl, tick_ms);
    impl->f.dap_link_manager_set_condition(false);
    lm_drain(&run);
    for (size_t i = 0; i < links; i++) {
        dap_stream_node_addr_t a = {.uint64 = lm_addr(0x5, i)};
        int rc = impl->x.dap_link_manager_link_create_async
                     ? impl->x.dap_link_manager_link_create_async(&a, run.net[0], NULL, NULL)
                     : impl->f.dap_link_manager_link_create(&a, run.net[0]);
        if (rc != 0) {
            fprintf(stderr, "lm_bench: %s: link_create -> %d\n", impl->name, rc);
            exit(3);
        }
        if ((i & 0xFFFF) == 0xFFFF)
            lm_drain(&run);
    }
    lm_drain(&run);
    sdk_journal_clear();

    uint64_t c0 = lm_lib_cpu_ns(&run);
    impl->f.dap_link_manager_set_condition(true);
    uint64_t deadline = lm_now_ns() + 600000000000u;
    while (atomic_load(&g_fill_calls) < links && lm_now_ns() < deadline)
        lm_sleep_ns(1000000);
    lm_drain(&run); /* the link_update each fill_net_info queued */
    uint64_t c1 = lm_lib_cpu_ns(&run);
    if (atomic_load(&g_fill_calls) < links)
        lm_note("W6", "%s: only %zu of %zu links got fill_net_info", impl->name, atomic_load(&g_fill_calls), links);
    if (atomic_load(&g_fill_refused))
        lm_note("W6",
                "%s, %zu links: link_update refused %zu times inside fill_net_info (the node then reports no info)",
                impl->name, links, atomic_load(&g_fill_refused));
    lm_record("W6", (int)links, "first wake-up pass, CPU ns/link", "ns", -1, impl->index,
              (double)(c1 - c0) / (double)links, -1, -1);
    sdk_journal_clear();

    /* Steady state: every pass skips every link (connecting). Each links-request pass calls link_request
     * (the net is below min_links), so link_request calls count the wake-up passes too. */
    uint64_t window = (uint64_t)tick_ms * 12u * 1000000u;
    size_t r0 = atomic_load(&g_link_request_calls);
    uint64_t c2 = lm_lib_cpu_ns(&run);
    lm_sleep_ns(window);
    uint64_t c3 = lm_lib_cpu_ns(&run);
    size_t passes = atomic_load(&g_link_request_calls) - r0;
    if (passes)
        lm_record("W6", (int)links, "steady tick (wake-up + links request), CPU ns/link", "ns", -1, impl->index,
                  (double)(c3 - c2) / (double)passes / (double)links, -1, -1);
    sdk_journal_clear();
    lm_run_end(&run);
}

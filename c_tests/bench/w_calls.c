/* lm_bench W1-W3: the calls the node makes from its own threads, timed on those threads.
 *
 * Latencies are sampled (every 8th getter, every 4th event) with the TSC, so the timing costs the
 * measured loop little; ops/s count every call.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm_bench.h"

/* ---- W1: hot getters while one thread streams events at a steady rate -------------------------- */

#define W1_STREAM_TRIPLES_PER_MS 10 /* 30k events/s: stream_add + accounting + stream_delete */

typedef struct {
    lm_run_t *run;
    lm_gate_t *gate;
    atomic_int *stop;
    uint64_t ops, sent;
    lm_hist_t hist;
} w1_thread_t;

static void *w1_reader(void *p)
{
    w1_thread_t *a = p;
    lm_impl_t *impl = a->run->impl;
    uint64_t net_cond = a->run->net[1], net_count = a->run->net[0];
    size_t sink = 0;
    lm_gate_arrive(a->gate);
    while (!atomic_load_explicit(a->stop, memory_order_relaxed)) {
        for (int i = 0; i < 8; i++) {
            sink += impl->f.dap_link_manager_get_net_condition(net_cond);
            sink += impl->f.dap_link_manager_links_count(net_count);
        }
        uint64_t t0 = lm_ticks();
        sink += impl->f.dap_link_manager_get_net_condition(net_cond);
        uint64_t t1 = lm_ticks();
        sink += impl->f.dap_link_manager_links_count(net_count);
        uint64_t t2 = lm_ticks();
        lm_hist_add(&a->hist, lm_ticks_ns(t0, t1));
        lm_hist_add(&a->hist, lm_ticks_ns(t1, t2));
        a->ops += 18;
    }
    __asm__ volatile("" ::"r"(sink));
    return NULL;
}

/* The stream layer: add, accounting(ok), delete of a fresh downlink, W1_STREAM_TRIPLES_PER_MS per ms. */
static void *w1_streamer(void *p)
{
    w1_thread_t *a = p;
    lm_impl_t *impl = a->run->impl;
    lm_gate_arrive(a->gate);
    uint64_t next = lm_now_ns(), i = 0;
    while (!atomic_load_explicit(a->stop, memory_order_relaxed)) {
        for (int k = 0; k < W1_STREAM_TRIPLES_PER_MS; k++, i++) {
            dap_stream_node_addr_t addr = {.uint64 = lm_addr(0x100, i)};
            impl->f.dap_link_manager_stream_add(&addr, false);
            impl->f.dap_link_manager_accounting_link_in_net(a->run->net[0], &addr, true);
            impl->f.dap_link_manager_stream_delete(&addr);
            a->sent += 3;
        }
        next += 1000000;
        uint64_t now = lm_now_ns();
        if (next > now)
            lm_sleep_ns(next - now);
    }
    return NULL;
}

void w1_hot_getters(lm_impl_t *impl, int threads)
{
    uint64_t dur_ns = g_opts.quick ? 300000000u : 1000000000u;
    lm_run_t run;
    lm_run_begin(&run, impl, 0);
    lm_populate_downlinks(&run, lm_addr(0x1, 0), 64);

    lm_gate_t gate = {0};
    atomic_int stop = 0;
    w1_thread_t *t = calloc((size_t)threads + 1, sizeof(*t));
    pthread_t *th = calloc((size_t)threads + 1, sizeof(*th));
    for (int i = 0; i <= threads; i++) {
        t[i] = (w1_thread_t){.run = &run, .gate = &gate, .stop = &stop};
        pthread_create(&th[i], NULL, i == threads ? w1_streamer : w1_reader, &t[i]);
    }
    lm_gate_open(&gate, threads + 1);
    uint64_t t0 = lm_now_ns();
    lm_sleep_ns(dur_ns);
    atomic_store(&stop, 1);
    uint64_t t1 = lm_now_ns();
    lm_hist_t all = {0};
    uint64_t ops = 0;
    for (int i = 0; i <= threads; i++) {
        pthread_join(th[i], NULL);
        if (i < threads) {
            ops += t[i].ops;
            lm_hist_merge(&all, &t[i].hist);
        }
    }
    double secs = (double)(t1 - t0) / 1e9;
    lm_record("W1", threads, "getter ops/s", "ops/s", +1, impl->index, (double)ops / secs, lm_hist_pct(&all, 50),
              lm_hist_pct(&all, 99));
    lm_record("W1", threads, "streamed events/s", "ev/s", +1, impl->index, (double)t[threads].sent / secs, -1, -1);
    lm_drain(&run);
    lm_run_end(&run);
    free(t);
    free(th);
}

/* ---- W2: event storm -------------------------------------------------------------------------- */

typedef struct {
    lm_run_t *run;
    lm_gate_t *gate;
    atomic_int *stop; /* NULL: run `iters` iterations */
    unsigned stream;
    uint64_t iters, done_ns, events;
    lm_hist_t hist;
} w2_thread_t;

/* One storm producer: stream_add, accounting(ok), stream_delete of a fresh downlink, as fast as it can. */
static void *w2_producer(void *p)
{
    w2_thread_t *a = p;
    lm_impl_t *impl = a->run->impl;
    uint64_t net = a->run->net[0];
    lm_gate_arrive(a->gate);
    for (uint64_t i = 0; a->stop ? !atomic_load_explicit(a->stop, memory_order_relaxed) : i < a->iters; i++) {
        dap_stream_node_addr_t addr = {.uint64 = lm_addr(a->stream, i)};
        if (i & 3) {
            impl->f.dap_link_manager_stream_add(&addr, false);
            impl->f.dap_link_manager_accounting_link_in_net(net, &addr, true);
            impl->f.dap_link_manager_stream_delete(&addr);
        } else {
            uint64_t t0 = lm_ticks();
            impl->f.dap_link_manager_stream_add(&addr, false);
            uint64_t t1 = lm_ticks();
            impl->f.dap_link_manager_accounting_link_in_net(net, &addr, true);
            uint64_t t2 = lm_ticks();
            impl->f.dap_link_manager_stream_delete(&addr);
            uint64_t t3 = lm_ticks();
            lm_hist_add(&a->hist, lm_ticks_ns(t0, t1));
            lm_hist_add(&a->hist, lm_ticks_ns(t1, t2));
            lm_hist_add(&a->hist, lm_ticks_ns(t2, t3));
        }
        a->events += 3;
    }
    a->done_ns = lm_now_ns();
    return NULL;
}

void w2_event_storm(lm_impl_t *impl, int threads)
{
    uint64_t total_events = g_opts.quick ? 60000u : 300000u;
    lm_run_t run;
    lm_run_begin(&run, impl, 0);
    lm_gate_t gate = {0};
    w2_thread_t *t = calloc((size_t)threads, sizeof(*t));
    pthread_t *th = calloc((size_t)threads, sizeof(*th));
    for (int i = 0; i < threads; i++) {
        t[i] = (w2_thread_t){
            .run = &run, .gate = &gate, .stream = 0x200u + (unsigned)i, .iters = total_events / 3u / (uint64_t)threads};
        pthread_create(&th[i], NULL, w2_producer, &t[i]);
    }
    lm_gate_open(&gate, threads);
    uint64_t t0 = lm_now_ns(), calls_done = t0, events = 0;
    lm_hist_t all = {0};
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        if (t[i].done_ns > calls_done)
            calls_done = t[i].done_ns;
        events += t[i].events;
        lm_hist_merge(&all, &t[i].hist);
    }
    lm_drain(&run);
    uint64_t t1 = lm_now_ns();
    int ix = impl->index;
    lm_record("W2", threads, "events/s end-to-end (drained)", "ev/s", +1, ix,
              (double)events / ((double)(t1 - t0) / 1e9), -1, -1);
    lm_record("W2", threads, "events/s submitted (callers)", "ev/s", +1, ix,
              (double)events / ((double)(calls_done - t0) / 1e9), -1, -1);
    lm_record("W2", threads, "caller ns/call", "ns", -1, ix, lm_hist_mean(&all), lm_hist_pct(&all, 50),
              lm_hist_pct(&all, 99));
    lm_run_end(&run);
    free(t);
    free(th);
}

/* What the SDK alone costs per storm event: each add/accounting/delete triple makes one
 * dap_cluster_member_add and one dap_cluster_member_delete (journaled, as the stand-in does). Neither
 * library can drain events faster than this on its one applying thread. */
void w2_sdk_floor(void)
{
    size_t triples = g_opts.quick ? 20000u : 100000u;
    dap_cluster_t *c = sdk_cluster_new("bench-floor", NULL, NULL, NULL);
    uint64_t t0 = lm_now_ns();
    for (size_t i = 0; i < triples; i++) {
        dap_stream_node_addr_t a = {.uint64 = lm_addr(0x8, i)};
        dap_cluster_member_add(c, &a, 0, NULL);
        dap_cluster_member_delete(c, &a);
    }
    uint64_t t1 = lm_now_ns();
    sdk_cluster_free(c);
    sdk_journal_clear();
    lm_note("W2",
            "SDK floor: the stand-in's cluster add+delete (journal included) cost %.0f ns per event on one thread, "
            "i.e. at most %.2fM events/s for any single applying thread",
            (double)(t1 - t0) / (double)(triples * 3), (double)(triples * 3) / ((double)(t1 - t0) / 1e3));
}

/* ---- W3: the balancer's queries while T-1 threads storm ----------------------------------------- */

typedef struct {
    lm_run_t *run;
    atomic_int *stop;
    bool sync; /* the _sync variants instead of the original calls */
    uint64_t known, errors;
    lm_hist_t gnla, find;
} w3_query_t;

/* The balancer's queries, back to back: get_net_links_addrs then link_find of a present link. */
static void *w3_query(void *p)
{
    w3_query_t *q = p;
    lm_impl_t *impl = q->run->impl;
    uint64_t net = q->run->net[0];
    dap_stream_node_addr_t known = {.uint64 = q->known};
    size_t sink = 0;
    while (!atomic_load_explicit(q->stop, memory_order_acquire)) {
        size_t up = 0, down = 0;
        bool found = false;
        uint64_t t0, t1, t2;
        if (!q->sync) {
            t0 = lm_ticks();
            dap_stream_node_addr_t *v = impl->f.dap_link_manager_get_net_links_addrs(net, &up, &down, false);
            t1 = lm_ticks();
            found = impl->f.dap_link_manager_link_find(&known, net);
            t2 = lm_ticks();
            free(v);
        } else {
            struct dap_lm_net_links *r = NULL;
            t0 = lm_ticks();
            int rc1 = impl->x.dap_link_manager_get_net_links_addrs_sync(net, false, &r, 10000);
            t1 = lm_ticks();
            int rc2 = impl->x.dap_link_manager_link_find_sync(&known, net, &found, 10000);
            t2 = lm_ticks();
            if (r)
                up = r->uplinks_count + r->downlinks_count;
            impl->x.dap_lm_net_links_free(r);
            q->errors += (rc1 != DAP_LM_OK) + (rc2 != DAP_LM_OK);
        }
        sink += up + down + found;
        lm_hist_add(&q->gnla, lm_ticks_ns(t0, t1));
        lm_hist_add(&q->find, lm_ticks_ns(t1, t2));
    }
    __asm__ volatile("" ::"r"(sink));
    return NULL;
}

void w3_queries_under_load(lm_impl_t *impl, int threads, bool sync)
{
    uint64_t total_events = g_opts.quick ? 60000u : 300000u;
    uint64_t min_ns = g_opts.quick ? 100000000u : 300000000u; /* T=1 has no writers: query this long */
    lm_run_t run;
    lm_run_begin(&run, impl, 0);
    lm_populate_downlinks(&run, lm_addr(0x1, 0), 100); /* the net's links, as the balancer sees them */

    int writers = threads - 1;
    lm_gate_t gate = {0};
    atomic_int stop = 0;
    w3_query_t q = {.run = &run, .stop = &stop, .sync = sync, .known = lm_addr(0x1, 50)};
    w2_thread_t *t = calloc((size_t)writers + 1, sizeof(*t));
    pthread_t *th = calloc((size_t)writers + 1, sizeof(*th));
    for (int i = 0; i < writers; i++) {
        t[i] = (w2_thread_t){
            .run = &run, .gate = &gate, .stream = 0x300u + (unsigned)i, .iters = total_events / 3u / (uint64_t)writers};
        pthread_create(&th[i], NULL, w2_producer, &t[i]);
    }
    lm_gate_open(&gate, writers);
    uint64_t t0 = lm_now_ns();
    pthread_t qt;
    pthread_create(&qt, NULL, w3_query, &q);
    /* The load lasts until the library has applied every event the writers sent. */
    for (int i = 0; i < writers; i++)
        pthread_join(th[i], NULL);
    lm_drain(&run);
    uint64_t now = lm_now_ns();
    if (now - t0 < min_ns && writers == 0)
        lm_sleep_ns(min_ns - (now - t0));
    atomic_store_explicit(&stop, 1, memory_order_release);
    pthread_join(qt, NULL);
    uint64_t t1 = lm_now_ns();

    const char *gnla = sync ? "get_net_links_addrs_sync" : "get_net_links_addrs (original)";
    const char *find = sync ? "link_find_sync" : "link_find (original)";
    lm_record("W3", threads, gnla, "ns", -1, impl->index, lm_hist_mean(&q.gnla), lm_hist_pct(&q.gnla, 50),
              lm_hist_pct(&q.gnla, 99));
    lm_record_samples(q.gnla.count);
    lm_record("W3", threads, find, "ns", -1, impl->index, lm_hist_mean(&q.find), lm_hist_pct(&q.find, 50),
              lm_hist_pct(&q.find, 99));
    lm_record_samples(q.find.count);
    char m[64];
    snprintf(m, sizeof(m), "%s: query pairs", sync ? "_sync" : "original");
    lm_record("W3", threads, m, "n", +1, impl->index, (double)q.find.count, -1, -1);
    snprintf(m, sizeof(m), "%s: load window", sync ? "_sync" : "original");
    lm_record("W3", threads, m, "ms", -1, impl->index, (double)(t1 - t0) / 1e6, -1, -1);
    if (q.errors)
        lm_note("W3", "%s T=%d: %llu _sync calls failed (timeout?)", impl->name, threads, (unsigned long long)q.errors);
    lm_run_end(&run);
    free(t);
    free(th);
}

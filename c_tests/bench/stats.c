/* lm_bench: clocks, per-thread CPU time, heap accounting, latency histograms, start gates. */
#define _GNU_SOURCE
#include <dirent.h>
#include <malloc.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lm_bench.h"

double g_ns_per_tick = 1.0;

uint64_t lm_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The TSC against CLOCK_MONOTONIC over 50 ms (the VM's clocksource is the TSC, so the rate is fixed). */
void lm_clock_init(void)
{
#if defined(__x86_64__) || defined(__i386__)
    uint64_t n0 = lm_now_ns(), t0 = lm_ticks();
    lm_sleep_ns(50000000);
    uint64_t n1 = lm_now_ns(), t1 = lm_ticks();
    g_ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
#endif
}

void lm_sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int lm_gettid(void)
{
    return (int)syscall(SYS_gettid);
}

/* Any thread of this process, by tid: the kernel's per-thread CPU clock id (MAKE_THREAD_CPUCLOCK). */
uint64_t lm_thread_cpu_ns(int tid)
{
    clockid_t id = (clockid_t)((~(unsigned)tid << 3) | 6u);
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0; /* the thread has exited */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

int lm_list_tids(int *out, int cap)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d)) && n < cap;)
        if (e->d_name[0] != '.')
            out[n++] = atoi(e->d_name);
    closedir(d);
    qsort(out, (size_t)n, sizeof(int), cmp_int);
    return n;
}

size_t lm_heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

/* ---- histogram: values < 128 exact, then 64 sub-buckets per power of two ------------------------ */

static unsigned bucket_of(uint64_t v)
{
    if (v < 128)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - 6u;
    unsigned idx = 128u + (msb - 7u) * 64u + (unsigned)((v >> shift) - 64u);
    return idx < LM_HIST_BUCKETS ? idx : LM_HIST_BUCKETS - 1;
}

static double bucket_mid(unsigned idx)
{
    if (idx < 128)
        return idx;
    unsigned msb = (idx - 128u) / 64u + 7u, sub = (idx - 128u) % 64u;
    double lo = (double)((64u + sub) * (UINT64_C(1) << (msb - 6u)));
    return lo + (double)(UINT64_C(1) << (msb - 6u)) / 2.0;
}

void lm_hist_add(lm_hist_t *h, uint64_t ns)
{
    h->b[bucket_of(ns)]++;
    h->count++;
    h->sum += ns;
    if (ns > h->max)
        h->max = ns;
}

void lm_hist_merge(lm_hist_t *into, const lm_hist_t *from)
{
    for (unsigned i = 0; i < LM_HIST_BUCKETS; i++)
        into->b[i] += from->b[i];
    into->count += from->count;
    into->sum += from->sum;
    if (from->max > into->max)
        into->max = from->max;
}

double lm_hist_pct(const lm_hist_t *h, double pct)
{
    if (!h->count)
        return -1;
    uint64_t rank = (uint64_t)((double)h->count * pct / 100.0);
    if (rank >= h->count)
        rank = h->count - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < LM_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen > rank)
            return bucket_mid(i);
    }
    return (double)h->max;
}

double lm_hist_mean(const lm_hist_t *h)
{
    return h->count ? (double)h->sum / (double)h->count : -1;
}

/* ---- start gate --------------------------------------------------------------------------------- */

void lm_gate_arrive(lm_gate_t *g)
{
    atomic_fetch_add(&g->ready, 1);
    while (!atomic_load_explicit(&g->go, memory_order_acquire))
        sched_yield();
}

void lm_gate_open(lm_gate_t *g, int expected)
{
    while (atomic_load(&g->ready) < expected)
        sched_yield();
    atomic_store_explicit(&g->go, 1, memory_order_release);
}

/*
 * Test-build entry points of the lock-based baseline (CMake DAP_LM_TEST_HOOKS=ON only).
 *
 * Included at the end of dap_link_manager_legacy.c (it needs the baseline's statics), never compiled on
 * its own. The shared C test helpers (c_tests/tests/lm_test.h) and the differential replayer
 * (c_tests/replay) drive and observe both implementations through the same names, so these have the
 * Rust library's contract (include/dap_link_manager.h) and return dap_lm_result_t codes:
 *
 *   dap_link_manager_test_clock_set / _clock_advance   virtual clock (seconds are what the baseline reads)
 *   dap_link_manager_test_auto_tick                    stop / restart the timer's ticks
 *   dap_link_manager_test_tick(phase, timeout)         one tick now, waited for
 *   dap_link_manager_sync(timeout)                     flush: everything queued before has been applied
 *   dap_link_manager_link_snapshot / dap_lm_link_snapshot_free   a copy of one link, read under the lock
 *
 * They add no lock and change no locking order: the clock and the tick switch are atomics, a flush is a
 * message at the lowest priority whose waiter has its own mutex (a leaf), a snapshot takes the links
 * read lock as every getter does. A production build of the baseline has none of this.
 */

#define LM_HOOKS_DEFAULT_TIMEOUT_MS 5000u /* as the Rust library's sync_timeout_ms default */

static atomic_bool s_hooks_virtual;
static _Atomic uint64_t s_hooks_clock_ns;
static atomic_bool s_hooks_auto_tick = true;

static bool hooks_now_secs(uint64_t *secs)
{
    if (!atomic_load(&s_hooks_virtual))
        return false;
    *secs = atomic_load(&s_hooks_clock_ns) / UINT64_C(1000000000);
    return true;
}

static bool hooks_auto_tick(void)
{
    return atomic_load(&s_hooks_auto_tick);
}

/* Each init starts on the real clock with automatic ticks, as each init of the Rust library does. */
static void hooks_reset(void)
{
    atomic_store(&s_hooks_virtual, false);
    atomic_store(&s_hooks_auto_tick, true);
}

LM_API int dap_link_manager_test_clock_set(uint64_t ns)
{
    if (!atomic_load(&s_up))
        return DAP_LM_ERR_NOT_INITIALIZED;
    atomic_store(&s_hooks_auto_tick, false);
    atomic_store(&s_hooks_clock_ns, ns);
    atomic_store(&s_hooks_virtual, true);
    return DAP_LM_OK;
}

LM_API int dap_link_manager_test_clock_advance(uint64_t ns)
{
    if (!atomic_load(&s_up))
        return DAP_LM_ERR_NOT_INITIALIZED;
    if (!atomic_load(&s_hooks_virtual)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        atomic_store(&s_hooks_auto_tick, false);
        atomic_store(&s_hooks_clock_ns, (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec);
        atomic_store(&s_hooks_virtual, true);
    }
    atomic_fetch_add(&s_hooks_clock_ns, ns);
    return DAP_LM_OK;
}

LM_API int dap_link_manager_test_auto_tick(bool on)
{
    if (!atomic_load(&s_up))
        return DAP_LM_ERR_NOT_INITIALIZED;
    atomic_store(&s_hooks_auto_tick, on);
    return DAP_LM_OK;
}

/* ---- flush ---- */

/* Shared by the waiting caller and the worker; the last of the two to let go frees it (a caller that
 * timed out must not leave the worker a dangling pointer). */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int rc;
    atomic_int refs;
} lm_hooks_waiter_t;

static void hooks_waiter_put(lm_hooks_waiter_t *w)
{
    if (atomic_fetch_sub(&w->refs, 1) == 1) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
    }
}

static void hooks_barrier_reached(void *waiter, int rc)
{
    lm_hooks_waiter_t *w = waiter;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    w->rc = rc;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    hooks_waiter_put(w);
}

/* Queue a barrier behind everything already queued and wait for the worker to reach it. */
static int hooks_flush(uint32_t timeout_ms)
{
    if (!atomic_load(&s_up))
        return DAP_LM_ERR_NOT_INITIALIZED;
    if (tl_worker)
        return DAP_LM_OK; /* from a callback: the caller is the worker, nothing can be waited for */
    lm_hooks_waiter_t *w = calloc(1, sizeof(*w));
    lm_msg_t *m = msg_new(MSG_BARRIER, 0, 0);
    if (!w || !m) {
        free(w);
        free(m);
        return DAP_LM_ERR_NO_MEMORY;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &a);
    pthread_condattr_destroy(&a);
    atomic_store(&w->refs, 2);
    m->waiter = w;
    if (q_push(m) != 0) { /* closed: deinit started (q_push freed m) */
        hooks_waiter_put(w);
        hooks_waiter_put(w);
        return atomic_load(&s_up) ? DAP_LM_ERR_SHUTTING_DOWN : DAP_LM_ERR_NOT_INITIALIZED;
    }
    uint32_t ms = timeout_ms ? timeout_ms : LM_HOOKS_DEFAULT_TIMEOUT_MS;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (!w->done && pthread_cond_timedwait(&w->cv, &w->mu, &deadline) == 0)
        ;
    int rc = w->done ? w->rc : DAP_LM_ERR_TIMEOUT;
    pthread_mutex_unlock(&w->mu);
    hooks_waiter_put(w);
    return rc;
}

LM_API int dap_link_manager_sync(uint32_t timeout_ms)
{
    return hooks_flush(timeout_ms);
}

LM_API int dap_link_manager_test_tick(int phase, uint32_t timeout_ms)
{
    if (!atomic_load(&s_up))
        return DAP_LM_ERR_NOT_INITIALIZED;
    if (phase < -1 || phase > 1)
        return DAP_LM_ERR_INVALID_ARGUMENT;
    if (tl_worker) { /* from a callback: run it in place, under the worker's lock */
        apply_tick(phase);
        return DAP_LM_OK;
    }
    lm_msg_t *m = msg_new(MSG_TICK, 0, 0);
    if (!m)
        return DAP_LM_ERR_NO_MEMORY;
    m->tick_phase = phase;
    if (q_push(m) != 0)
        return atomic_load(&s_up) ? DAP_LM_ERR_SHUTTING_DOWN : DAP_LM_ERR_NOT_INITIALIZED;
    return hooks_flush(timeout_ms);
}

/* ---- link snapshot ---- */

/* Copies of a link's sets; false when out of memory (count then 0). */
static bool hooks_copy_nets(const lm_set_t *s, uint64_t **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (!s->n)
        return true;
    if (!(*out = malloc(s->n * sizeof(**out))))
        return false;
    memcpy(*out, s->v, s->n * sizeof(**out));
    *count = s->n;
    return true;
}

static bool hooks_copy_clusters(const lm_set_t *s, dap_cluster_t ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (!s->n)
        return true;
    if (!(*out = malloc(s->n * sizeof(**out))))
        return false;
    for (uint32_t i = 0; i < s->n; i++)
        (*out)[i] = CL_PTR(s->v[i]);
    *count = s->n;
    return true;
}

LM_API void dap_lm_link_snapshot_free(struct dap_lm_link_snapshot *s)
{
    if (!s)
        return;
    free(s->nets);
    free(s->active_clusters);
    free(s->static_clusters);
    free(s);
}

LM_API int dap_link_manager_link_snapshot(dap_stream_node_addr_t *addr, struct dap_lm_link_snapshot **out)
{
    if (!addr || !addr->uint64 || !out)
        return DAP_LM_ERR_INVALID_ARGUMENT;
    int rc = DAP_LM_OK;
    struct dap_lm_link_snapshot *s = NULL;
    links_rd();
    lm_link_t *l = atomic_load(&s_up) ? link_find(addr->uint64) : NULL;
    if (!atomic_load(&s_up)) {
        rc = DAP_LM_ERR_NOT_INITIALIZED;
    } else if (!l) {
        rc = DAP_LM_ERR_NOT_FOUND;
    } else if (!(s = calloc(1, sizeof(*s)))) {
        rc = DAP_LM_ERR_NO_MEMORY;
    } else {
        s->addr = l->rec.addr;
        s->is_uplink = l->rec.is_uplink;
        s->state = l->rec.uplink.state;
        s->attempts_count = l->rec.uplink.attempts_count;
        s->has_client = l->rec.uplink.client != NULL;
        s->stream_is_destroyed = l->rec.stream_is_destroyed;
        s->start_after = l->rec.uplink.start_after;
        s->es_uuid = l->rec.uplink.es_uuid;
        s->snapshot_time_ns = now_secs() * UINT64_C(1000000000);
        if (!hooks_copy_nets(&l->nets, &s->nets, &s->nets_count) ||
            !hooks_copy_clusters(&l->active, &s->active_clusters, &s->active_clusters_count) ||
            !hooks_copy_clusters(&l->statics, &s->static_clusters, &s->static_clusters_count)) {
            dap_lm_link_snapshot_free(s);
            s = NULL;
            rc = DAP_LM_ERR_NO_MEMORY;
        }
    }
    links_unlock();
    if (rc == DAP_LM_OK)
        *out = s;
    return rc;
}

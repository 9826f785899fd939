/* Snapshots and statistics through the C ABI: link and nets snapshots match the state and stay valid
 * after the state changes (they are copies), every *_free accepts NULL; get_stats counters move as
 * the calls made (processed, per_type, sync/async counts, panics after test_inject_panic, which
 * returns INTERNAL while the manager keeps working); the JSON text parses and the Prometheus text
 * follows the exposition format, both with the expected keys; strerror covers every code. */
#include "lm_test_api.h" /* first: it sets _GNU_SOURCE */

#include <limits.h>

#define N1 UINT64_C(0x301)
#define N2 UINT64_C(0x302)
#define N9 UINT64_C(0x309) /* never managed */
#define A1 UINT64_C(0x0003000300030001)
#define A2 UINT64_C(0x0003000300030002)
#define A3 UINT64_C(0x0003000300030003)
#define A9 UINT64_C(0x0003000300030009)
#define AB UINT64_C(0x0004000000000000)

static dap_cluster_t *C1, *C2, *C3, *S;

/* ------------------------------------------------------------- a small JSON syntax checker */

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *json_value(const char *p, int depth);

static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p && *p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
        p++;
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *json_number(const char *p)
{
    const char *s = p;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return NULL;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return p > s ? p : NULL;
}

static const char *json_value(const char *p, int depth)
{
    if (depth > 64)
        return NULL;
    p = json_ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        bool obj = *p == '{';
        p = json_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (obj) {
                p = json_string(json_ws(p));
                if (!p)
                    return NULL;
                p = json_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            p = json_value(p, depth + 1);
            if (!p)
                return NULL;
            p = json_ws(p);
            if (*p == ',') {
                p++;
                continue;
            }
            return *p == close ? p + 1 : NULL;
        }
    }
    if (*p == '"')
        return json_string(p);
    if (!strncmp(p, "true", 4))
        return p + 4;
    if (!strncmp(p, "false", 5))
        return p + 5;
    if (!strncmp(p, "null", 4))
        return p + 4;
    return json_number(p);
}

static bool json_valid(const char *text)
{
    if (!text)
        return false;
    const char *end = json_value(text, 0);
    return end && *json_ws(end) == '\0';
}

/* The number right after `"key":` in a JSON text, or -1. */
static long long json_get_num(const char *text, const char *key)
{
    char pat[96];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(text, pat);
    return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* ------------------------------------------------------------- Prometheus text format */

static bool prom_name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

/* One sample line: name{label="value",...} number */
static bool prom_sample_ok(const char *l)
{
    const char *p = l;
    if (!prom_name_char(*p, true))
        return false;
    while (prom_name_char(*p, false))
        p++;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            if (!prom_name_char(*p, true))
                return false;
            while (prom_name_char(*p, false))
                p++;
            if (*p++ != '=' || *p++ != '"')
                return false;
            while (*p && *p != '"')
                p += *p == '\\' ? 2 : 1;
            if (*p++ != '"')
                return false;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return false;
        }
        p++;
    }
    if (*p++ != ' ')
        return false;
    char *end;
    strtod(p, &end);
    if (end == p)
        return false;
    if (*end == ' ') { /* optional integer timestamp */
        p = end + 1;
        strtoll(p, &end, 10);
        if (end == p)
            return false;
    }
    return *end == '\0';
}

static int prom_check(const char *text, int *samples)
{
    int bad = 0;
    *samples = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(l, "# HELP ", 7) || !strncmp(l, "# TYPE ", 7)) {
            if (!strncmp(l, "# TYPE ", 7)) {
                const char *kind = strrchr(l, ' ') + 1;
                if (strcmp(kind, "counter") && strcmp(kind, "gauge") && strcmp(kind, "summary") &&
                    strcmp(kind, "histogram") && strcmp(kind, "untyped")) {
                    fprintf(stderr, "bad TYPE line: %s\n", l);
                    bad++;
                }
            }
            continue;
        }
        (*samples)++;
        if (!prom_sample_ok(l)) {
            fprintf(stderr, "bad sample line: %s\n", l);
            bad++;
        }
    }
    free(copy);
    return bad;
}

/* The checkers themselves must be able to fail. */
static void test_checkers(void)
{
    CHECK(json_valid("{\"a\":[1,-2.5e3,\"x\\n\",true,null,{}],\"b\":{\"c\":false}}"));
    CHECK(!json_valid("{\"a\":}"));
    CHECK(!json_valid("{\"a\":1,}"));
    CHECK(!json_valid("[1 2]"));
    CHECK(!json_valid("{\"a\":1} x"));
    CHECK(!json_valid("{\"a\":01}"));
    int n;
    CHECK_INT(prom_check("# HELP x y\n# TYPE x counter\nx 1\nx{a=\"b\",c=\"d\"} 2.5\n", &n), 0);
    CHECK_INT(n, 2);
    CHECK_INT(prom_check("x{a=b} 1\n9x 1\nx 1 2 3x\nx\n# TYPE x thing\n", &n), 5);
}

/* ------------------------------------------------------------- not initialised */

static void not_initialized(const char *when)
{
    printf("-- snapshots and stats %s\n", when);
    dap_stream_node_addr_t a = lmt_addr(A1);
    struct dap_lm_link_snapshot *ls = (void *)1;
    struct dap_lm_nets_snapshot *ns = (void *)1;
    CHECK_RC(dap_link_manager_link_snapshot(&a, &ls), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK_RC(dap_link_manager_nets_snapshot(&ns), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK(ls == (void *)1 && ns == (void *)1);
    struct dap_lm_stats s;
    memset(&s, 0xAB, sizeof(s));
    CHECK_RC(dap_link_manager_get_stats(&s), DAP_LM_ERR_NOT_INITIALIZED);
    CHECK(s.messages_processed == UINT64_C(0xABABABABABABABAB)); /* untouched */
    CHECK_RC(dap_link_manager_get_stats(NULL), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK(dap_link_manager_stats_json() == NULL);
    CHECK(dap_link_manager_metrics_prometheus() == NULL);
    CHECK(dap_link_manager_get_links_info() == NULL);
    CHECK_RC(dap_link_manager_test_inject_panic(0), DAP_LM_ERR_NOT_INITIALIZED);
    dap_lm_link_snapshot_free(NULL);
    dap_lm_nets_snapshot_free(NULL);
    dap_lm_net_links_free(NULL);
}

/* ------------------------------------------------------------- strerror, op names */

static void test_strerror_op_names(void)
{
    printf("-- strerror for every code, op names\n");
    const int codes[] = {DAP_LM_OK,
                         DAP_LM_ERR_INVALID_ARGUMENT,
                         DAP_LM_ERR_NOT_INITIALIZED,
                         DAP_LM_ERR_SHUTTING_DOWN,
                         DAP_LM_ERR_TIMEOUT,
                         DAP_LM_ERR_QUEUE_FULL,
                         DAP_LM_ERR_INTERNAL,
                         DAP_LM_ERR_NOT_FOUND,
                         DAP_LM_ERR_EXISTS,
                         DAP_LM_ERR_OWN_ADDRESS,
                         DAP_LM_ERR_BAD_HOST,
                         DAP_LM_ERR_NO_MEMORY,
                         DAP_LM_ERR_INACTIVE};
    const int n = (int)(sizeof(codes) / sizeof(codes[0]));
    const char *unknown = dap_link_manager_strerror(-1);
    CHECK(unknown && *unknown);
    for (int i = 0; i < n; i++) {
        CHECK_INT(codes[i], i); /* never renumbered: 0..12 */
        const char *s = dap_link_manager_strerror(codes[i]);
        CHECKF(s && *s, "strerror(%d) is empty", codes[i]);
        if (!s)
            continue;
        CHECKF(strcmp(s, unknown) != 0, "strerror(%d) is the unknown-code text", codes[i]);
        for (int j = 0; j < i; j++) {
            const char *t = dap_link_manager_strerror(codes[j]);
            CHECKF(t && strcmp(s, t) != 0, "strerror(%d) == strerror(%d): \"%s\"", codes[i], codes[j], s);
        }
    }
    const int odd[] = {n, 13, 99, 1000, -7, INT_MIN, INT_MAX};
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        const char *s = dap_link_manager_strerror(odd[i]);
        CHECKF(s && strcmp(s, unknown) == 0, "strerror(%d) is not the unknown-code text", odd[i]);
    }
    for (int i = 0; i < DAP_LM_OP_KINDS; i++) {
        const char *s = dap_link_manager_op_name(i);
        CHECKF(s && *s, "op_name(%d) is NULL/empty", i);
        for (int j = 0; s && j < i; j++)
            CHECK(strcmp(s, dap_link_manager_op_name(j)) != 0);
    }
    CHECK(dap_link_manager_op_name(-1) == NULL);
    CHECK(dap_link_manager_op_name(DAP_LM_OP_KINDS) == NULL);
    const char *needed[] = {"stream_add", "stream_delete", "accounting", "link_create", "add_net", "panic", "tick"};
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
        CHECKF(lmt_op_index(needed[i]) >= 0, "no per_type counter named %s", needed[i]);
}

/* ------------------------------------------------------------- snapshots */

static void build_state(void)
{
    dap_stream_node_addr_t a1 = lmt_addr(A1), a2 = lmt_addr(A2);
    CHECK_RC(dap_link_manager_add_net_sync(N1, C1, 3, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_add_net_associate_sync(N1, C2, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_set_net_condition_sync(N1, true, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_add_net_sync(N2, C3, 1, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_link_create_sync(&a1, N1, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_stream_add_sync(&a2, false, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_accounting_link_in_net_sync(N1, &a2, true, 0), DAP_LM_OK);
    S->status = DAP_CLUSTER_STATUS_ENABLED;
    CHECK(sdk_cluster_add_member(S, A3)); /* the static cluster's add callback, on this thread */
    CHECK_RC(dap_link_manager_sync(0), DAP_LM_OK);
}

static void test_snapshots(void)
{
    printf("-- link and nets snapshots\n");
    dap_stream_node_addr_t a1 = lmt_addr(A1), a2 = lmt_addr(A2), a3 = lmt_addr(A3), a9 = lmt_addr(A9),
                           zero = lmt_addr(0);
    struct dap_lm_link_snapshot *ls = NULL;

    CHECK_RC(dap_link_manager_link_snapshot(&a1, &ls), DAP_LM_OK);
    if (ls) {
        CHECK(ls->addr.uint64 == A1);
        CHECK(ls->has_client && !ls->is_uplink && !ls->stream_is_destroyed);
        CHECK_INT(ls->state, LINK_STATE_DISCONNECTED);
        CHECK_INT(ls->attempts_count, 0);
        CHECK_INT(ls->nets_count, 1);
        CHECK(ls->nets_count == 1 && ls->nets[0] == N1);
        CHECK_INT(ls->active_clusters_count, 0);
        CHECK(ls->active_clusters == NULL);
        CHECK_INT(ls->static_clusters_count, 0);
        CHECK(ls->snapshot_time_ns > 0);
    }
    dap_lm_link_snapshot_free(ls);
    ls = NULL;
    CHECK_RC(dap_link_manager_link_snapshot(&a2, &ls), DAP_LM_OK);
    if (ls) {
        CHECK(!ls->has_client && !ls->is_uplink);
        CHECK_INT(ls->nets_count, 0);
        CHECK_INT(ls->active_clusters_count, 1);
        CHECK(ls->active_clusters_count == 1 && ls->active_clusters[0] == C1);
    }
    dap_lm_link_snapshot_free(ls);
    ls = NULL;
    CHECK_RC(dap_link_manager_link_snapshot(&a3, &ls), DAP_LM_OK);
    if (ls) {
        CHECK(ls->has_client);
        CHECK_INT(ls->nets_count, 0);
        CHECK_INT(ls->static_clusters_count, 1);
        CHECK(ls->static_clusters_count == 1 && ls->static_clusters[0] == S);
    }
    dap_lm_link_snapshot_free(ls);

    ls = (void *)1;
    CHECK_RC(dap_link_manager_link_snapshot(&a9, &ls), DAP_LM_ERR_NOT_FOUND);
    CHECK_RC(dap_link_manager_link_snapshot(NULL, &ls), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_snapshot(&zero, &ls), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_snapshot(&a1, NULL), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK(ls == (void *)1);
    CHECK_RC(dap_link_manager_nets_snapshot(NULL), DAP_LM_ERR_INVALID_ARGUMENT);

    struct dap_lm_nets_snapshot *ns = NULL;
    CHECK_RC(dap_link_manager_nets_snapshot(&ns), DAP_LM_OK);
    CHECK(ns != NULL);
    if (!ns)
        return;
    CHECK_INT(ns->count, 2);
    const struct dap_lm_net_info *n1 = NULL, *n2 = NULL;
    for (size_t i = 0; i < ns->count; i++) {
        if (ns->nets[i].net_id == N1)
            n1 = &ns->nets[i];
        if (ns->nets[i].net_id == N2)
            n2 = &ns->nets[i];
    }
    CHECK(n1 && n2);
    if (n1) {
        CHECK(n1->active);
        CHECK_INT(n1->min_links, 3);
        CHECK_INT(n1->links_count, 1);
        CHECK_INT(n1->links_count, dap_link_manager_links_count(N1));
        CHECK_INT(n1->needed_links, dap_link_manager_needed_links_count(N1));
        CHECK_INT(n1->established_uplinks, 0);
        CHECK_INT(n1->clusters_count, 2);
        CHECK(n1->clusters_count == 2 && n1->clusters[0] == C1 && n1->clusters[1] == C2);
    }
    if (n2) {
        CHECK(!n2->active);
        CHECK_INT(n2->min_links, 1);
        CHECK_INT(n2->clusters_count, 1);
        CHECK(n2->clusters_count == 1 && n2->clusters[0] == C3);
    }
    /* a copy: still readable after the net is gone, and a newer snapshot is newer */
    uint64_t t1 = ns->snapshot_time_ns;
    CHECK_RC(dap_link_manager_remove_net_sync(N2, 0), DAP_LM_OK);
    struct dap_lm_nets_snapshot *ns2 = NULL;
    CHECK_RC(dap_link_manager_nets_snapshot(&ns2), DAP_LM_OK);
    if (ns2) {
        CHECK_INT(ns2->count, 1);
        CHECK(ns2->snapshot_time_ns >= t1);
    }
    if (n2)
        CHECK(n2->net_id == N2 && n2->clusters[0] == C3);
    dap_lm_nets_snapshot_free(ns2);
    dap_lm_nets_snapshot_free(ns);

    /* the links-info JSON of the same state */
    char *info = dap_link_manager_get_links_info();
    CHECK(json_valid(info));
    if (info) {
        char s1[SDK_ADDR_STRLEN], s2[SDK_ADDR_STRLEN];
        CHECKF(strstr(info, sdk_addr_str(A1, s1)) && strstr(info, sdk_addr_str(A2, s2)),
               "links info lacks the addresses: %.300s", info);
    }
    free(info);
}

/* ------------------------------------------------------------- stats */

static void test_stats(void)
{
    printf("-- stats counters, panics, JSON, Prometheus\n");
    int i_add = lmt_op_index("stream_add"), i_del = lmt_op_index("stream_delete"), i_acc = lmt_op_index("accounting"),
        i_panic = lmt_op_index("panic");
    struct dap_lm_stats s0 = lmt_stats();
    CHECK_INT(s0.queue_capacity[2], 777);
    CHECK_INT(s0.queue_capacity[3], 55);
    CHECK_INT(s0.queue_capacity[0], 0);
    CHECK_INT(s0.nets, 1);
    CHECK_INT(s0.links, 3);
    CHECK_INT(s0.rejected, 0);
    CHECK_INT(s0.panics, 0);
    CHECK(s0.passes > 0 && s0.max_batch >= 1);

    /* 50 facts (original, queued) */
    for (uint64_t i = 1; i <= 25; i++) {
        dap_stream_node_addr_t a = lmt_addr(AB + i);
        CHECK_INT(dap_link_manager_stream_add(&a, false), 0);
        dap_link_manager_stream_delete(&a);
    }
    CHECK_RC(dap_link_manager_sync(0), DAP_LM_OK);
    struct dap_lm_stats s1 = lmt_stats();
    CHECK_INT(s1.per_type[i_add] - s0.per_type[i_add], 25);
    CHECK_INT(s1.per_type[i_del] - s0.per_type[i_del], 25);
    CHECK(s1.messages_processed - s0.messages_processed >= 50);
    CHECK_INT(s1.sync_calls - s0.sync_calls, 1);
    CHECK_INT(s1.links, 3); /* the 25 downlinks came and went */
    CHECK(s1.proc_p50_ns <= s1.proc_p99_ns);
    CHECK(s1.wait_p50_ns <= s1.wait_p99_ns);
    CHECK(s1.memory_bytes > 0);
    uint64_t sum = 0;
    for (int i = 0; i < DAP_LM_OP_KINDS; i++)
        sum += s1.per_type[i];
    CHECKF(sum <= s1.messages_processed, "per_type sum %llu > processed %llu", (unsigned long long)sum,
           (unsigned long long)s1.messages_processed);

    /* 6 _sync, 4 _async (accepted), 2 _async refused at submission */
    dap_stream_node_addr_t a1 = lmt_addr(A1), a2 = lmt_addr(A2);
    size_t n;
    bool b;
    CHECK_RC(dap_link_manager_links_count_sync(N1, &n, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_link_find_sync(&a1, N1, &b, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_accounting_link_in_net_sync(N1, &a2, true, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_set_net_condition_sync(N1, true, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_get_condition_sync(&b, 0), DAP_LM_OK);
    CHECK_RC(dap_link_manager_sync(0), DAP_LM_OK);
    lmt_done_t d[6];
    memset(d, 0, sizeof(d));
    CHECK_RC(dap_link_manager_accounting_link_in_net_async(N1, &a2, true, lmt_done_cb, &d[0]), DAP_LM_OK);
    CHECK_RC(dap_link_manager_set_net_condition_async(N1, true, lmt_done_cb, &d[1]), DAP_LM_OK);
    CHECK_RC(dap_link_manager_link_create_async(&a1, N1, lmt_done_cb, &d[2]), DAP_LM_OK);
    CHECK_RC(dap_link_manager_stream_replace_async(&a2, false, lmt_done_cb, &d[3]), DAP_LM_OK);
    CHECK_RC(dap_link_manager_link_create_async(NULL, N1, lmt_done_cb, &d[4]), DAP_LM_ERR_INVALID_ARGUMENT);
    CHECK_RC(dap_link_manager_link_update_async(&a1, "127.0.0.1", 1, lmt_done_cb, &d[5]), DAP_LM_ERR_BAD_HOST);
    for (int i = 0; i < 6; i++)
        CHECK(LMT_WAIT_UNTIL(atomic_load(&d[i].calls) == 1, 3000));
    struct dap_lm_stats s2 = lmt_stats();
    CHECK_INT(s2.sync_calls - s1.sync_calls, 6);
    CHECK_INT(s2.async_calls - s1.async_calls, 4);
    CHECK_INT(s2.per_type[i_acc] - s1.per_type[i_acc], 2);
    CHECK_INT(s2.timeouts, 0);
    CHECK_INT(s2.rejected, 0);

    /* panics: each fails one request, the manager goes on */
    size_t log0 = sdk_log_count("panic");
    for (int i = 0; i < 5; i++) {
        CHECK_RC(dap_link_manager_test_inject_panic(0), DAP_LM_ERR_INTERNAL);
        dap_stream_node_addr_t a = lmt_addr(AB + 100 + (uint64_t)i);
        CHECK_RC(dap_link_manager_link_create_sync(&a, N1, 0), DAP_LM_OK);
        CHECK(dap_link_manager_link_find(&a, N1));
    }
    struct dap_lm_stats s3 = lmt_stats();
    CHECK_INT(s3.panics - s2.panics, 5);
    CHECK_INT(s3.per_type[i_panic] - s2.per_type[i_panic], 5);
    CHECK(sdk_log_count("panic") >= log0 + 5);
    CHECK_INT(s3.links, 8);
    CHECK_INT(dap_link_manager_links_count(N1), 1);

    /* JSON */
    char *json = dap_link_manager_stats_json();
    CHECK(json != NULL);
    CHECKF(json_valid(json), "stats JSON does not parse: %.400s", json ? json : "(null)");
    if (json) {
        const char *keys[] = {"\"messages_processed\"", "\"queue_depth\"", "\"queue_capacity\"", "\"queue_rejected\"",
                              "\"sync_calls\"",         "\"async_calls\"", "\"timeouts\"",       "\"rejected\"",
                              "\"panics\"",             "\"per_type\"",    "\"stream_add\"",     "\"memory_bytes\""};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            CHECKF(strstr(json, keys[i]), "stats JSON lacks %s", keys[i]);
        CHECK_INT(json_get_num(json, "panics"), 5);
        CHECK_INT(json_get_num(json, "links"), 8);
        CHECK_INT(json_get_num(json, "nets"), 1);
        CHECK_INT(json_get_num(json, "stream_add"), s3.per_type[i_add]);
        CHECK(strstr(json, "\"queue_capacity\":[0,0,777,55]") != NULL);
    }
    free(json);

    /* Prometheus */
    char *prom = dap_link_manager_metrics_prometheus();
    CHECK(prom != NULL);
    if (prom) {
        int samples = 0;
        CHECK_INT(prom_check(prom, &samples), 0);
        CHECK(samples >= 20);
        const char *lines[] = {"# TYPE dap_link_manager_messages_processed_total counter",
                               "dap_link_manager_queue_capacity{priority=\"normal\"} 777",
                               "dap_link_manager_queue_capacity{priority=\"low\"} 55",
                               "dap_link_manager_panics_total 5",
                               "dap_link_manager_links 8",
                               "dap_link_manager_nets 1",
                               "dap_link_manager_ops_total{op=\"panic\"} 5",
                               "dap_link_manager_rejected_total 0"};
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
            CHECKF(strstr(prom, lines[i]), "Prometheus text lacks \"%s\"", lines[i]);
        CHECK(prom[strlen(prom) - 1] == '\n');
    }
    free(prom);
}

int main(void)
{
    lmt_watchdog_arm(20, "before init");
    C1 = lmt_net_cluster("c1");
    C2 = lmt_net_cluster("c2");
    C3 = lmt_net_cluster("c3");
    S = lmt_static_cluster("static");
    not_initialized("before init");
    test_checkers();
    test_strerror_op_names();

    const char *const cfg[] = {"queue_capacity_normal", "777", "queue_capacity_low", "55", NULL};
    CHECK_INT(lmt_start(cfg), 0);
    lmt_watchdog_arm(30, "snapshots");
    build_state();
    test_snapshots();
    lmt_watchdog_arm(30, "stats");
    test_stats();
    lmt_watchdog_arm(20, "deinit");
    dap_link_manager_deinit();
    not_initialized("after deinit");
    sdk_quiesce();
    CHECK_INT(sdk_clients_live(), 0);
    sdk_cluster_free(S);
    sdk_cluster_free(C1);
    sdk_cluster_free(C2);
    sdk_cluster_free(C3);
    return lmt_finish("test_snapshots_stats");
}

/* lm_diff: run traces on the Rust library and on the lock-based baseline, loaded side by side in this
 * process, and compare what each did (replay.h). Differences are failures unless a FIX rule the trace
 * allows explains them (fix_rules.h, `# expect-diff FIX-NAME`).
 *
 *   lm_diff [--rust SO] [--legacy SO] [-v] <trace>...          hand-written or recorded traces
 *   lm_diff [--rust SO] [--legacy SO] --random N [--seed S] [--events M] [--budget SECONDS] [--keep DIR]
 *   lm_diff [--rust SO] [--legacy SO] --minimize <trace>     the smallest trace that still differs
 *   lm_diff --self-test                                       the comparator and FIX rules on made-up outputs
 *
 * The libraries default to the paths of this build (LM_RUST_SO, LM_LEGACY_SO, or the environment
 * variables of the same names). --random generates N traces with seeds S..S+N-1 (lm_tracegen); a trace
 * that fails is written to DIR (default: the current directory) as lm_diff_seed<S>.trace. Exit status:
 * 0 every trace matched (modulo allowed FIX differences), 1 a difference, 2 usage/load/trace error. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fix_rules.h"
#include "lm_lib.h"
#include "replay.h"
#include "trace.h"
#include "tracegen.h"

#ifndef LM_RUST_SO
#define LM_RUST_SO "libdap_link_manager.so"
#endif
#ifndef LM_LEGACY_SO
#define LM_LEGACY_SO "libdap_link_manager_legacy.so"
#endif

static bool g_verbose;
static bool g_quiet; /* --minimize: the comparisons of the candidates print nothing */

typedef struct {
    size_t head; /* index of the "@..." line */
    size_t from, to;
} lm_block_t;

static size_t split_blocks(const lm_lines_t *l, lm_block_t *b, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i][0] != '@')
            continue;
        if (n && n <= max)
            b[n - 1].to = i;
        if (n < max)
            b[n] = (lm_block_t){i, i + 1, l->n};
        n++;
    }
    return n;
}

/* The event text of a block header "@<line> <text>" ("exit" for the final block). */
static const char *event_text(const char *head)
{
    const char *sp = strchr(head, ' ');
    return sp ? sp + 1 : head + 1;
}

/* The detail line without its indent. */
static const char *detail(const char *line)
{
    while (*line == ' ')
        line++;
    return line;
}

typedef struct {
    size_t unexplained; /* differing lines no allowed rule explains */
    unsigned used;      /* rules that explained something */
    size_t explained;   /* lines they explained */
    size_t events_differing;
} lm_cmp_t;

#define say(...) (g_quiet ? 0 : printf(__VA_ARGS__))

static void report_line(const char *who, const char *line, int rule)
{
    if (rule >= 0)
        say("    %-7s %s   [allowed: %s]\n", who, detail(line), lm_fix_rules[rule].name);
    else
        say("    %-7s %s\n", who, detail(line));
}

/* Lines of a[fa..ta) with no equal, unused counterpart in b[fb..tb): marked in only_a. */
static void multiset_diff(const lm_lines_t *a, size_t fa, size_t ta, const lm_lines_t *b, size_t fb, size_t tb,
                          bool *only_a, bool *only_b)
{
    for (size_t i = fb; i < tb; i++)
        only_b[i - fb] = true;
    for (size_t i = fa; i < ta; i++) {
        only_a[i - fa] = true;
        for (size_t j = fb; j < tb; j++)
            if (only_b[j - fb] && !strcmp(a->v[i], b->v[j])) {
                only_b[j - fb] = false;
                only_a[i - fa] = false;
                break;
            }
    }
}

static lm_cmp_t compare(const char *name, const lm_trace_t *t, const lm_lines_t *ra, const lm_lines_t *rb)
{
    lm_cmp_t r = {0};
    size_t nb = t->n + 1;
    lm_block_t *ba = calloc(nb + 1, sizeof(*ba)), *bb = calloc(nb + 1, sizeof(*bb));
    size_t na = split_blocks(ra, ba, nb + 1), nbb = split_blocks(rb, bb, nb + 1);
    if (na != nb || nbb != nb) {
        say("lm_diff: %s: the runs did not cover the trace (rust %zu blocks, legacy %zu, want %zu)\n", name, na, nbb,
            nb);
        r.unexplained = 1;
        free(ba);
        free(bb);
        return r;
    }
    unsigned mask = t->expect_diff_all;
    for (size_t k = 0; k < nb; k++) {
        if (k < t->n)
            mask |= t->ev[k].expect_diff;
        const lm_block_t *x = &ba[k], *y = &bb[k];
        const char *hx = ra->v[x->head], *hy = rb->v[y->head];
        if (strcmp(hx, hy)) {
            say("lm_diff: %s: block %zu headers differ: '%s' / '%s'\n", name, k, hx, hy);
            r.unexplained++;
            break;
        }
        size_t lx = x->to - x->from, ly = y->to - y->from;
        bool same = lx == ly;
        for (size_t i = 0; same && i < lx; i++)
            same = !strcmp(ra->v[x->from + i], rb->v[y->from + i]);
        if (same)
            continue;
        r.events_differing++;
        bool *ox = calloc(lx + 1, 1), *oy = calloc(ly + 1, 1);
        multiset_diff(ra, x->from, x->to, rb, y->from, y->to, ox, oy);
        const char *ev = event_text(hx);
        size_t before = r.unexplained;
        int rules_x[1024], rules_y[1024];
        for (int side = 0; side < 2; side++) {
            size_t n = side ? ly : lx;
            const bool *only = side ? oy : ox;
            const lm_lines_t *l = side ? rb : ra;
            size_t from = side ? y->from : x->from;
            int *rules = side ? rules_y : rules_x;
            for (size_t i = 0; i < n && i < 1024; i++) {
                rules[i] = -1;
                if (!only[i])
                    continue;
                if (lm_fix_explains(mask, ev, detail(l->v[from + i]), &rules[i])) {
                    r.used |= 1u << rules[i];
                    r.explained++;
                } else {
                    r.unexplained++;
                }
            }
        }
        bool order_only = r.unexplained == before && !memchr(ox, 1, lx) && !memchr(oy, 1, ly);
        if (order_only)
            r.unexplained++; /* same lines, another order: a difference no rule names */
        if (r.unexplained > before || g_verbose) {
            say("lm_diff: %s:%s%s\n", name, hx + 1, order_only ? "   (same lines, different order)" : "");
            if (order_only) {
                for (size_t i = 0; i < lx; i++)
                    report_line("rust", ra->v[x->from + i], -1);
                for (size_t i = 0; i < ly; i++)
                    report_line("legacy", rb->v[y->from + i], -1);
            } else {
                for (size_t i = 0; i < lx && i < 1024; i++)
                    if (ox[i])
                        report_line("rust", ra->v[x->from + i], rules_x[i]);
                for (size_t i = 0; i < ly && i < 1024; i++)
                    if (oy[i])
                        report_line("legacy", rb->v[y->from + i], rules_y[i]);
            }
        }
        free(ox);
        free(oy);
    }
    free(ba);
    free(bb);
    return r;
}

/* Run one parsed trace on both libraries and compare; true when no unexplained difference. */
static bool diff_trace(const char *name, const lm_trace_t *t, const lm_lib_t *rust, const lm_lib_t *legacy,
                       bool quiet_ok)
{
    char err[512];
    lm_lines_t ra = {0}, rb = {0};
    if (!lm_replay_run(rust, t, &ra, err, sizeof(err)) || !lm_replay_run(legacy, t, &rb, err, sizeof(err))) {
        say("lm_diff: %s: %s\n", name, err);
        lm_lines_free(&ra);
        lm_lines_free(&rb);
        return false;
    }
    lm_cmp_t c = compare(name, t, &ra, &rb);
    bool ok = c.unexplained == 0;
    unsigned allowed = t->expect_diff_all;
    for (size_t i = 0; i < t->n; i++)
        allowed |= t->ev[i].expect_diff;
    if (!ok || !quiet_ok || c.used) {
        say("lm_diff: %s: %zu events, %s", name, t->n,
            ok ? (c.events_differing ? "differences all explained" : "identical") : "DIFFERENT");
        if (!ok)
            say(" (%zu unexplained line(s))", c.unexplained);
        for (int i = 0; i < lm_fix_rule_count; i++)
            if (c.used & (1u << i))
                say("; %s explains %s", lm_fix_rules[i].name, lm_fix_rules[i].allows);
        say("\n");
        for (int i = 0; i < lm_fix_rule_count; i++)
            if ((allowed & (1u << i)) && !(c.used & (1u << i)))
                say("lm_diff: %s: note: %s allowed but not observed (the baseline implements it too)\n", name,
                    lm_fix_rules[i].name);
    }
    lm_lines_free(&ra);
    lm_lines_free(&rb);
    return ok;
}

/* --minimize: drop events (one line, or a whole burst) while the trace still shows an unexplained
 * difference; print the smallest trace found. Greedy, from the end, until a pass removes nothing. */
static bool still_differs(const char *text, const lm_lib_t *rust, const lm_lib_t *legacy)
{
    char err[512];
    lm_trace_t t;
    if (!lm_trace_parse(text, &t, err, sizeof(err)))
        return false;
    g_quiet = true;
    bool differs = !diff_trace("candidate", &t, rust, legacy, true);
    g_quiet = false;
    lm_trace_free(&t);
    return differs;
}

static int minimize(const char *path, const lm_lib_t *rust, const lm_lib_t *legacy)
{
    char *text = lm_read_file(path);
    if (!text) {
        fprintf(stderr, "lm_diff: %s: %s\n", path, strerror(errno));
        return 2;
    }
    if (!still_differs(text, rust, legacy)) {
        fprintf(stderr, "lm_diff: %s shows no unexplained difference: nothing to minimize\n", path);
        free(text);
        return 0;
    }
    size_t n = 0, cap = 0;
    char **lines = NULL;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            lines = realloc(lines, cap * sizeof(*lines));
        }
        lines[n++] = l;
    }
    bool *keep = malloc(n), *saved = malloc(n);
    memset(keep, 1, n);
    size_t buf_len = 0;
    for (size_t i = 0; i < n; i++)
        buf_len += strlen(lines[i]) + 1;
    char *cand = malloc(buf_len + 1);
    for (bool removed = true; removed;) {
        removed = false;
        for (size_t i = n; i-- > 0;) {
            if (!keep[i] || lines[i][0] == '#' || !strncmp(lines[i], "end", 3))
                continue;
            size_t last = i; /* a burst goes as a whole, up to its end */
            if (!strncmp(lines[i], "burst", 5))
                while (last + 1 < n && strncmp(lines[last], "end", 3))
                    last++;
            memcpy(saved, keep, n);
            for (size_t k = i; k <= last; k++)
                keep[k] = false;
            size_t m = 0;
            for (size_t k = 0; k < n; k++)
                if (keep[k])
                    m += (size_t)sprintf(cand + m, "%s\n", lines[k]);
            cand[m] = '\0';
            if (still_differs(cand, rust, legacy))
                removed = true;
            else
                memcpy(keep, saved, n);
        }
    }
    printf("# minimized by lm_diff --minimize %s\n", path);
    for (size_t k = 0; k < n; k++)
        if (keep[k])
            printf("%s\n", lines[k]);
    free(cand);
    free(keep);
    free(saved);
    free(lines);
    free(text);
    return 1;
}

/* --self-test: the comparator on made-up outputs, so a rule that explains too much or too little shows
 * up without a library that differs. */
static int self_test(void)
{
    static const struct {
        const char *trace;         /* parsed for its events and expect-diff comments */
        const char *rust, *legacy; /* detail lines of the last event, '|' separated */
        size_t unexplained;
    } k_cases[] = {
        {"channel_add X\n", "rc 0", "rc -1", 2},
        {"# expect-diff FIX-CHANNELS-GLOBAL\nchannel_add X\n", "rc 0", "rc -1", 0},
        {"# expect-diff FIX-CHANNELS-GLOBAL\nstream_add 0x5 down\n", "rc 0", "rc -1", 2},
        {"# expect-diff FIX-BEFORE-INIT\nstream_add 0x5 down\n", "rc -1", "rc 0", 0},
        {"stream_delete 0x5 # expect-diff FIX-GHOST-DOWNLINK\nquery link 0x5\n", "= none", "= up=0", 0},
        {"query link 0x5 # expect-diff FIX-GHOST-DOWNLINK\n", "= none|sdk go_stage c1 0 -", "= up=0", 1},
        {"# expect-diff FIX-ORDER\nburst\nstream_add 0x5 down\nend\n", "cb link_count_changed", "", 0},
        {"tick wakeup\n", "cb connected 0x5 0x1|sdk x", "sdk x|cb connected 0x5 0x1", 1}, /* order only */
        {"tick wakeup\n", "sdk a|sdk b", "sdk a|sdk b", 0},
        {"# expect-diff FIX-LOOPBACK\nlink_update 0x5 127.0.0.1 1\n", "rc -6", "rc 0|sdk set_uplink c1 x", 0},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof(k_cases) / sizeof(k_cases[0]); i++) {
        char err[256];
        lm_trace_t t;
        if (!lm_trace_parse(k_cases[i].trace, &t, err, sizeof(err))) {
            printf("lm_diff self-test %zu: trace does not parse: %s\n", i, err);
            bad++;
            continue;
        }
        lm_lines_t out[2] = {{0}, {0}};
        for (int side = 0; side < 2; side++) {
            for (size_t e = 0; e < t.n; e++) {
                lm_lines_add(&out[side], "@%d %s", t.ev[e].line, t.ev[e].text);
                if (e + 1 < t.n)
                    continue;
                char buf[256];
                snprintf(buf, sizeof(buf), "%s", side ? k_cases[i].legacy : k_cases[i].rust);
                for (char *save = NULL, *l = strtok_r(buf, "|", &save); l; l = strtok_r(NULL, "|", &save))
                    lm_lines_add(&out[side], "  %s", l);
            }
            lm_lines_add(&out[side], "@exit");
        }
        g_quiet = true;
        lm_cmp_t c = compare("self-test", &t, &out[0], &out[1]);
        g_quiet = false;
        if (c.unexplained != k_cases[i].unexplained) {
            printf("lm_diff self-test %zu: %zu unexplained line(s), want %zu\n", i, c.unexplained,
                   k_cases[i].unexplained);
            bad++;
        }
        lm_lines_free(&out[0]);
        lm_lines_free(&out[1]);
        lm_trace_free(&t);
    }
    printf("lm_diff self-test: %s\n", bad ? "FAILED" : "ok");
    return bad ? 1 : 0;
}

static const char *lib_path(const char *opt, const char *env, const char *dflt)
{
    if (opt)
        return opt;
    const char *e = getenv(env);
    return e && *e ? e : dflt;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *rust_opt = NULL, *legacy_opt = NULL, *keep = ".", *minimize_path = NULL;
    long random_n = -1;
    uint64_t seed = 1;
    int events = 120;
    double budget = 0;
    int first_trace = argc;
    if (argc == 2 && !strcmp(argv[1], "--self-test"))
        return self_test();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--rust") && has)
            rust_opt = argv[++i];
        else if (!strcmp(a, "--legacy") && has)
            legacy_opt = argv[++i];
        else if (!strcmp(a, "--random") && has)
            random_n = strtol(argv[++i], NULL, 0);
        else if (!strcmp(a, "--seed") && has)
            seed = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(a, "--events") && has)
            events = atoi(argv[++i]);
        else if (!strcmp(a, "--budget") && has)
            budget = atof(argv[++i]);
        else if (!strcmp(a, "--keep") && has)
            keep = argv[++i];
        else if (!strcmp(a, "--minimize") && has)
            minimize_path = argv[++i];
        else if (!strcmp(a, "-v"))
            g_verbose = true;
        else if (a[0] == '-') {
            fprintf(stderr, "lm_diff: unknown option %s (see the comment at the top of lm_diff.c)\n", a);
            return 2;
        } else {
            first_trace = i;
            break;
        }
    }
    if (random_n < 0 && first_trace == argc && !minimize_path) {
        fprintf(stderr, "usage: lm_diff [--rust SO] [--legacy SO] [-v] <trace>...\n"
                        "       lm_diff [--rust SO] [--legacy SO] --random N [--seed S] [--events M] [--budget SEC]\n");
        return 2;
    }
    char err[512];
    lm_lib_t rust, legacy;
    if (!lm_lib_load(&rust, lib_path(rust_opt, "LM_RUST_SO", LM_RUST_SO), err, sizeof(err)) ||
        !lm_lib_load(&legacy, lib_path(legacy_opt, "LM_LEGACY_SO", LM_LEGACY_SO), err, sizeof(err))) {
        fprintf(stderr, "lm_diff: %s\n", err);
        return 2;
    }
    if (minimize_path)
        return minimize(minimize_path, &rust, &legacy);
    int failures = 0, errors = 0;
    double t0 = now_s();
    for (int i = first_trace; i < argc; i++) {
        char *text = lm_read_file(argv[i]);
        lm_trace_t t;
        if (!text) {
            fprintf(stderr, "lm_diff: %s: %s\n", argv[i], strerror(errno));
            errors++;
            continue;
        }
        bool parsed = lm_trace_parse(text, &t, err, sizeof(err));
        free(text);
        if (!parsed) {
            fprintf(stderr, "lm_diff: %s: %s\n", argv[i], err);
            errors++;
            continue;
        }
        const char *slash = strrchr(argv[i], '/');
        failures += !diff_trace(slash ? slash + 1 : argv[i], &t, &rust, &legacy, false);
        lm_trace_free(&t);
    }
    long ran = 0;
    for (long k = 0; k < random_n; k++, ran++) {
        if (budget > 0 && now_s() - t0 > budget) {
            printf("lm_diff: time budget of %.0f s reached after %ld random traces\n", budget, ran);
            break;
        }
        uint64_t s = seed + (uint64_t)k;
        char *text = lm_tracegen(s, events);
        char name[64];
        snprintf(name, sizeof(name), "seed%" PRIu64, s);
        lm_trace_t t;
        if (!lm_trace_parse(text, &t, err, sizeof(err))) {
            fprintf(stderr, "lm_diff: generated trace %s does not parse: %s\n", name, err);
            free(text);
            errors++;
            break;
        }
        if (!diff_trace(name, &t, &rust, &legacy, true)) {
            failures++;
            char path[1024];
            snprintf(path, sizeof(path), "%s/lm_diff_seed%" PRIu64 ".trace", keep, s);
            FILE *f = fopen(path, "w");
            if (f) {
                fputs(text, f);
                fclose(f);
                printf("lm_diff: %s written to %s (lm_replay <lib> %s reproduces it)\n", name, path, path);
            }
        }
        lm_trace_free(&t);
        free(text);
    }
    if (random_n >= 0)
        printf("lm_diff: %ld random traces of %d events (seeds %" PRIu64 "..), %d with unexplained differences, "
               "%.1f s\n",
               ran, events, seed, failures, now_s() - t0);
    if (errors)
        return 2;
    return failures ? 1 : 0;
}

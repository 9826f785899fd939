/* lm_bench: options, the alternating driver, and the report (text, JSON, CSV).
 *
 *   lm_bench [--quick] [--workload W1,W3] [--threads 1,2,4,8] [--reps N] [--only rust|legacy]
 *            [--json out.json] [--csv out.csv]
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lm_bench.h"

lm_opts_t g_opts = {.reps = 5, .threads = {1, 2, 4, 8}, .n_threads = 4, .workloads = 0x3F, .only_impl = -1};

/* ---- results ------------------------------------------------------------------------------------ */

#define MAX_SAMPLES 8192
#define MAX_NOTES   64

typedef struct {
    const char *workload;
    int param;
    char metric[64];
    const char *unit;
    int better, impl;
    double value, p50, p99;
    double samples; /* latency samples behind p50/p99, -1 when not counted */
} sample_t;

static sample_t s_samples[MAX_SAMPLES];
static int s_n_samples;
static char *s_notes[MAX_NOTES];
static const char *s_note_wl[MAX_NOTES];
static int s_n_notes;

void lm_record(const char *workload, int param, const char *metric, const char *unit, int better, int impl,
               double value, double p50, double p99)
{
    if (s_n_samples == MAX_SAMPLES)
        return;
    sample_t *s = &s_samples[s_n_samples++];
    s->workload = workload;
    s->param = param;
    snprintf(s->metric, sizeof(s->metric), "%s", metric);
    s->unit = unit;
    s->better = better;
    s->impl = impl;
    s->value = value;
    s->p50 = p50;
    s->p99 = p99;
    s->samples = -1;
    fprintf(stderr, "    %-6s %s %-8d %-48s %14.1f %s", g_impl_names[impl], workload, param, metric, value, unit);
    if (p99 >= 0)
        fprintf(stderr, "  p50 %.0f ns  p99 %.0f ns", p50, p99);
    fputc('\n', stderr);
}

void lm_record_samples(uint64_t n)
{
    if (s_n_samples)
        s_samples[s_n_samples - 1].samples = (double)n;
}

void lm_note(const char *workload, const char *fmt, ...)
{
    if (s_n_notes == MAX_NOTES)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s_notes[s_n_notes], fmt, ap) < 0)
        s_notes[s_n_notes] = NULL;
    va_end(ap);
    s_note_wl[s_n_notes++] = workload;
}

/* One table row: a (workload, param, metric) with every repetition of both implementations. */
typedef struct {
    const char *workload;
    int param;
    const char *metric, *unit;
    int better;
    int n[IMPL_COUNT];
    double v[IMPL_COUNT][64], p50[IMPL_COUNT][64], p99[IMPL_COUNT][64], samples[IMPL_COUNT][64];
} row_t;

typedef struct {
    double min, med, max, p50, p99, samples;
    bool has, has_lat;
} stat_t;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_of(const double *v, int n)
{
    double tmp[64];
    memcpy(tmp, v, (size_t)n * sizeof(double));
    qsort(tmp, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2.0;
}

static stat_t row_stat(const row_t *r, int impl)
{
    stat_t s = {0};
    int n = r->n[impl];
    if (!n)
        return s;
    s.has = true;
    s.min = s.max = r->v[impl][0];
    for (int i = 1; i < n; i++) {
        s.min = fmin(s.min, r->v[impl][i]);
        s.max = fmax(s.max, r->v[impl][i]);
    }
    s.med = median_of(r->v[impl], n);
    s.has_lat = r->p99[impl][0] >= 0;
    if (s.has_lat) {
        s.p50 = median_of(r->p50[impl], n);
        s.p99 = median_of(r->p99[impl], n);
    }
    s.samples = median_of(r->samples[impl], n);
    return s;
}

static row_t *s_rows;
static int s_n_rows;

static void build_rows(void)
{
    s_rows = calloc(MAX_SAMPLES, sizeof(row_t));
    for (int i = 0; i < s_n_samples; i++) {
        sample_t *s = &s_samples[i];
        row_t *r = NULL;
        for (int j = 0; j < s_n_rows && !r; j++)
            if (s_rows[j].workload == s->workload && s_rows[j].param == s->param &&
                strcmp(s_rows[j].metric, s->metric) == 0)
                r = &s_rows[j];
        if (!r) {
            r = &s_rows[s_n_rows++];
            r->workload = s->workload;
            r->param = s->param;
            r->metric = s->metric;
            r->unit = s->unit;
            r->better = s->better;
        }
        int k = r->n[s->impl];
        if (k < 64) {
            r->v[s->impl][k] = s->value;
            r->p50[s->impl][k] = s->p50;
            r->p99[s->impl][k] = s->p99;
            r->samples[s->impl][k] = s->samples;
            r->n[s->impl]++;
        }
    }
}

/* ---- targets (the issue's) ---------------------------------------------------------------------- */

typedef struct {
    const char *workload, *metric_prefix;
    int min_param; /* applies to rows with param >= this */
    int max_param; /* and <= this (0 = no bound) */
    enum { T_RATIO_GE, T_RATIO_LE, T_P99_RATIO_LE, T_RUST_P99_LE, T_RUST_LT } kind;
    double limit;
    const char *text;
} target_t;

static const target_t s_targets[] = {
    {"W1", "getter ops/s", 1, 1, T_RATIO_GE, 1.0, "ops/s >= 1x baseline at T=1"},
    {"W1", "getter ops/s", 2, 0, T_RATIO_GE, 3.0, "ops/s >= 3x baseline at T>=2"},
    {"W1", "getter ops/s", 1, 0, T_RUST_P99_LE, 2000, "getter p99 <= 2 us"},
    {"W2", "events/s end-to-end", 2, 0, T_RATIO_GE, 5.0, "events/s >= 5x baseline at T>=2"},
    {"W2", "caller ns/call", 1, 0, T_RUST_P99_LE, 1000, "caller p99 <= 1 us"},
    {"W3", "get_net_links_addrs (original)", 2, 0, T_P99_RATIO_LE, 0.1, "original-API p99 <= 0.1x baseline"},
    {"W3", "link_find (original)", 2, 0, T_P99_RATIO_LE, 0.1, "original-API p99 <= 0.1x baseline"},
    {"W3", "get_net_links_addrs_sync", 1, 0, T_RUST_P99_LE, 50000, "_sync p99 <= 50 us"},
    {"W3", "link_find_sync", 1, 0, T_RUST_P99_LE, 50000, "_sync p99 <= 50 us"},
    {"W4", "heap bytes/link", 0, 0, T_RATIO_LE, 0.65, "bytes/link <= 0.65x baseline"},
    {"W4", "heap bytes/queued event", 0, 0, T_RATIO_LE, 0.65, "bytes/queued event <= 0.65x baseline"},
    {"W5", "library CPU", 0, 0, T_RUST_LT, 0.5, "idle CPU < 0.5% of a core"},
};

typedef struct {
    const target_t *t;
    const row_t *row;
    double value;
    bool met;
    double few; /* > 0: a p99 from this few samples (median per repetition) is not a measurement */
} verdict_t;

#define MIN_P99_SAMPLES 100

static verdict_t s_verdicts[256];
static int s_n_verdicts;

static void evaluate_targets(void)
{
    for (size_t k = 0; k < sizeof(s_targets) / sizeof(s_targets[0]); k++) {
        const target_t *t = &s_targets[k];
        for (int i = 0; i < s_n_rows && s_n_verdicts < 256; i++) {
            const row_t *r = &s_rows[i];
            if (strcmp(r->workload, t->workload) != 0 || strncmp(r->metric, t->metric_prefix, strlen(t->metric_prefix)))
                continue;
            if (r->param < t->min_param || (t->max_param && r->param > t->max_param))
                continue;
            stat_t rs = row_stat(r, IMPL_RUST), ls = row_stat(r, IMPL_LEGACY);
            verdict_t v = {.t = t, .row = r};
            switch (t->kind) {
            case T_RATIO_GE:
            case T_RATIO_LE:
                if (!rs.has || !ls.has || ls.med == 0)
                    continue;
                v.value = rs.med / ls.med;
                v.met = t->kind == T_RATIO_GE ? v.value >= t->limit : v.value <= t->limit;
                break;
            case T_P99_RATIO_LE:
                if (!rs.has_lat || !ls.has_lat || ls.p99 <= 0)
                    continue;
                v.value = rs.p99 / ls.p99;
                v.met = v.value <= t->limit;
                break;
            case T_RUST_P99_LE:
                if (!rs.has_lat)
                    continue;
                v.value = rs.p99;
                v.met = v.value <= t->limit;
                if (rs.samples >= 0 && rs.samples < MIN_P99_SAMPLES) {
                    v.few = rs.samples; /* each call took so long that the window held only these */
                    v.met = false;
                }
                break;
            case T_RUST_LT:
                if (!rs.has)
                    continue;
                v.value = rs.med;
                v.met = v.value < t->limit;
                break;
            }
            s_verdicts[s_n_verdicts++] = v;
        }
    }
}

/* ---- machine and commit ------------------------------------------------------------------------- */

static char s_cpu_model[128] = "?", s_commit[64] = "?", s_kernel[160] = "?";
static double s_load_start = -1, s_load_end = -1;

static double loadavg1(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

static void read_line_of(const char *cmd, char *out, size_t size)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    if (fgets(out, (int)size, p))
        out[strcspn(out, "\n")] = '\0';
    pclose(p);
}

static void machine_info(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "model name", 10) == 0) {
            const char *c = strchr(line, ':');
            if (c) {
                snprintf(s_cpu_model, sizeof(s_cpu_model), "%s", c + 2);
                s_cpu_model[strcspn(s_cpu_model, "\n")] = '\0';
            }
            break;
        }
    if (f)
        fclose(f);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(s_kernel, sizeof(s_kernel), "%s %s", u.sysname, u.release);
    read_line_of("git -C '" LM_BENCH_SOURCE_DIR "' rev-parse --short HEAD 2>/dev/null", s_commit, sizeof(s_commit));
    char dirty[8] = "";
    read_line_of("git -C '" LM_BENCH_SOURCE_DIR "' status --porcelain --untracked-files=no 2>/dev/null | head -c1",
                 dirty, sizeof(dirty));
    if (dirty[0])
        strncat(s_commit, "-dirty", sizeof(s_commit) - strlen(s_commit) - 1);
}

/* ---- report ------------------------------------------------------------------------------------- */

static const char *param_label(const char *workload)
{
    if (!strcmp(workload, "W4"))
        return "n";
    if (!strcmp(workload, "W6"))
        return "links";
    if (!strcmp(workload, "W5"))
        return "-";
    return "T";
}

static void fmt_num(char *out, size_t size, double v)
{
    if (v < 0)
        snprintf(out, size, "-");
    else if (v >= 1e6)
        snprintf(out, size, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(out, size, "%.1fk", v / 1e3);
    else if (v >= 100)
        snprintf(out, size, "%.0f", v);
    else
        snprintf(out, size, "%.3g", v);
}

static void fmt_stat(char *out, size_t size, stat_t s)
{
    char a[16], b[16], c[16];
    if (!s.has) {
        snprintf(out, size, "-");
        return;
    }
    fmt_num(a, sizeof(a), s.med);
    fmt_num(b, sizeof(b), s.min);
    fmt_num(c, sizeof(c), s.max);
    snprintf(out, size, "%s [%s..%s]", a, b, c);
}

static void fmt_lat(char *out, size_t size, stat_t s)
{
    char a[16], b[16];
    if (!s.has_lat) {
        snprintf(out, size, "-");
        return;
    }
    fmt_num(a, sizeof(a), s.p50);
    fmt_num(b, sizeof(b), s.p99);
    snprintf(out, size, "%s/%s", a, b);
}

void lm_report(void)
{
    s_load_end = loadavg1();
    build_rows();
    evaluate_targets();
    printf("\nlm_bench  commit %s  %ld CPUs (%s)  %s  reps %d%s  loadavg %.2f -> %.2f\n", s_commit,
           sysconf(_SC_NPROCESSORS_ONLN), s_cpu_model, s_kernel, g_opts.reps, g_opts.quick ? "  --quick" : "",
           s_load_start, s_load_end);
    printf("value: median [min..max] over repetitions; p50/p99 in ns (median over repetitions); ratio = %s/%s "
           "of the medians (p99 r: of the p99s)\n",
           g_impl_names[IMPL_RUST], g_impl_names[IMPL_LEGACY]);
    const char *wl = NULL;
    for (int i = 0; i < s_n_rows; i++) {
        const row_t *r = &s_rows[i];
        if (!wl || strcmp(wl, r->workload)) {
            wl = r->workload;
            printf("\n%-3s %-7s %-46s %-26s %-26s %7s %-15s %-15s %7s\n", wl, param_label(wl), "metric [unit]",
                   g_impl_names[IMPL_RUST], g_impl_names[IMPL_LEGACY], "ratio", "p50/p99", "p50/p99", "p99 r");
        }
        stat_t rs = row_stat(r, IMPL_RUST), ls = row_stat(r, IMPL_LEGACY);
        char m[80], a[64], b[64], c[40], d[40], ratio[16] = "-", pr[16] = "-";
        snprintf(m, sizeof(m), "%s [%s]", r->metric, r->unit);
        fmt_stat(a, sizeof(a), rs);
        fmt_stat(b, sizeof(b), ls);
        fmt_lat(c, sizeof(c), rs);
        fmt_lat(d, sizeof(d), ls);
        if (rs.has && ls.has && ls.med != 0)
            snprintf(ratio, sizeof(ratio), "%.3g", rs.med / ls.med);
        if (rs.has_lat && ls.has_lat && ls.p99 > 0)
            snprintf(pr, sizeof(pr), "%.3g", rs.p99 / ls.p99);
        printf("%-3s %-7d %-46s %-26s %-26s %7s %-15s %-15s %7s\n", "", r->param, m, a, b, ratio, c, d, pr);
    }
    if (s_n_notes) {
        printf("\nnotes:\n");
        for (int i = 0; i < s_n_notes; i++)
            printf("  %s: %s\n", s_note_wl[i], s_notes[i] ? s_notes[i] : "?");
    }
    if (s_n_verdicts) {
        printf("\ntargets:\n");
        for (int i = 0; i < s_n_verdicts; i++) {
            const verdict_t *v = &s_verdicts[i];
            printf("  %-4s %s %s=%-7d %-40s %-34s measured %.3g", v->met ? "MET" : "MISS", v->t->workload,
                   param_label(v->t->workload), v->row->param, v->row->metric, v->t->text, v->value);
            if (v->few > 0)
                printf(" (only %.0f calls per run: each waited that long)", v->few);
            putchar('\n');
        }
    }

    if (g_opts.json_path) {
        FILE *f = fopen(g_opts.json_path, "w");
        if (!f) {
            perror(g_opts.json_path);
        } else {
            fprintf(f, "{\n  \"commit\": \"%s\",\n  \"nproc\": %ld,\n  \"cpu\": \"%s\",\n  \"kernel\": \"%s\",\n",
                    s_commit, sysconf(_SC_NPROCESSORS_ONLN), s_cpu_model, s_kernel);
            fprintf(f, "  \"quick\": %s,\n  \"reps\": %d,\n  \"loadavg\": [%.2f, %.2f],\n  \"rows\": [\n",
                    g_opts.quick ? "true" : "false", g_opts.reps, s_load_start, s_load_end);
            for (int i = 0; i < s_n_rows; i++) {
                const row_t *r = &s_rows[i];
                fprintf(
                    f,
                    "    {\"workload\": \"%s\", \"%s\": %d, \"metric\": \"%s\", \"unit\": \"%s\", \"better\": \"%s\"",
                    r->workload, !strcmp(param_label(r->workload), "T") ? "threads" : "n", r->param, r->metric, r->unit,
                    r->better > 0 ? "higher" : "lower");
                for (int k = 0; k < IMPL_COUNT; k++) {
                    stat_t s = row_stat(r, k);
                    if (!s.has)
                        continue;
                    fprintf(f, ", \"%s\": {\"min\": %.6g, \"median\": %.6g, \"max\": %.6g", g_impl_names[k], s.min,
                            s.med, s.max);
                    if (s.has_lat)
                        fprintf(f, ", \"p50_ns\": %.6g, \"p99_ns\": %.6g", s.p50, s.p99);
                    if (s.samples >= 0)
                        fprintf(f, ", \"samples\": %.6g", s.samples);
                    fprintf(f, ", \"reps\": [");
                    for (int j = 0; j < r->n[k]; j++)
                        fprintf(f, "%s%.6g", j ? ", " : "", r->v[k][j]);
                    fprintf(f, "]}");
                }
                stat_t rs = row_stat(r, IMPL_RUST), ls = row_stat(r, IMPL_LEGACY);
                if (rs.has && ls.has && ls.med != 0)
                    fprintf(f, ", \"ratio\": %.6g", rs.med / ls.med);
                if (rs.has_lat && ls.has_lat && ls.p99 > 0)
                    fprintf(f, ", \"p99_ratio\": %.6g", rs.p99 / ls.p99);
                fprintf(f, "}%s\n", i + 1 < s_n_rows ? "," : "");
            }
            fprintf(f, "  ],\n  \"targets\": [\n");
            for (int i = 0; i < s_n_verdicts; i++) {
                const verdict_t *v = &s_verdicts[i];
                fprintf(f,
                        "    {\"workload\": \"%s\", \"param\": %d, \"metric\": \"%s\", \"target\": \"%s\", "
                        "\"measured\": %.6g, \"met\": %s}%s\n",
                        v->t->workload, v->row->param, v->row->metric, v->t->text, v->value, v->met ? "true" : "false",
                        i + 1 < s_n_verdicts ? "," : "");
            }
            fprintf(f, "  ],\n  \"notes\": [");
            for (int i = 0; i < s_n_notes; i++) {
                fprintf(f, "%s\"%s: ", i ? ", " : "", s_note_wl[i]);
                for (const char *c = s_notes[i] ? s_notes[i] : ""; *c; c++)
                    fputc(*c == '"' ? '\'' : *c, f);
                fputc('"', f);
            }
            fprintf(f, "]\n}\n");
            fclose(f);
            fprintf(stderr, "lm_bench: wrote %s\n", g_opts.json_path);
        }
    }
    if (g_opts.csv_path) {
        FILE *f = fopen(g_opts.csv_path, "w");
        if (!f) {
            perror(g_opts.csv_path);
        } else {
            fprintf(f, "commit,workload,param,metric,unit,impl,value,p50_ns,p99_ns\n");
            for (int i = 0; i < s_n_samples; i++) {
                const sample_t *s = &s_samples[i];
                fprintf(f, "%s,%s,%d,\"%s\",%s,%s,%.6g,%.6g,%.6g\n", s_commit, s->workload, s->param, s->metric,
                        s->unit, g_impl_names[s->impl], s->value, s->p50, s->p99);
            }
            fclose(f);
            fprintf(stderr, "lm_bench: wrote %s\n", g_opts.csv_path);
        }
    }
}

/* ---- driver ------------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: lm_bench [--quick] [--workload W1,...,W6] [--threads 1,2,4,8] [--reps N]\n"
                    "                [--only rust|legacy] [--json out.json] [--csv out.csv]\n"
                    "                [--links 1000,1000000] [--w6 scale|tick]   (W6 sizes and parts)\n");
    exit(1);
}

static void parse_args(int argc, char **argv)
{
    bool reps_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) {
            g_opts.quick = true;
        } else if (!strcmp(a, "--reps") && v) {
            g_opts.reps = atoi(v);
            reps_set = true;
            i++;
        } else if (!strcmp(a, "--json") && v) {
            g_opts.json_path = v;
            i++;
        } else if (!strcmp(a, "--csv") && v) {
            g_opts.csv_path = v;
            i++;
        } else if (!strcmp(a, "--only") && v) {
            g_opts.only_impl = !strcmp(v, "rust") ? IMPL_RUST : !strcmp(v, "legacy") ? IMPL_LEGACY : -2;
            if (g_opts.only_impl == -2)
                usage();
            i++;
        } else if (!strcmp(a, "--threads") && v) {
            g_opts.n_threads = 0;
            for (char *s = strdup(v), *tok = strtok(s, ","); tok && g_opts.n_threads < 8; tok = strtok(NULL, ","))
                if (atoi(tok) > 0)
                    g_opts.threads[g_opts.n_threads++] = atoi(tok);
            i++;
        } else if (!strcmp(a, "--links") && v) {
            g_opts.n_links = 0;
            for (char *s = strdup(v), *tok = strtok(s, ","); tok && g_opts.n_links < 8; tok = strtok(NULL, ","))
                if (atol(tok) > 0)
                    g_opts.links[g_opts.n_links++] = (size_t)atol(tok);
            i++;
        } else if (!strcmp(a, "--w6") && v) {
            g_opts.no_tick = !strcmp(v, "scale");
            g_opts.tick_only = !strcmp(v, "tick");
            i++;
        } else if (!strcmp(a, "--workload") && v) {
            g_opts.workloads = 0;
            for (char *s = strdup(v), *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
                int w = atoi(tok + (tok[0] == 'W' || tok[0] == 'w'));
                if (w < 1 || w > 6)
                    usage();
                g_opts.workloads |= 1u << (w - 1);
            }
            i++;
        } else {
            usage();
        }
    }
    (void)reps_set;
    if (g_opts.reps < 1 || g_opts.reps > 64 || !g_opts.n_threads)
        usage();
}

static void w3_original(lm_impl_t *impl, int threads)
{
    w3_queries_under_load(impl, threads, false);
}

/* Repetition `rep` runs the implementations in alternating order, so neither always goes first. */
static int impl_at(int rep, int k)
{
    if (g_opts.only_impl >= 0)
        return k == 0 ? g_opts.only_impl : -1;
    return (rep + k) % 2 ? IMPL_LEGACY : IMPL_RUST;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    prctl(PR_SET_TIMERSLACK, 1UL); /* sub-50 us sleeps for the pacing and drain loops */
    machine_info();
    s_load_start = loadavg1();
    lm_clock_init();
    lm_impl_t impls[IMPL_COUNT];
    lm_impls_load(impls);
    fprintf(stderr, "lm_bench: rust %s\nlm_bench: legacy %s\n", impls[IMPL_RUST].path, impls[IMPL_LEGACY].path);

    int reps = g_opts.reps, reps_long = reps < 3 ? reps : 3; /* for the 10 s / 1M-link runs */
    void (*per_thread[3])(lm_impl_t *, int) = {w1_hot_getters, w2_event_storm, w3_original};
    for (int w = 0; w < 3; w++) {
        if (!(g_opts.workloads & (1u << w)))
            continue;
        if (w == 1)
            w2_sdk_floor();
        for (int ti = 0; ti < g_opts.n_threads; ti++)
            for (int rep = 0; rep < reps; rep++)
                for (int k = 0; k < IMPL_COUNT; k++) {
                    int ix = impl_at(rep, k);
                    if (ix < 0)
                        continue;
                    fprintf(stderr, "W%d T=%d rep %d %s\n", w + 1, g_opts.threads[ti], rep, impls[ix].name);
                    per_thread[w](&impls[ix], g_opts.threads[ti]);
                    if (w == 2 && impls[ix].x.dap_link_manager_link_find_sync) {
                        fprintf(stderr, "W3 T=%d rep %d %s (_sync)\n", g_opts.threads[ti], rep, impls[ix].name);
                        w3_queries_under_load(&impls[ix], g_opts.threads[ti], true);
                    }
                }
    }
    if (g_opts.workloads & (1u << 3)) {
        w4_sdk_member_bytes();
        for (int rep = 0; rep < reps_long; rep++)
            for (int k = 0; k < IMPL_COUNT; k++)
                if (impl_at(rep, k) >= 0) {
                    fprintf(stderr, "W4 rep %d %s\n", rep, impls[impl_at(rep, k)].name);
                    w4_memory(&impls[impl_at(rep, k)]);
                }
    }
    if (g_opts.workloads & (1u << 4))
        for (int rep = 0; rep < reps_long; rep++)
            for (int k = 0; k < IMPL_COUNT; k++)
                if (impl_at(rep, k) >= 0) {
                    fprintf(stderr, "W5 rep %d %s\n", rep, impls[impl_at(rep, k)].name);
                    w5_idle(&impls[impl_at(rep, k)]);
                }
    if (g_opts.workloads & (1u << 5)) {
        if (!(g_opts.workloads & (1u << 3)))
            w4_sdk_member_bytes();
        static const size_t full[] = {1000, 10000, 100000, 1000000}, quick[] = {1000, 10000};
        const size_t *sizes = g_opts.n_links ? g_opts.links : g_opts.quick ? quick : full;
        size_t n_sizes = g_opts.n_links ? (size_t)g_opts.n_links : g_opts.quick ? 2 : 4;
        for (size_t s = 0; s < n_sizes && !g_opts.tick_only; s++)
            for (int rep = 0; rep < (sizes[s] >= 1000000 ? reps_long : reps); rep++)
                for (int k = 0; k < IMPL_COUNT; k++)
                    if (impl_at(rep, k) >= 0) {
                        fprintf(stderr, "W6 %zu links rep %d %s\n", sizes[s], rep, impls[impl_at(rep, k)].name);
                        w6_scale(&impls[impl_at(rep, k)], sizes[s]);
                    }
        static const size_t tick_full[] = {1000, 10000, 100000}, tick_quick[] = {1000, 10000};
        const size_t *tsizes = g_opts.n_links ? g_opts.links : g_opts.quick ? tick_quick : tick_full;
        size_t n_tsizes = g_opts.n_links ? (size_t)g_opts.n_links : g_opts.quick ? 2 : 3;
        for (size_t s = 0; s < n_tsizes && !g_opts.no_tick; s++)
            for (int rep = 0; rep < reps_long; rep++)
                for (int k = 0; k < IMPL_COUNT; k++)
                    if (impl_at(rep, k) >= 0) {
                        fprintf(stderr, "W6 tick %zu links rep %d %s\n", tsizes[s], rep, impls[impl_at(rep, k)].name);
                        w6_tick(&impls[impl_at(rep, k)], tsizes[s]);
                    }
    }
    lm_report();
    return 0;
}

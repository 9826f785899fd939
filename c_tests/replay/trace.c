#include "trace.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dap_link_manager.h"
#include "fix_rules.h"

char *lm_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (size_t k; buf && (k = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += k;
        if (cap - n - 1 == 0) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    else
        errno = ENOMEM;
    return buf;
}

const char *lm_addr_fmt(uint64_t a, char *buf)
{
    snprintf(buf, 24, "%04X::%04X::%04X::%04X", (unsigned)(a >> 48) & 0xffff, (unsigned)(a >> 32) & 0xffff,
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xffff);
    return buf;
}

/* "0x" (or "0X") and hex digits, or decimal digits: nothing else. strtoull alone would also take a
 * blank and a sign ("\v-1" wrapped to UINT64_MAX) and read a leading 0 as octal ("010" was 8). */
static bool parse_u64(const char *s, uint64_t *out)
{
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    const char *digits = hex ? s + 2 : s;
    if (!*digits || strspn(digits, hex ? "0123456789abcdefABCDEF" : "0123456789") != strlen(digits))
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(digits, &end, hex ? 16 : 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool lm_parse_addr(const char *s, uint64_t *out)
{
    /* Exactly four hex digits per group: %4x alone also takes a sign, a blank or "0x" ("0000::-001::..."
     * gave 0xffffffff00000000, the sign spilling into the group before). */
    bool grouped = strlen(s) == 22;
    for (int i = 0; i < 22 && grouped; i++)
        grouped = i % 6 >= 4 ? s[i] == ':' : isxdigit((unsigned char)s[i]) != 0;
    unsigned w[4];
    if (grouped && sscanf(s, "%4x::%4x::%4x::%4x", &w[0], &w[1], &w[2], &w[3]) == 4) {
        *out = ((uint64_t)w[0] << 48) | ((uint64_t)w[1] << 32) | ((uint64_t)w[2] << 16) | w[3];
        return true;
    }
    return parse_u64(s, out);
}

bool lm_parse_net(const char *s, uint64_t *out)
{
    if (!strcmp(s, "INVALID")) {
        *out = DAP_NET_ID_INVALID;
        return true;
    }
    return parse_u64(s, out);
}

static bool parse_bool01(const char *s, bool *out)
{
    if (!strcmp(s, "0") || !strcmp(s, "1")) {
        *out = s[0] == '1';
        return true;
    }
    return false;
}

static bool parse_word(const char *s, const char *yes, const char *no, bool *out)
{
    if (!strcmp(s, yes) || !strcmp(s, no)) {
        *out = !strcmp(s, yes);
        return true;
    }
    return false;
}

typedef struct {
    const char *word;
    lm_ev_kind_t kind;
    int nargs;
} lm_syntax_t;

static const lm_syntax_t k_events[] = {
    {"config", EV_CONFIG, 2},
    {"own", EV_OWN, 1},
    {"cluster", EV_CLUSTER, 2},
    {"init", EV_INIT, 0},
    {"deinit", EV_DEINIT, 0},
    {"set_condition", EV_SET_CONDITION, 1},
    {"add_net", EV_ADD_NET, 3},
    {"add_net_associate", EV_ADD_NET_ASSOCIATE, 2},
    {"remove_net", EV_REMOVE_NET, 1},
    {"set_net_condition", EV_SET_NET_CONDITION, 2},
    {"link_create", EV_LINK_CREATE, 2},
    {"link_update", EV_LINK_UPDATE, 3},
    {"stream_add", EV_STREAM_ADD, 2},
    {"stream_replace", EV_STREAM_REPLACE, 2},
    {"stream_delete", EV_STREAM_DELETE, 1},
    {"accounting", EV_ACCOUNTING, 3},
    {"member_add", EV_MEMBER_ADD, 2},
    {"member_del", EV_MEMBER_DEL, 2},
    {"client_connected", EV_CLIENT_CONNECTED, 1},
    {"client_error", EV_CLIENT_ERROR, 2},
    {"advance", EV_ADVANCE, 1},
    {"tick", EV_TICK, 1},
    {"channel_add", EV_CHANNEL_ADD, 1},
    {"channel_remove", EV_CHANNEL_REMOVE, 1},
    {"node", EV_NODE_PERMANENT, -1}, /* node permanent|route|route_none ...: decided below */
    {"burst", EV_BURST, 0},
    {"end", EV_END, 0},
    {"query", EV_QUERY, -1},
};

typedef struct {
    const char *word;
    lm_query_t q;
    const char *args; /* n = net, a = address, b = 0|1, s = name */
} lm_qsyntax_t;

static const lm_qsyntax_t k_queries[] = {
    {"links_count", Q_LINKS_COUNT, "n"},
    {"required", Q_REQUIRED, "n"},
    {"needed", Q_NEEDED, "n"},
    {"established_count", Q_ESTABLISHED_N, "n"},
    {"net_condition", Q_NET_CONDITION, "n"},
    {"link_find", Q_LINK_FIND, "an"},
    {"established", Q_ESTABLISHED, "a"},
    {"net_links", Q_NET_LINKS, "nb"},
    {"ignored", Q_IGNORED, "n"},
    {"condition", Q_CONDITION, ""},
    {"channels", Q_CHANNELS, ""},
    {"link", Q_LINK, "a"},
    {"cluster", Q_CLUSTER, "s"},
};

static bool fail(char *err, size_t errlen, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool fail(char *err, size_t errlen, int line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "line %d: %s", line, msg);
    return false;
}

/* `expect-diff FIX-A FIX-B` inside a comment: the rules' bits; -1 (and err) for an unknown name. */
static int parse_expect(const char *comment, int line, char *err, size_t errlen)
{
    const char *p = strstr(comment, "expect-diff");
    if (!p)
        return 0;
    unsigned mask = 0;
    char name[64];
    p += strlen("expect-diff");
    for (int k; sscanf(p, " %63s%n", name, &k) == 1; p += k) {
        int bit = lm_fix_find(name);
        if (bit < 0) {
            fail(err, errlen, line, "expect-diff: unknown rule '%s' (CONTRACT.md §9b names only)", name);
            return -1;
        }
        mask |= 1u << bit;
    }
    if (!mask) {
        fail(err, errlen, line, "expect-diff without a FIX name");
        return -1;
    }
    return (int)mask;
}

static bool parse_event(lm_event_t *e, char tok[][LM_TRACE_TOKEN], int ntok, char *err, size_t errlen)
{
    const lm_syntax_t *syn = NULL;
    for (size_t i = 0; i < sizeof(k_events) / sizeof(k_events[0]) && !syn; i++)
        if (!strcmp(tok[0], k_events[i].word))
            syn = &k_events[i];
    if (!syn)
        return fail(err, errlen, e->line, "unknown event '%s'", tok[0]);
    e->kind = syn->kind;
    int nargs = ntok - 1;
    char(*a)[LM_TRACE_TOKEN] = tok + 1;
    if (syn->nargs >= 0 && nargs != syn->nargs)
        return fail(err, errlen, e->line, "%s takes %d argument(s), got %d", tok[0], syn->nargs, nargs);
#define NEED(cond, what)                                                                                               \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            return fail(err, errlen, e->line, "%s: bad %s", tok[0], what);                                             \
    } while (0)
    switch (e->kind) {
    case EV_CONFIG:
        snprintf(e->s1, sizeof(e->s1), "%s", a[0]);
        snprintf(e->s2, sizeof(e->s2), "%s", a[1]);
        break;
    case EV_OWN:
        NEED(lm_parse_addr(a[0], &e->addr), "address");
        break;
    case EV_CLUSTER:
        snprintf(e->s1, sizeof(e->s1), "%s", a[0]);
        NEED(!strcmp(a[1], "links") || !strcmp(a[1], "static") || !strcmp(a[1], "plain"), "kind (links|static|plain)");
        snprintf(e->s2, sizeof(e->s2), "%s", a[1]);
        break;
    case EV_SET_CONDITION:
        NEED(parse_bool01(a[0], &e->flag), "flag (0|1)");
        break;
    case EV_ADD_NET:
        NEED(lm_parse_net(a[0], &e->net), "net");
        snprintf(e->s1, sizeof(e->s1), "%s", a[1]);
        NEED(parse_u64(a[2], &e->num) && e->num <= UINT32_MAX, "min_links");
        break;
    case EV_ADD_NET_ASSOCIATE:
        NEED(lm_parse_net(a[0], &e->net), "net");
        snprintf(e->s1, sizeof(e->s1), "%s", a[1]);
        break;
    case EV_REMOVE_NET:
        NEED(lm_parse_net(a[0], &e->net), "net");
        break;
    case EV_SET_NET_CONDITION:
        NEED(lm_parse_net(a[0], &e->net), "net");
        NEED(parse_bool01(a[1], &e->flag), "flag (0|1)");
        break;
    case EV_LINK_CREATE:
        NEED(lm_parse_addr(a[0], &e->addr), "address");
        NEED(lm_parse_net(a[1], &e->net), "net");
        break;
    case EV_LINK_UPDATE:
        NEED(lm_parse_addr(a[0], &e->addr), "address");
        snprintf(e->s1, sizeof(e->s1), "%s", a[1]);
        NEED(parse_u64(a[2], &e->num) && e->num <= 65535, "port");
        break;
    case EV_STREAM_ADD:
    case EV_STREAM_REPLACE:
        NEED(lm_parse_addr(a[0], &e->addr), "address");
        NEED(parse_word(a[1], "up", "down", &e->flag), "direction (up|down)");
        break;
    case EV_STREAM_DELETE:
    case EV_CLIENT_CONNECTED:
        NEED(lm_parse_addr(a[0], &e->addr), "address");
        break;
    case EV_ACCOUNTING:
        NEED(lm_parse_net(a[0], &e->net), "net");
        NEED(lm_parse_addr(a[1], &e->addr), "address");
        NEED(parse_word(a[2], "ok", "fail", &e->flag), "outcome (ok|fail)");
        break;
    case EV_MEMBER_ADD:
    case EV_MEMBER_DEL:
        snprintf(e->s1, sizeof(e->s1), "%s", a[0]);
        NEED(lm_parse_addr(a[1], &e->addr), "address");
        break;
    case EV_CLIENT_ERROR:
        NEED(lm_parse_addr(a[0], &e->addr), "address");
        NEED(parse_word(a[1], "last", "transient", &e->flag), "flag (last|transient)");
        break;
    case EV_ADVANCE:
        NEED(parse_u64(a[0], &e->num) && e->num <= 100u * 365 * 86400, "seconds");
        break;
    case EV_TICK:
        NEED(parse_word(a[0], "wakeup", "request", &e->flag), "phase (wakeup|request)");
        break;
    case EV_CHANNEL_ADD:
    case EV_CHANNEL_REMOVE:
        NEED(strlen(a[0]) == 1, "channel (one character)");
        e->num = (unsigned char)a[0][0];
        break;
    case EV_NODE_PERMANENT:
        if (nargs == 3 && !strcmp(a[0], "permanent")) {
            NEED(lm_parse_addr(a[1], &e->addr), "address");
            NEED(parse_bool01(a[2], &e->flag), "flag (0|1)");
        } else if (nargs == 4 && !strcmp(a[0], "route")) {
            e->kind = EV_NODE_ROUTE;
            e->any_addr = !strcmp(a[1], "*");
            NEED(e->any_addr || lm_parse_addr(a[1], &e->addr), "address");
            snprintf(e->s1, sizeof(e->s1), "%s", a[2]);
            NEED(parse_u64(a[3], &e->num) && e->num <= 65535, "port");
        } else if (nargs == 2 && !strcmp(a[0], "route_none")) {
            e->kind = EV_NODE_ROUTE_NONE;
            e->any_addr = !strcmp(a[1], "*");
            NEED(e->any_addr || lm_parse_addr(a[1], &e->addr), "address");
        } else {
            return fail(err, errlen, e->line,
                        "node permanent <ADDR> 0|1 | route <ADDR|*> <host> <port> | route_none <ADDR|*>");
        }
        break;
    case EV_QUERY: {
        const lm_qsyntax_t *q = NULL;
        for (size_t i = 0; nargs >= 1 && i < sizeof(k_queries) / sizeof(k_queries[0]) && !q; i++)
            if (!strcmp(a[0], k_queries[i].word))
                q = &k_queries[i];
        if (!q)
            return fail(err, errlen, e->line, "unknown query '%s'", nargs ? a[0] : "");
        /* `query established <net>` (no "::" in the argument) is established_uplinks_count */
        for (size_t i = 0;
             q->q == Q_ESTABLISHED && nargs == 2 && !strstr(a[1], "::") && i < sizeof(k_queries) / sizeof(k_queries[0]);
             i++)
            if (k_queries[i].q == Q_ESTABLISHED_N)
                q = &k_queries[i];
        if (nargs - 1 != (int)strlen(q->args))
            return fail(err, errlen, e->line, "query %s takes %zu argument(s)", q->word, strlen(q->args));
        e->query = q->q;
        for (int i = 0; q->args[i]; i++) {
            const char *v = a[1 + i];
            switch (q->args[i]) {
            case 'n':
                NEED(lm_parse_net(v, &e->net), "net");
                break;
            case 'a':
                NEED(lm_parse_addr(v, &e->addr), "address");
                break;
            case 'b':
                NEED(parse_bool01(v, &e->flag), "flag (0|1)");
                break;
            default:
                snprintf(e->s1, sizeof(e->s1), "%s", v);
            }
        }
        break;
    }
    default:
        break;
    }
#undef NEED
    return true;
}

/* Events that may sit inside a burst: facts issued from one thread whose results do not depend on how
 * far the library got with the ones before (member_* change the SDK's clusters at once, racing the
 * library's own cluster calls: not in a burst). */
static bool burstable(lm_ev_kind_t k)
{
    return k == EV_STREAM_ADD || k == EV_STREAM_REPLACE || k == EV_STREAM_DELETE || k == EV_ACCOUNTING;
}

bool lm_trace_parse(const char *text, lm_trace_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    size_t cap = 0;
    bool in_burst = false;
    unsigned pending_expect = 0;
    int line = 0;
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        line++;
        char buf[1024];
        if (len >= sizeof(buf)) {
            lm_trace_free(out);
            return fail(err, errlen, line, "line too long");
        }
        memcpy(buf, p, len);
        buf[len] = '\0';
        p += len + (eol ? 1 : 0);
        char *hash = strchr(buf, '#');
        int expect = 0;
        if (hash) {
            if ((expect = parse_expect(hash, line, err, errlen)) < 0) {
                lm_trace_free(out);
                return false;
            }
            *hash = '\0';
        }
        char tok[LM_TRACE_MAX_ARGS + 2][LM_TRACE_TOKEN];
        int ntok = 0;
        for (char *save = NULL, *t = strtok_r(buf, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
            if (ntok == LM_TRACE_MAX_ARGS + 2 || strlen(t) >= LM_TRACE_TOKEN) {
                lm_trace_free(out);
                return fail(err, errlen, line, "too many or too long words");
            }
            snprintf(tok[ntok++], LM_TRACE_TOKEN, "%s", t);
        }
        if (!ntok) {
            if (expect && out->n == 0)
                out->expect_diff_all |= (unsigned)expect; /* a header line: the whole trace */
            else
                pending_expect |= (unsigned)expect; /* a line of its own: from the next event on */
            continue;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            lm_event_t *v = realloc(out->ev, cap * sizeof(*v));
            if (!v) {
                lm_trace_free(out);
                return fail(err, errlen, line, "out of memory");
            }
            out->ev = v;
        }
        lm_event_t *e = &out->ev[out->n];
        memset(e, 0, sizeof(*e));
        e->line = line;
        if (!parse_event(e, tok, ntok, err, errlen)) {
            lm_trace_free(out);
            return false;
        }
        char text_buf[1024] = "";
        for (int i = 0; i < ntok; i++) {
            strcat(text_buf, i ? " " : "");
            strcat(text_buf, tok[i]);
        }
        e->text = strdup(text_buf);
        e->expect_diff = (unsigned)expect | pending_expect;
        pending_expect = 0;
        out->n++;
        if (e->kind == EV_BURST) {
            if (in_burst)
                return lm_trace_free(out), fail(err, errlen, line, "burst inside a burst");
            in_burst = true;
        } else if (e->kind == EV_END) {
            if (!in_burst)
                return lm_trace_free(out), fail(err, errlen, line, "end without burst");
            in_burst = false;
        } else if (in_burst && !burstable(e->kind)) {
            lm_trace_free(out);
            return fail(err, errlen, line, "%s cannot be in a burst (only stream_* and accounting)", tok[0]);
        }
    }
    if (in_burst) {
        lm_trace_free(out);
        return fail(err, errlen, line, "burst without end");
    }
    return true;
}

void lm_trace_free(lm_trace_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->ev[i].text);
    free(t->ev);
    memset(t, 0, sizeof(*t));
}

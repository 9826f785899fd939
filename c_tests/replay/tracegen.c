#include "tracegen.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t s;
    char *buf;
    size_t n, cap;
} gen_t;

static uint64_t next(gen_t *g) /* splitmix64 */
{
    uint64_t z = (g->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static unsigned pick(gen_t *g, unsigned n)
{
    return (unsigned)(next(g) % n);
}

static bool chance(gen_t *g, unsigned percent)
{
    return pick(g, 100) < percent;
}

static void emit(gen_t *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(gen_t *g, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    if (g->n + (size_t)k + 2 > g->cap) {
        size_t cap = (g->cap + (size_t)k + 2) * 2;
        char *b = realloc(g->buf, cap);
        if (!b)
            abort();
        g->buf = b;
        g->cap = cap;
    }
    memcpy(g->buf + g->n, line, (size_t)k);
    g->n += (size_t)k;
    g->buf[g->n++] = '\n';
    g->buf[g->n] = '\0';
}

/* Six peers and, rarely, our own address (link_create answers -1 for it). */
static const char *const k_peers[] = {"0000::0000::0000::00A1", "0000::0000::0000::00A2", "0000::0000::0000::00A3",
                                      "0000::0000::0000::00B1", "0000::0000::0000::00B2", "0000::0000::0000::00C1"};
#define OWN "0A0B::0C0D::0000::0001"

static const char *peer(gen_t *g)
{
    return chance(g, 3) ? OWN : k_peers[pick(g, sizeof(k_peers) / sizeof(k_peers[0]))];
}

static const char *net(gen_t *g)
{
    static const char *const nets[] = {"0x1", "0x1", "0x1", "0x2", "0x2", "INVALID", "0x9"};
    return nets[pick(g, sizeof(nets) / sizeof(nets[0]))];
}

static const char *managed_net(gen_t *g)
{
    return chance(g, 65) ? "0x1" : "0x2";
}

static const char *cluster(gen_t *g)
{
    static const char *const c[] = {"net1", "net2", "st1", "st2", "sec1"};
    return c[pick(g, sizeof(c) / sizeof(c[0]))];
}

static const char *host(gen_t *g)
{
    /* numeric only (no resolver); loopback/any/broadcast/"::" exercise the refusals both must agree on */
    static const char *const h[] = {"10.1.2.3", "10.7.0.9", "192.0.2.44",  "127.0.0.1", "1.0.0.127",
                                    "0.0.0.0",  "::1",      "2001:db8::7", "::",        "255.255.255.255"};
    return h[pick(g, sizeof(h) / sizeof(h[0]))];
}

/* One fact; in a burst only the kinds a burst may hold (trace.c). */
static void fact(gen_t *g, bool in_burst)
{
    switch (pick(g, in_burst ? 7 : 8)) {
    case 0:
    case 1:
        emit(g, "stream_add %s %s", peer(g), chance(g, 40) ? "up" : "down");
        break;
    case 2:
        emit(g, "stream_replace %s %s", peer(g), chance(g, 50) ? "up" : "down");
        break;
    case 3:
    case 4:
        emit(g, "stream_delete %s", peer(g));
        break;
    case 5:
    case 6:
        emit(g, "accounting %s %s %s", managed_net(g), peer(g), chance(g, 75) ? "ok" : "fail");
        break;
    default:
        emit(g, "member_%s %s %s", chance(g, 60) ? "add" : "del", cluster(g), peer(g));
    }
}

static void query(gen_t *g)
{
    switch (pick(g, 12)) {
    case 0:
        emit(g, "query links_count %s", net(g));
        break;
    case 1:
        emit(g, "query required %s", net(g));
        break;
    case 2:
        emit(g, "query needed %s", net(g));
        break;
    case 3:
        emit(g, "query established_count %s", net(g));
        break;
    case 4:
        emit(g, "query net_condition %s", net(g));
        break;
    case 5:
        emit(g, "query link_find %s %s", peer(g), net(g));
        break;
    case 6:
        emit(g, "query established %s", peer(g));
        break;
    case 7:
        emit(g, "query net_links %s %d", net(g), chance(g, 50));
        break;
    case 8:
        emit(g, "query ignored %s", net(g));
        break;
    case 9:
        emit(g, "query link %s", peer(g));
        break;
    case 10:
        emit(g, "query cluster %s", cluster(g));
        break;
    default:
        emit(g, chance(g, 50) ? "query condition" : "query channels");
    }
}

char *lm_tracegen(uint64_t seed, int events)
{
    gen_t g = {.s = seed};
    emit(&g, "# lm_tracegen --seed %" PRIu64 " --events %d", seed, events);
    emit(&g, "own " OWN);
    static const char *const attempts[] = {"1", "1", "2", "3"};
    static const char *const delays[] = {"0", "5", "20", "20"};
    emit(&g, "config max_attempts_num %s", attempts[pick(&g, 4)]);
    emit(&g, "config reconnect_delay %s", delays[pick(&g, 4)]);
    emit(&g, "cluster net1 links");
    emit(&g, "cluster net2 links");
    emit(&g, "cluster st1 static");
    emit(&g, "cluster st2 static");
    emit(&g, "cluster sec1 plain");
    for (size_t i = 0; i < sizeof(k_peers) / sizeof(k_peers[0]); i++) {
        if (chance(&g, 25))
            emit(&g, "node permanent %s 1", k_peers[i]);
        if (chance(&g, 10))
            emit(&g, "node route_none %s", k_peers[i]);
    }
    emit(&g, "init");
    emit(&g, "add_net 0x1 net1 %u", 1 + pick(&g, 3));
    emit(&g, "set_net_condition 0x1 1");
    if (chance(&g, 60)) {
        emit(&g, "add_net 0x2 net2 %u", pick(&g, 3));
        emit(&g, "add_net_associate 0x2 %s", chance(&g, 50) ? "st2" : "sec1");
        if (chance(&g, 70))
            emit(&g, "set_net_condition 0x2 1");
    }
    for (int i = 0; i < events; i++) {
        unsigned r = pick(&g, 100);
        if (r < 12) {
            emit(&g, "link_create %s %s", peer(&g), net(&g));
        } else if (r < 22) {
            emit(&g, "tick %s", chance(&g, 65) ? "wakeup" : "request");
        } else if (r < 28) {
            static const unsigned secs[] = {1, 5, 10, 21, 60, 300, 901};
            emit(&g, "advance %u", secs[pick(&g, 7)]);
        } else if (r < 36) {
            emit(&g, "client_connected %s", peer(&g));
        } else if (r < 41) {
            emit(&g, "client_error %s %s", peer(&g), chance(&g, 60) ? "last" : "transient");
        } else if (r < 60) {
            fact(&g, false);
        } else if (r < 64) {
            int n = 2 + (int)pick(&g, 4);
            emit(&g, "burst");
            for (int k = 0; k < n; k++)
                fact(&g, true);
            emit(&g, "end");
        } else if (r < 67) {
            emit(&g, "set_net_condition %s %d", managed_net(&g), chance(&g, 60));
        } else if (r < 69) {
            switch (pick(&g, 3)) {
            case 0:
                emit(&g, "add_net %s %s %u", net(&g), chance(&g, 50) ? "net1" : "net2", pick(&g, 3));
                break;
            case 1:
                emit(&g, "add_net_associate %s %s", net(&g), cluster(&g));
                break;
            default:
                emit(&g, "remove_net %s", net(&g));
            }
        } else if (r < 71) {
            emit(&g, "set_condition %d", chance(&g, 70));
        } else if (r < 73) {
            emit(&g, "link_update %s %s %u", peer(&g), host(&g), chance(&g, 90) ? 8079u : 0u);
        } else if (r < 75) {
            static const char ch[] = "RCGENDXY";
            emit(&g, "channel_%s %c", chance(&g, 50) ? "add" : "remove", ch[pick(&g, 8)]);
        } else if (r < 78) {
            const char *p = k_peers[pick(&g, sizeof(k_peers) / sizeof(k_peers[0]))];
            switch (pick(&g, 3)) {
            case 0:
                emit(&g, "node permanent %s %d", p, chance(&g, 50));
                break;
            case 1:
                emit(&g, "node route %s %s 8079", p, host(&g));
                break;
            default:
                emit(&g, "node route_none %s", p);
            }
        } else if (r < 79) {
            emit(&g, "deinit");
            emit(&g, "init");
            emit(&g, "add_net 0x1 net1 2");
            emit(&g, "set_net_condition 0x1 1");
        } else {
            query(&g);
        }
    }
    return g.buf;
}

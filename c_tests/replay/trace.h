/* The replay trace: a text file, one event per line, `#` starts a comment (README "The hybrid flag and
 * differential replay" has the full grammar). This module parses it; replay.c runs it. */
#ifndef LM_TRACE_H
#define LM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LM_TRACE_MAX_ARGS 4
#define LM_TRACE_TOKEN    64

typedef enum {
    EV_CONFIG,            /* config <key> <value> */
    EV_OWN,               /* own <ADDR> */
    EV_CLUSTER,           /* cluster <name> links|static|plain */
    EV_INIT,              /* init */
    EV_DEINIT,            /* deinit */
    EV_SET_CONDITION,     /* set_condition 0|1 */
    EV_ADD_NET,           /* add_net <net> <cluster> <min> */
    EV_ADD_NET_ASSOCIATE, /* add_net_associate <net> <cluster> */
    EV_REMOVE_NET,        /* remove_net <net> */
    EV_SET_NET_CONDITION, /* set_net_condition <net> 0|1 */
    EV_LINK_CREATE,       /* link_create <ADDR> <net|INVALID> */
    EV_LINK_UPDATE,       /* link_update <ADDR> <host> <port> */
    EV_STREAM_ADD,        /* stream_add <ADDR> up|down */
    EV_STREAM_REPLACE,    /* stream_replace <ADDR> up|down */
    EV_STREAM_DELETE,     /* stream_delete <ADDR> */
    EV_ACCOUNTING,        /* accounting <net> <ADDR> ok|fail */
    EV_MEMBER_ADD,        /* member_add <cluster> <ADDR> */
    EV_MEMBER_DEL,        /* member_del <cluster> <ADDR> */
    EV_CLIENT_CONNECTED,  /* client_connected <ADDR> */
    EV_CLIENT_ERROR,      /* client_error <ADDR> last|transient */
    EV_ADVANCE,           /* advance <seconds> */
    EV_TICK,              /* tick wakeup|request */
    EV_CHANNEL_ADD,       /* channel_add <c> */
    EV_CHANNEL_REMOVE,    /* channel_remove <c> */
    EV_NODE_PERMANENT,    /* node permanent <ADDR> 0|1 */
    EV_NODE_ROUTE,        /* node route <ADDR|*> <host> <port> */
    EV_NODE_ROUTE_NONE,   /* node route_none <ADDR|*> */
    EV_BURST,             /* burst: the events up to `end` are issued back to back, settled once */
    EV_END,               /* end (of a burst) */
    EV_QUERY,             /* query <what> [args] */
    EV_KINDS
} lm_ev_kind_t;

typedef enum {
    Q_LINKS_COUNT,   /* query links_count <net> */
    Q_REQUIRED,      /* query required <net> */
    Q_NEEDED,        /* query needed <net> */
    Q_ESTABLISHED_N, /* query established_count <net> (established_uplinks_count) */
    Q_NET_CONDITION, /* query net_condition <net> */
    Q_LINK_FIND,     /* query link_find <ADDR> <net> */
    Q_ESTABLISHED,   /* query established <ADDR> */
    Q_NET_LINKS,     /* query net_links <net> 0|1 */
    Q_IGNORED,       /* query ignored <net> */
    Q_CONDITION,     /* query condition */
    Q_CHANNELS,      /* query channels */
    Q_LINK,          /* query link <ADDR>  (link snapshot: state, clusters, nets...) */
    Q_CLUSTER,       /* query cluster <name>  (status and members, as the SDK holds them) */
} lm_query_t;

typedef struct {
    lm_ev_kind_t kind;
    int line;   /* 1-based line in the trace */
    char *text; /* the event as written, comments and extra blanks removed */
    uint64_t addr;
    uint64_t net;
    uint64_t num; /* min_links, port, seconds, flag */
    int query;    /* lm_query_t */
    bool flag;
    bool any_addr; /* node route*: `*` (the default for every address) */
    char s1[LM_TRACE_TOKEN], s2[LM_TRACE_TOKEN];
    unsigned expect_diff; /* FIX rules this line allows from here on (bit mask, fix_rules.h) */
} lm_event_t;

typedef struct {
    lm_event_t *ev;
    size_t n;
    unsigned expect_diff_all; /* `# expect-diff` lines before the first event: the whole trace */
} lm_trace_t;

/* Parse text (NUL-terminated). False with "line N: reason" in err on a syntax error. */
bool lm_trace_parse(const char *text, lm_trace_t *out, char *err, size_t errlen);
void lm_trace_free(lm_trace_t *t);
/* Read a whole file; NULL (and errno) on failure. */
char *lm_read_file(const char *path);

/* "XXXX::XXXX::XXXX::XXXX" (also accepted: 0x-hex or decimal); false if malformed. */
bool lm_parse_addr(const char *s, uint64_t *out);
/* 0x-hex, decimal, or INVALID (DAP_NET_ID_INVALID). */
bool lm_parse_net(const char *s, uint64_t *out);
const char *lm_addr_fmt(uint64_t a, char *buf); /* buf: at least 24 bytes */

#endif

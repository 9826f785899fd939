#include "fix_rules.h"

#include <string.h>

/* Output lines (replay.c): "rc N" (a call's result), "= ..." (a query), "cb <callback> ..." (the node's
 * callbacks), "sdk <journal line>" (what the stand-in SDK saw), "!misuse +N" (SDK misuses). */
const lm_fix_rule_t lm_fix_rules[] = {
    {"FIX-ADDNET-LOCK",
     "§3",
     "a duplicate add_net returns -3 with the nets lock held: every later call hangs",
     "anything from the duplicate add_net on (the C run cannot go past it)",
     {"*|*"}},
    {"FIX-ASSOC-STATUS",
     "§3",
     "a cluster associated with an active net stays DISABLED",
     "the cluster's status and members, the accounting adds to it and the counts that follow",
     {"query cluster|=", "*|sdk cluster_add", "*|cb link_count_changed", "query links_count|="}},
    {"FIX-DEINIT",
     "§2",
     "after deinit the manager pointer dangles and the timer runs: calls crash or act on freed state",
     "every result and effect of calls made after deinit",
     {"*|rc", "*|=", "*|sdk", "*|cb"}},
    {"FIX-BEFORE-INIT",
     "§5",
     "stream_add before init dereferences NULL",
     "the result of stream_add",
     {"stream_add|rc"}},
    {"FIX-CLIENT-UAF",
     "§7",
     "client callbacks reach the link through the client without a lock (use after free)",
     "every output of client events",
     {"client_connected|*", "client_error|*"}},
    {"FIX-LOOPBACK",
     "§4",
     "the loopback check compares a network-order address with a host-order constant",
     "link_update results, what fill_net_info got from it, and the uplink set-up and connect that follow",
     {"link_update|rc", "*|cb fill_net_info", "*|sdk set_uplink", "*|sdk set_always_reconnect",
      "*|sdk set_active_channels", "*|sdk go_stage", "client_connected|rc", "query link|="}},
    {"FIX-ORDER",
     "§5",
     "stream events at HIGH, accounting at NORMAL: a delete overtakes its accounting under load",
     "everything a burst does when it settles, and the queries after it (ghost links)",
     {"end|*", "query|="}},
    {"FIX-REPLACE-NOCLIENT",
     "§5",
     "stream_replace up->down on a link without client asserts",
     "every output of stream_replace",
     {"stream_replace|*"}},
    {"FIX-GHOST-DOWNLINK",
     "§5",
     "a never-accounted downlink's record is kept forever",
     "queries about links and the streams closed when the kept record goes later",
     {"query link|=", "query net_links|=", "*|sdk stream_close"}},
    {"FIX-CHANNELS-GLOBAL",
     "§9",
     "the channel list is empty before init, add/remove return -1 there, and init resets it",
     "channel call results, the channel list, and the channels set on clients",
     {"channel_add|rc", "channel_remove|rc", "query channels|=", "*|sdk set_active_channels"}},
};

const int lm_fix_rule_count = (int)(sizeof(lm_fix_rules) / sizeof(lm_fix_rules[0]));

int lm_fix_find(const char *name)
{
    for (int i = 0; i < lm_fix_rule_count; i++)
        if (!strcmp(lm_fix_rules[i].name, name))
            return i;
    return -1;
}

static bool pattern_matches(const char *pattern, const char *event_text, const char *line)
{
    const char *bar = strchr(pattern, '|');
    if (!bar)
        return false;
    size_t elen = (size_t)(bar - pattern);
    bool event_ok = (elen == 1 && pattern[0] == '*') || !strncmp(event_text, pattern, elen);
    const char *lp = bar + 1;
    bool line_ok = !strcmp(lp, "*") || !strncmp(line, lp, strlen(lp));
    return event_ok && line_ok;
}

bool lm_fix_explains(unsigned mask, const char *event_text, const char *line, int *which)
{
    for (int i = 0; i < lm_fix_rule_count; i++) {
        if (!(mask & (1u << i)))
            continue;
        for (int k = 0; k < LM_FIX_MAX_PATTERNS && lm_fix_rules[i].patterns[k]; k++)
            if (pattern_matches(lm_fix_rules[i].patterns[k], event_text, line)) {
                if (which)
                    *which = i;
                return true;
            }
    }
    return false;
}

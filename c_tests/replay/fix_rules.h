/* The intentional differences of the Rust library from the C link manager (CONTRACT.md §9b), as the
 * comparator knows them: for each FIX name, which differences of the replay output it explains.
 *
 * A trace allows a rule with a comment `# expect-diff FIX-NAME`: on a line before the first event, for
 * the whole trace; on an event's line, from that event on; on a line of its own, from the next event on.
 * A difference is explained when every differing output line matches one pattern of an allowed rule.
 * Any other difference fails the comparison. */
#ifndef LM_FIX_RULES_H
#define LM_FIX_RULES_H

#include <stdbool.h>

#define LM_FIX_MAX_PATTERNS 8

typedef struct {
    const char *name;     /* as in CONTRACT.md §9b */
    const char *contract; /* where the rule is written */
    const char *c_did;    /* what the C version does */
    const char *allows;   /* the output differences it explains, in words */
    /* "EVENT|LINE": EVENT a prefix of the event text ("*" any), LINE a prefix of the output line after
     * its indent ("*" any line of that event). */
    const char *patterns[LM_FIX_MAX_PATTERNS];
} lm_fix_rule_t;

extern const lm_fix_rule_t lm_fix_rules[];
extern const int lm_fix_rule_count;

/* Index of the rule called name, or -1. */
int lm_fix_find(const char *name);
/* True when some rule of mask explains that output line of that event. *which gets the rule index. */
bool lm_fix_explains(unsigned mask, const char *event_text, const char *line, int *which);

#endif

/* One link manager implementation loaded by path (dlopen RTLD_NOW | RTLD_LOCAL), its API resolved with
 * dlsym. Several can be loaded side by side in one process: each keeps its own state, and their SDK
 * imports resolve against the stand-in SDK the program links (-rdynamic, --no-as-needed). */
#ifndef LM_LIB_H
#define LM_LIB_H

#include <stdbool.h>

#include "dap_link_manager.h"

#define LM_FN(name) __typeof__(dap_link_manager_##name) *name

typedef struct lm_lib {
    char path[512];
    char name[64]; /* file name without directory, for messages */
    void *handle;
    /* the original API (every one required) */
    LM_FN(init);
    LM_FN(deinit);
    LM_FN(set_condition);
    LM_FN(get_condition);
    LM_FN(add_net);
    LM_FN(add_net_associate);
    LM_FN(remove_net);
    LM_FN(set_net_condition);
    LM_FN(get_net_condition);
    LM_FN(links_count);
    LM_FN(required_links_count);
    LM_FN(needed_links_count);
    LM_FN(established_uplinks_count);
    LM_FN(link_create);
    LM_FN(link_update);
    LM_FN(link_find);
    LM_FN(link_is_established);
    LM_FN(get_net_links_addrs);
    LM_FN(get_ignored_addrs);
    LM_FN(stream_add);
    LM_FN(stream_replace);
    LM_FN(stream_delete);
    LM_FN(accounting_link_in_net);
    LM_FN(add_links_cluster);
    LM_FN(remove_links_cluster);
    LM_FN(add_static_links_cluster);
    LM_FN(remove_static_links_cluster);
    LM_FN(add_active_channel);
    LM_FN(remove_active_channel);
    LM_FN(get_active_channels);
    /* test builds (both implementations, same contract); NULL when the library has none */
    LM_FN(sync);
    LM_FN(test_clock_set);
    LM_FN(test_clock_advance);
    LM_FN(test_tick);
    LM_FN(link_snapshot);
    __typeof__(dap_lm_link_snapshot_free) *link_snapshot_free;
} lm_lib_t;

#undef LM_FN

/* Load the library at path into *lib; false with a message in err when it cannot be loaded or lacks an
 * original function. The library stays loaded for the life of the process (never dlclose'd: a Rust
 * cdylib keeps thread-local destructors registered). */
bool lm_lib_load(lm_lib_t *lib, const char *path, char *err, size_t errlen);

/* The test hooks a deterministic replay needs (virtual clock, manual tick, flush). */
bool lm_lib_has_hooks(const lm_lib_t *lib);

#endif

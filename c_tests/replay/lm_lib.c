#include "lm_lib.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *symbol;
    size_t offset;
    bool required;
} lm_sym_t;

#define ORIG(field)                                                                                                    \
    {                                                                                                                  \
        "dap_link_manager_" #field, offsetof(lm_lib_t, field), true                                                    \
    }
#define HOOK(field)                                                                                                    \
    {                                                                                                                  \
        "dap_link_manager_" #field, offsetof(lm_lib_t, field), false                                                   \
    }

static const lm_sym_t k_syms[] = {
    ORIG(init),
    ORIG(deinit),
    ORIG(set_condition),
    ORIG(get_condition),
    ORIG(add_net),
    ORIG(add_net_associate),
    ORIG(remove_net),
    ORIG(set_net_condition),
    ORIG(get_net_condition),
    ORIG(links_count),
    ORIG(required_links_count),
    ORIG(needed_links_count),
    ORIG(established_uplinks_count),
    ORIG(link_create),
    ORIG(link_update),
    ORIG(link_find),
    ORIG(link_is_established),
    ORIG(get_net_links_addrs),
    ORIG(get_ignored_addrs),
    ORIG(stream_add),
    ORIG(stream_replace),
    ORIG(stream_delete),
    ORIG(accounting_link_in_net),
    ORIG(add_links_cluster),
    ORIG(remove_links_cluster),
    ORIG(add_static_links_cluster),
    ORIG(remove_static_links_cluster),
    ORIG(add_active_channel),
    ORIG(remove_active_channel),
    ORIG(get_active_channels),
    HOOK(sync),
    HOOK(test_clock_set),
    HOOK(test_clock_advance),
    HOOK(test_tick),
    HOOK(link_snapshot),
    {"dap_lm_link_snapshot_free", offsetof(lm_lib_t, link_snapshot_free), false},
};

bool lm_lib_load(lm_lib_t *lib, const char *path, char *err, size_t errlen)
{
    memset(lib, 0, sizeof(*lib));
    snprintf(lib->path, sizeof(lib->path), "%s", path);
    const char *slash = strrchr(path, '/');
    snprintf(lib->name, sizeof(lib->name), "%s", slash ? slash + 1 : path);
    /* RTLD_LOCAL: the two implementations export the same names; neither may serve the other's calls. */
    lib->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle) {
        snprintf(err, errlen, "dlopen %s: %s", path, dlerror());
        return false;
    }
    for (size_t i = 0; i < sizeof(k_syms) / sizeof(k_syms[0]); i++) {
        dlerror();
        void *p = dlsym(lib->handle, k_syms[i].symbol);
        if (!p && k_syms[i].required) {
            snprintf(err, errlen, "%s: no symbol %s", path, k_syms[i].symbol);
            return false;
        }
        /* POSIX: a data pointer from dlsym converts to a function pointer. */
        memcpy((char *)lib + k_syms[i].offset, &p, sizeof(p));
    }
    return true;
}

bool lm_lib_has_hooks(const lm_lib_t *lib)
{
    return lib->sync && lib->test_clock_set && lib->test_clock_advance && lib->test_tick;
}

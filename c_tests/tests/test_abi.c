/* ABI of the generated public header against shared/spec/ABI.md §2: every public type's size and
 * field offsets (checked at compile time AND at run time, so a failure names the field), enum values,
 * DAP_NET_ID_INVALID, callback signatures, and the version macros against dap_link_manager_version(). */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dap_link_manager.h"

static int s_failures;

static void expect_eq(const char *what, unsigned long long got, unsigned long long want)
{
    if (got != want) {
        fprintf(stderr, "ABI mismatch: %s is %llu, ABI.md says %llu\n", what, got, want);
        s_failures++;
    }
}

/* Both checks from one line: the build fails on a mismatch, and the run reports every one. */
#define ABI_EQ(expr, want)                                                                                             \
    _Static_assert((expr) == (want), #expr " == " #want);                                                              \
    expect_eq(#expr, (unsigned long long)(expr), (unsigned long long)(want))

/* Callback signatures: assigning these to the struct members fails to compile on any mismatch. */
static void cb_connected(dap_link_t *link, uint64_t net)
{
    (void)link;
    (void)net;
}
static bool cb_disconnected(dap_link_t *link, uint64_t net, int count)
{
    (void)link;
    (void)net;
    (void)count;
    return false;
}
static void cb_error(dap_link_t *link, uint64_t net, int stage)
{
    (void)link;
    (void)net;
    (void)stage;
}
static int cb_fill_net_info(dap_link_t *link)
{
    (void)link;
    return 0;
}
static int cb_link_request(uint64_t net)
{
    (void)net;
    return 0;
}
static int cb_link_count_changed(void)
{
    return 0;
}

static void test_basic_types(void)
{
    ABI_EQ(sizeof(dap_stream_node_addr_t), 8);
    ABI_EQ(alignof(dap_stream_node_addr_t), 1);
    ABI_EQ(sizeof(dap_list_t), 24);
    ABI_EQ(sizeof(UT_hash_handle), 56);
    ABI_EQ(sizeof(pthread_rwlock_t), 56);
    ABI_EQ(sizeof(bool), 1);
}

static void test_link_state(void)
{
    ABI_EQ(sizeof(dap_link_state_t), 4);
    ABI_EQ(LINK_STATE_DISCONNECTED, 0);
    ABI_EQ(LINK_STATE_CONNECTING, 1);
    ABI_EQ(LINK_STATE_ESTABLISHED, 2);
    ABI_EQ(DAP_NET_ID_INVALID, UINT64_MAX);
    ABI_EQ(DAP_NET_ID_INVALID, UINT64_C(~0));
}

static void test_link(void)
{
    ABI_EQ(sizeof(dap_link_t), 152);
    ABI_EQ(alignof(dap_link_t), 8);
    ABI_EQ(offsetof(dap_link_t, addr), 0);
    ABI_EQ(offsetof(dap_link_t, is_uplink), 8);
    ABI_EQ(offsetof(dap_link_t, active_clusters), 16);
    ABI_EQ(offsetof(dap_link_t, uplink), 24);
    ABI_EQ(offsetof(dap_link_t, uplink.state), 24);
    ABI_EQ(offsetof(dap_link_t, uplink.attempts_count), 28);
    ABI_EQ(offsetof(dap_link_t, uplink.client), 32);
    ABI_EQ(offsetof(dap_link_t, uplink.associated_nets), 40);
    ABI_EQ(offsetof(dap_link_t, uplink.start_after), 48);
    ABI_EQ(offsetof(dap_link_t, uplink.es_uuid), 56);
    ABI_EQ(offsetof(dap_link_t, uplink.ready), 64);
    ABI_EQ(offsetof(dap_link_t, static_clusters), 72);
    ABI_EQ(offsetof(dap_link_t, link_manager), 80);
    ABI_EQ(offsetof(dap_link_t, stream_is_destroyed), 88);
    ABI_EQ(offsetof(dap_link_t, hh), 96);
    ABI_EQ(sizeof(((dap_link_t *)0)->hh), 56);
    ABI_EQ(sizeof(((dap_link_t *)0)->uplink.start_after), 8);
    ABI_EQ(sizeof(((dap_link_t *)0)->uplink.es_uuid), 8);
    ABI_EQ(sizeof(((dap_link_t *)0)->uplink.attempts_count), 4);
    ABI_EQ(sizeof(((dap_link_t *)0)->uplink.ready), 1);
    ABI_EQ(sizeof(((dap_link_t *)0)->is_uplink), 1);
    ABI_EQ(sizeof(((dap_link_t *)0)->stream_is_destroyed), 1);
    ABI_EQ(sizeof(dap_link_uplink_t), 48);

    /* Field types as the node uses them. */
    dap_link_t link;
    memset(&link, 0, sizeof(link));
    dap_stream_node_addr_t *addr = &link.addr;
    dap_client_t **client = &link.uplink.client;
    dap_list_t **lists[] = {&link.active_clusters, &link.uplink.associated_nets, &link.static_clusters};
    dap_link_manager_t **manager = &link.link_manager;
    dap_link_state_t state = link.uplink.state;
    (void)addr;
    (void)client;
    (void)lists;
    (void)manager;
    (void)state;
}

static void test_callbacks(void)
{
    ABI_EQ(sizeof(dap_link_manager_callbacks_t), 48);
    ABI_EQ(offsetof(dap_link_manager_callbacks_t, connected), 0);
    ABI_EQ(offsetof(dap_link_manager_callbacks_t, disconnected), 8);
    ABI_EQ(offsetof(dap_link_manager_callbacks_t, error), 16);
    ABI_EQ(offsetof(dap_link_manager_callbacks_t, fill_net_info), 24);
    ABI_EQ(offsetof(dap_link_manager_callbacks_t, link_request), 32);
    ABI_EQ(offsetof(dap_link_manager_callbacks_t, link_count_changed), 40);
    dap_link_manager_callbacks_t cb = {
        .connected = cb_connected,
        .disconnected = cb_disconnected,
        .error = cb_error,
        .fill_net_info = cb_fill_net_info,
        .link_request = cb_link_request,
        .link_count_changed = cb_link_count_changed,
    };
    (void)cb;
}

static void test_manager(void)
{
    ABI_EQ(sizeof(dap_link_manager_t), 192);
    ABI_EQ(offsetof(dap_link_manager_t, active), 0);
    ABI_EQ(offsetof(dap_link_manager_t, max_attempts_num), 4);
    ABI_EQ(offsetof(dap_link_manager_t, reconnect_delay), 8);
    ABI_EQ(offsetof(dap_link_manager_t, nets), 16);
    ABI_EQ(offsetof(dap_link_manager_t, links), 24);
    ABI_EQ(offsetof(dap_link_manager_t, links_lock), 32);
    ABI_EQ(offsetof(dap_link_manager_t, nets_lock), 88);
    ABI_EQ(offsetof(dap_link_manager_t, callbacks), 144);
    ABI_EQ(sizeof(((dap_link_manager_t *)0)->max_attempts_num), 4);
    ABI_EQ(sizeof(((dap_link_manager_t *)0)->reconnect_delay), 4);
    dap_link_manager_t m;
    memset(&m, 0, sizeof(m));
    dap_link_t **links = &m.links;
    pthread_rwlock_t *locks[] = {&m.links_lock, &m.nets_lock};
    dap_link_manager_callbacks_t *cb = &m.callbacks;
    (void)links;
    (void)locks;
    (void)cb;
}

/* New result codes are never renumbered (STYLE.md): pin them. */
static void test_result_codes(void)
{
    ABI_EQ(sizeof(dap_lm_result_t), 4);
    ABI_EQ(DAP_LM_OK, 0);
    ABI_EQ(DAP_LM_ERR_INVALID_ARGUMENT, 1);
    ABI_EQ(DAP_LM_ERR_NOT_INITIALIZED, 2);
    ABI_EQ(DAP_LM_ERR_SHUTTING_DOWN, 3);
    ABI_EQ(DAP_LM_ERR_TIMEOUT, 4);
    ABI_EQ(DAP_LM_ERR_QUEUE_FULL, 5);
    ABI_EQ(DAP_LM_ERR_INTERNAL, 6);
    ABI_EQ(DAP_LM_ERR_NOT_FOUND, 7);
    ABI_EQ(DAP_LM_ERR_EXISTS, 8);
    ABI_EQ(DAP_LM_ERR_OWN_ADDRESS, 9);
    ABI_EQ(DAP_LM_ERR_BAD_HOST, 10);
    ABI_EQ(DAP_LM_ERR_NO_MEMORY, 11);
    ABI_EQ(DAP_LM_ERR_INACTIVE, 12);
}

static void test_version(void)
{
    const char *v = dap_link_manager_version();
    unsigned major = 0, minor = 0, patch = 0;
    char tail = 0;
    if (!v || sscanf(v, "%u.%u.%u%c", &major, &minor, &patch, &tail) != 3) {
        fprintf(stderr, "dap_link_manager_version() returned \"%s\", not MAJOR.MINOR.PATCH\n", v ? v : "(null)");
        s_failures++;
        return;
    }
    expect_eq("version major", major, DAP_LINK_MANAGER_VERSION_MAJOR);
    expect_eq("version minor", minor, DAP_LINK_MANAGER_VERSION_MINOR);
    expect_eq("version patch", patch, DAP_LINK_MANAGER_VERSION_PATCH);
#ifdef DAP_LINK_MANAGER_VERSION_STRING
    if (strcmp(v, DAP_LINK_MANAGER_VERSION_STRING) != 0) {
        fprintf(stderr, "version string \"%s\" != DAP_LINK_MANAGER_VERSION_STRING \"%s\"\n", v,
                DAP_LINK_MANAGER_VERSION_STRING);
        s_failures++;
    }
#endif
    if (v != dap_link_manager_version()) {
        fprintf(stderr, "dap_link_manager_version() must return one static string\n");
        s_failures++;
    }
}

int main(void)
{
    test_basic_types();
    test_link_state();
    test_link();
    test_callbacks();
    test_manager();
    test_result_codes();
    test_version();
    if (s_failures) {
        fprintf(stderr, "test_abi: %d mismatch(es)\n", s_failures);
        return 1;
    }
    printf("test_abi: public types match ABI.md, version %s\n", dap_link_manager_version());
    return 0;
}

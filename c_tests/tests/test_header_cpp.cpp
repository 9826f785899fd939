// The public header compiles as C++17 (-pedantic -Werror), declares its functions extern "C", and
// they link.
#include "dap_link_manager.h"

#include <cstdio>
#include <type_traits>

static_assert(std::is_standard_layout<dap_link_t>::value, "dap_link_t is a C struct");
static_assert(std::is_trivially_copyable<dap_link_manager_callbacks_t>::value, "callbacks are plain data");

int main()
{
    int (*init)(const dap_link_manager_callbacks_t *) = dap_link_manager_init;
    void (*deinit)() = dap_link_manager_deinit;
    int (*create)(dap_stream_node_addr_t *, uint64_t) = dap_link_manager_link_create;
    size_t (*count)(uint64_t) = dap_link_manager_links_count;
    void (*cluster_cb)(dap_cluster_member_t *, void *) = dap_link_manager_remove_links_cluster;
    const char *(*version)() = dap_link_manager_version;
    if (!init || !deinit || !create || !count || !cluster_cb || !version)
        return 1;
    dap_link_t link{};
    link.uplink.state = LINK_STATE_ESTABLISHED;
    if (link.uplink.state != LINK_STATE_ESTABLISHED)
        return 1;
    std::printf("test_header_cpp: ok (%s)\n", version());
    return 0;
}

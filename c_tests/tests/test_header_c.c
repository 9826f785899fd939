/* The public header compiles as strict C11 (-std=c11 -pedantic -Werror) with the SDK's include
 * names, and its functions link. Strict C11 hides POSIX types, and the header (like the SDK's) uses
 * pthread_rwlock_t, so ask for POSIX as any pthread user compiled with -std=c11 must. */
#define _POSIX_C_SOURCE 200809L
#include "dap_link_manager.h"

#include <stdio.h>

int main(void)
{
    void (*fns[])(void) = {
        (void (*)(void))dap_link_manager_init,
        (void (*)(void))dap_link_manager_deinit,
        (void (*)(void))dap_link_manager_get_default,
        (void (*)(void))dap_link_manager_link_create,
        (void (*)(void))dap_link_manager_link_update,
        (void (*)(void))dap_link_manager_stream_add,
        (void (*)(void))dap_link_manager_get_net_links_addrs,
        (void (*)(void))dap_link_manager_add_links_cluster,
        (void (*)(void))dap_link_manager_version,
    };
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
        if (!fns[i])
            return 1;
    dap_link_t link = {0};
    dap_link_manager_callbacks_t cb = {0};
    (void)link;
    (void)cb;
    printf("test_header_c: ok (%s)\n", dap_link_manager_version());
    return 0;
}

/* Links the installed library through its CMake package and checks the version macros agree. */
#include <stdio.h>
#include <string.h>

#include "dap_link_manager.h"

int main(void)
{
    const char *v = dap_link_manager_version();
    if (strcmp(v, DAP_LINK_MANAGER_VERSION_STRING) != 0) {
        fprintf(stderr, "version %s != header %s\n", v, DAP_LINK_MANAGER_VERSION_STRING);
        return 1;
    }
    if (dap_link_manager_get_default() != NULL || dap_link_manager_links_count(1) != 0)
        return 1;
    printf("installed dap_link_manager %s links and runs\n", v);
    return 0;
}

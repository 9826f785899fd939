/* Active channels (CONTRACT.md §9, FIX-CHANNELS-GLOBAL): one process-wide list, "RCGEND" at start, usable
 * before init and kept across init/deinit; the client gets the list current when link_update applies.
 * The list is process-wide, so the test order matters: the first test runs before any init. */
#include "lm_test.h"

#define NET UINT64_C(0x7001)
#define A UINT64_C(0x0000000000410001)

/* Before init (C: empty list, add/remove returned -1): the default list, and every code. */
static void test_channels_before_init(void)
{
    lm_begin();
    CHECK(dap_link_manager_get_default() == NULL);
    CHECK_STR(dap_link_manager_get_active_channels(), "RCGEND");

    CHECK_INT(dap_link_manager_add_active_channel('X'), -3); /* no channel processor */
    CHECK_STR(dap_link_manager_get_active_channels(), "RCGEND");
    sdk_ch_proc_register('X');
    CHECK_INT(dap_link_manager_add_active_channel('X'), 0);
    CHECK_STR(dap_link_manager_get_active_channels(), "RCGENDX");
    CHECK_INT(dap_link_manager_add_active_channel('X'), 0); /* already present */
    CHECK_INT(dap_link_manager_add_active_channel('R'), 0);
    CHECK_STR(dap_link_manager_get_active_channels(), "RCGENDX");

    CHECK_INT(dap_link_manager_remove_active_channel('X'), 0);
    CHECK_STR(dap_link_manager_get_active_channels(), "RCGEND");
    CHECK_INT(dap_link_manager_remove_active_channel('X'), -2); /* not present */
    CHECK_INT(dap_link_manager_remove_active_channel('Q'), -2);
    CHECK_INT(dap_link_manager_remove_active_channel('C'), 0);
    CHECK_STR(dap_link_manager_get_active_channels(), "RGEND");
    CHECK_INT(dap_link_manager_add_active_channel('C'), 0);
    CHECK_STR(dap_link_manager_get_active_channels(), "RGENDC");
    CHECK_INT(dap_link_manager_remove_active_channel('C'), 0);
    CHECK_INT(dap_link_manager_remove_active_channel('G'), 0);
    CHECK_INT(dap_link_manager_remove_active_channel('E'), 0);
    CHECK_INT(dap_link_manager_remove_active_channel('N'), 0);
    CHECK_INT(dap_link_manager_remove_active_channel('D'), 0);
    CHECK_INT(dap_link_manager_add_active_channel('C'), 0);
    CHECK_INT(dap_link_manager_add_active_channel('G'), 0);
    CHECK_INT(dap_link_manager_add_active_channel('E'), 0);
    CHECK_INT(dap_link_manager_add_active_channel('N'), 0);
    CHECK_INT(dap_link_manager_add_active_channel('D'), 0);
    CHECK_STR(dap_link_manager_get_active_channels(), "RCGEND");
    CHECK_INT(sdk_journal_len(), 0);
}

/* The list holds at most 255 channels; every registered non-zero id fits, the list is then full. */
static void test_channels_full_list(void)
{
    for (unsigned id = 0; id < 256; id++)
        sdk_ch_proc_register((uint8_t)id);
    int bad = 0;
    for (unsigned id = 1; id < 256; id++)
        bad += dap_link_manager_add_active_channel((char)id) != 0;
    CHECK_INT(bad, 0);
    const char *all = dap_link_manager_get_active_channels();
    CHECK_INT(strlen(all), 255);
    CHECK(strncmp(all, "RCGEND", 6) == 0);
    CHECK_INT(dap_link_manager_add_active_channel('\0'), -2); /* nothing more fits */
    CHECK_INT(strlen(dap_link_manager_get_active_channels()), 255);
    for (unsigned id = 1; id < 256; id++)
        if (!strchr("RCGEND", (int)id))
            bad += dap_link_manager_remove_active_channel((char)id) != 0;
    CHECK_INT(bad, 0);
    CHECK_STR(dap_link_manager_get_active_channels(), "RCGEND");
    sdk_reset(); /* default channel processors again */
}

static void add_y_inside_fill(dap_link_t *link)
{
    (void)link;
    CHECK_INT(dap_link_manager_add_active_channel('Y'), 0);
}

/* Kept across init/deinit; the client gets the list current when link_update is applied. */
static void test_channels_kept_and_used(void)
{
    lm_begin();
    sdk_ch_proc_register('X');
    sdk_ch_proc_register('Y');
    CHECK_INT(dap_link_manager_add_active_channel('X'), 0); /* before init */
    REQUIRE(lm_init() == 0);
    CHECK_STR(dap_link_manager_get_active_channels(), "RCGENDX"); /* init kept it */
    dap_cluster_t *c = lm_net_on(NET, "net", 1);
    CHECK_INT(lm_create(A, NET), 0);
    uint64_t id = lm_last_client_new();

    CHECK_INT(lm_update(A, "10.7.7.7", 80), 0);
    lm_settle();
    CHECK_INT(lm_journal_count_exact("set_active_channels %" PRIu64 " RCGENDX %s", id, lm_a(A)), 1);

    CHECK_INT(dap_link_manager_remove_active_channel('X'), 0); /* while running */
    CHECK_INT(lm_update(A, "10.7.7.8", 80), 0);
    lm_settle();
    CHECK_INT(lm_journal_count_exact("set_active_channels %" PRIu64 " RCGEND %s", id, lm_a(A)), 1);

    /* fill_net_info calls link_update, then a channel is added before the callback returns: the update
     * is applied after the callback, with the list as it is then */
    g_rec.hook_fill = add_y_inside_fill;
    CHECK_INT(lm_wake_up(), DAP_LM_OK);
    lm_settle();
    CHECK_INT(lm_count(EV_FILL, A, 0), 1);
    CHECK_INT(lm_journal_count_exact("set_active_channels %" PRIu64 " RCGENDY %s", id, lm_a(A)), 1);
    g_rec.hook_fill = NULL;

    dap_link_manager_deinit();
    CHECK_STR(dap_link_manager_get_active_channels(), "RCGENDY"); /* deinit kept it */
    CHECK_INT(dap_link_manager_add_active_channel('X'), 0);       /* and it still works */
    CHECK_STR(dap_link_manager_get_active_channels(), "RCGENDYX");
    REQUIRE(lm_init() == 0);
    CHECK_STR(dap_link_manager_get_active_channels(), "RCGENDYX");
    lm_end();
    CHECK_INT(dap_link_manager_remove_active_channel('X'), 0);
    CHECK_INT(dap_link_manager_remove_active_channel('Y'), 0);
    CHECK_STR(dap_link_manager_get_active_channels(), "RCGEND");
    sdk_cluster_free(c);
}

int main(void)
{
    LM_RUN(test_channels_before_init);
    LM_RUN(test_channels_full_list);
    LM_RUN(test_channels_kept_and_used);
    return lm_summary("test_channels");
}

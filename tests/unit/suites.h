/* suites.h: every Check suite of the unit-test runner; add a suite here and in unit_tests.c. */
#ifndef DP_SUITES_H
#define DP_SUITES_H

#include <check.h>

Suite *bencode_suite(void);
Suite *picker_suite(void);
Suite *choker_suite(void);
Suite *storage_suite(void);
Suite *disk_suite(void);
Suite *wire_suite(void);
Suite *metainfo_suite(void);
Suite *magnet_suite(void);
Suite *ui_widgets_suite(void);
Suite *ui_prompt_suite(void);
Suite *config_suite(void);
Suite *create_suite(void);
Suite *tracker_suite(void);
Suite *resume_suite(void);
Suite *engine_suite(void);
Suite *rpc_suite(void);
Suite *ut_metadata_suite(void);
Suite *ut_pex_suite(void);
Suite *settings_suite(void);
Suite *task_suite(void);
Suite *review_suite(void);
Suite *smartban_suite(void);
Suite *udp_socket_suite(void);
Suite *krpc_suite(void);
Suite *dht_table_suite(void);
Suite *mse_suite(void);

#endif

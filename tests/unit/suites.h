/* suites.h: every Check suite of the unit-test runner, in one list. A new suite is one line
 * here (and its check_NAME.c in Makefile.am): the list declares NAME_suite() for its file and
 * registers it in unit_tests.c. A suite missing here is a -Wmissing-prototypes warning (an
 * error with --enable-werror), one listed without its file fails the link. */
#ifndef DP_SUITES_H
#define DP_SUITES_H

#include <check.h>

#define DP_SUITES(X) \
	X(bencode) \
	X(blocklist) \
	X(picker) \
	X(choker) \
	X(storage) \
	X(disk) \
	X(wire) \
	X(peer_splice) \
	X(metainfo) \
	X(metainfo_v2) \
	X(merkle) \
	X(wire_hash) \
	X(magnet) \
	X(ui_widgets) \
	X(ui_prompt) \
	X(ui_columns) \
	X(config) \
	X(create) \
	X(tracker) \
	X(resume) \
	X(engine) \
	X(rpc) \
	X(rpc_json) \
	X(ut_metadata) \
	X(ut_pex) \
	X(settings) \
	X(task) \
	X(review) \
	X(smartban) \
	X(krpc) \
	X(dht_table) \
	X(dht) \
	X(lsd) \
	X(udp_socket) \
	X(mse) \
	X(utp) \
	X(utp_recovery) \
	X(escape) \
	X(transport) \
	X(changes) \
	X(client) \
	X(attach) \
	X(alt_speed) \
	X(tracker_list) \
	X(tracker_gate) \
	X(tracker_scrape) \
	X(idmap) \
	X(watch) \
	X(piece_mem)

#define DP_SUITE_DECLARE(name) Suite *name##_suite(void);
DP_SUITES(DP_SUITE_DECLARE)
#undef DP_SUITE_DECLARE

#endif

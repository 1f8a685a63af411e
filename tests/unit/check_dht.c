/* check_dht.c: DHT nodes on one loop over real UDP sockets on 127.0.0.1: a swarm bootstraps
 * from one node, an announced info-hash is found by another node's lookup, answers stay within
 * the amplification bound, malformed datagrams are dropped and counted (and other protocols'
 * datagrams left alone), a flooding source is rate limited, a bad token is refused, and the
 * node table is saved and reused. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "dht.h"
#include "dht_state.h"
#include "disk.h"
#include "krpc.h"
#include "suites.h"
#include "task.h"
#include "test_helpers.h"
#include "udp_socket.h"
#include "util.h"

#define SWARM 12

struct found {
	uint8_t ih[20];
	int calls;
	uint16_t ports[64];
	size_t nports;
};

struct node {
	struct udp_socket *u;
	struct dht *d;
	struct found found;
	char boot[32];
};

static struct event_base *base;
static struct node nodes[SWARM];

static void
got_peers(void *arg, void *owner, const uint8_t info_hash[20], const struct krpc_peer *peers,
    size_t n)
{
	struct found *f = arg;
	ck_assert_ptr_eq(owner, f);
	if (memcmp(info_hash, f->ih, 20) != 0)
		return;
	f->calls++;
	for (size_t i = 0; i < n && f->nports < DP_ARRAY_LEN(f->ports); i++)
		f->ports[f->nports++] = ntohs(((const struct sockaddr_in *)&peers[i].addr)->sin_port);
}

static void
lo4(struct sockaddr_in *sin, uint16_t port)
{
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static void
node_start(struct node *n, const char *boot, uint16_t peer_port, struct disk_pool *pool)
{
	struct sockaddr_in sin;
	lo4(&sin, 0);
	char err[256] = "";
	n->u = udp_socket_new(base, (struct sockaddr *)&sin, sizeof sin, err, sizeof err);
	ck_assert_msg(n->u != NULL, "udp_socket_new: %s", err);
	snprintf(n->boot, sizeof n->boot, "%s", boot);
	const char *list[1] = { n->boot };
	struct dht_config cfg = { list, 1, peer_port, true };
	struct dht_callbacks cb = { got_peers, &n->found };
	n->d = dht_new(base, NULL, pool, n->u, NULL, &cfg, &cb, err, sizeof err);
	ck_assert_msg(n->d != NULL, "dht_new: %s", err);
}

static void
node_stop(struct node *n)
{
	dht_free(n->d);
	udp_socket_free(n->u);
	memset(n, 0, sizeof *n);
}

static size_t
good_of(struct node *n)
{
	struct dht_stats st;
	dht_get_stats(n->d, &st);
	return st.good;
}

static bool
all_good(size_t min)
{
	for (int i = 0; i < SWARM; i++)
		if (good_of(&nodes[i]) < min)
			return false;
	return true;
}

static void
swarm_setup(void)
{
	base = event_base_new();
	memset(nodes, 0, sizeof nodes);
	char boot[32];
	/* node 0 knows nobody (a dead address); every other node starts from node 0 */
	node_start(&nodes[0], "127.0.0.1:1", 6000, NULL);
	snprintf(boot, sizeof boot, "127.0.0.1:%d", udp_socket_port(nodes[0].u));
	for (int i = 1; i < SWARM; i++)
		node_start(&nodes[i], boot, (uint16_t)(6000 + i), NULL);
	RUN_UNTIL(base, all_good(4), 30);
	ck_assert_msg(all_good(4), "the swarm did not bootstrap");
}

static void
swarm_teardown(void)
{
	for (int i = 0; i < SWARM; i++)
		if (nodes[i].d != NULL)
			node_stop(&nodes[i]);
	event_base_free(base);
	base = NULL;
	ck_assert_uint_eq(task_held_count(), 0);
}

static bool
lookup_done(struct node *n, const uint8_t ih[20])
{
	struct dht_torrent_info info;
	return dht_torrent_info(n->d, ih, &info) && !info.searching && info.last_lookup != 0;
}

/* Node 3 announces an info-hash; node 9 looks it up and hears of node 3's peer port. */
START_TEST(test_announce_and_find)
{
	uint8_t ih[20];
	memset(ih, 0xa7, 20);
	dht_announce_add(nodes[3].d, ih, 1, "test", &nodes[3].found);
	RUN_UNTIL(base, lookup_done(&nodes[3], ih), 20);
	struct dht_torrent_info info;
	ck_assert(dht_torrent_info(nodes[3].d, ih, &info));
	ck_assert_uint_gt(info.nodes_last, 0);
	ck_assert_uint_gt(info.announced_last, 0);
	ck_assert_int_gt(info.next_lookup, info.last_lookup);

	memcpy(nodes[9].found.ih, ih, 20);
	dht_announce_add(nodes[9].d, ih, 2, "test", &nodes[9].found);
	RUN_UNTIL(base, nodes[9].found.nports > 0 && lookup_done(&nodes[9], ih), 20);
	bool seen = false;
	for (size_t i = 0; i < nodes[9].found.nports; i++)
		seen |= nodes[9].found.ports[i] == 6003;
	ck_assert_msg(seen, "node 9 did not find node 3's peer port");
	ck_assert(dht_torrent_info(nodes[9].d, ih, &info));
	ck_assert_uint_ge(info.peers_last, 1);
	/* the lookup was a task of the torrent, and it finished */
	bool task_seen = false;
	for (struct dp_task *t = task_first(); t != NULL; t = task_next(t))
		if (t->kind == DP_TASK_KIND_DHT && t->torrent_id == 2 &&
		    strstr(t->name, "get_peers") != NULL) {
			task_seen = true;
			ck_assert_int_eq(t->state, DP_TASK_DONE);
			ck_assert_ptr_nonnull(strstr(t->reason, "peers from"));
		}
	ck_assert(task_seen);
	dht_announce_remove(nodes[9].d, ih);
	ck_assert(!dht_torrent_info(nodes[9].d, ih, &info));
}
END_TEST

/* A client socket to talk KRPC to a node by hand. */
static int
client_open(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in sin;
	lo4(&sin, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	return fd;
}

static void
client_send(int fd, struct node *to, const void *data, size_t len)
{
	struct sockaddr_in sin;
	lo4(&sin, (uint16_t)udp_socket_port(to->u));
	ck_assert_int_eq((int)sendto(fd, data, len, 0, (struct sockaddr *)&sin, sizeof sin),
	    (int)len);
}

/* True for a datagram that answers us (the node also pings new senders: 'y' 'q'). */
static bool
is_answer(const uint8_t *buf, ssize_t n)
{
	static struct krpc_msg m;
	char err[128];
	return n > 0 && krpc_decode(buf, (size_t)n, &m, err, sizeof err) == 0 &&
	    m.type != KRPC_QUERY;
}

/* Runs the loop until an answer arrives (or 5 s pass); its length, or -1. */
static ssize_t
client_recv(int fd, uint8_t *buf, size_t cap)
{
	uint64_t deadline = dp_now_ms() + 5000;
	while (dp_now_ms() < deadline) {
		ssize_t n = recv(fd, buf, cap, 0);
		if (n < 0)
			th_loop_run(base, 20);
		else if (is_answer(buf, n))
			return n;
	}
	return -1;
}

/* Answers that arrive within ms. */
static size_t
client_drain(int fd, unsigned ms)
{
	size_t got = 0;
	uint8_t buf[2048];
	uint64_t deadline = dp_now_ms() + ms;
	while (dp_now_ms() < deadline) {
		th_loop_run(base, 20);
		ssize_t n;
		while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
			got += is_answer(buf, n);
	}
	return got;
}

/* An answer never exceeds DHT_AMP_FACTOR times its query, even when the node stores many
 * peers for the hash and the query wants both families of nodes. */
START_TEST(test_no_amplification)
{
	uint8_t ih[20];
	memset(ih, 0x3d, 20);
	int fd = client_open();
	static struct krpc_msg m;
	char err[128];
	uint8_t buf[2048];
	/* get a token, then announce 60 peers from 60 sockets' worth of ports (implied off) */
	uint8_t id[20];
	memset(id, 0x44, 20);
	struct krpc_head h = { (const uint8_t *)"t1", 2, NULL, false };
	struct dp_buf q;
	dp_buf_init(&q);
	krpc_enc_get_peers(&q, &h, id, ih, true, true);
	client_send(fd, &nodes[5], q.data, q.len);
	ssize_t n = client_recv(fd, buf, sizeof buf);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(krpc_decode(buf, (size_t)n, &m, err, sizeof err), 0);
	ck_assert_uint_le((size_t)n, DHT_AMP_FACTOR * q.len);
	ck_assert_uint_gt(m.token_len, 0);
	uint8_t token[KRPC_TOKEN_MAX];
	size_t token_len = m.token_len;
	memcpy(token, m.token, token_len);
	for (int i = 0; i < 60; i++) {
		q.len = 0;
		krpc_enc_announce_peer(&q, &h, id, ih, (uint16_t)(20000 + i), false, token, token_len);
		client_send(fd, &nodes[5], q.data, q.len);
		/* stay under the per-source rate */
		if (i % 10 == 9)
			client_drain(fd, 600);
	}
	client_drain(fd, 300);
	q.len = 0;
	krpc_enc_get_peers(&q, &h, id, ih, false, false);
	client_send(fd, &nodes[5], q.data, q.len);
	n = client_recv(fd, buf, sizeof buf);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(krpc_decode(buf, (size_t)n, &m, err, sizeof err), 0);
	ck_assert(m.has_values);
	ck_assert_uint_gt(m.nvalues, 10);
	ck_assert_uint_lt(m.nvalues, 60);
	ck_assert_uint_le((size_t)n, DHT_AMP_FACTOR * q.len);
	/* a bad token is refused with 203 */
	client_drain(fd, 1000);
	q.len = 0;
	krpc_enc_announce_peer(&q, &h, id, ih, 7777, false, (const uint8_t *)"nottoken", 8);
	client_send(fd, &nodes[5], q.data, q.len);
	n = client_recv(fd, buf, sizeof buf);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(krpc_decode(buf, (size_t)n, &m, err, sizeof err), 0);
	ck_assert_int_eq(m.type, KRPC_ERROR);
	ck_assert_int_eq(m.error_code, KRPC_ERR_PROTOCOL);
	dp_buf_free(&q);
	close(fd);
}
END_TEST

/* Garbage starting with 'd' is the DHT's: dropped and counted (a query with a bad argument
 * hears 203); anything else is left to the socket's other handlers. A flood from one source
 * gets about a burst's worth of answers. */
START_TEST(test_malformed_and_rate)
{
	int fd = client_open();
	struct dht_stats before, after;
	dht_get_stats(nodes[7].d, &before);
	static const char *const junk[] = {
		"d", "de", "d1:t2:aa1:y1:qe", "d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe", "dxxxxxxxxx",
		"d1:rd2:id20:abcdefghij0123456789e1:t4:zzzz1:y1:re",   /* no such transaction */
	};
	for (size_t i = 0; i < DP_ARRAY_LEN(junk); i++)
		client_send(fd, &nodes[7], junk[i], strlen(junk[i]));
	client_send(fd, &nodes[7], "\x41\x00hello", 7);    /* uTP's or anyone's: not claimed */
	client_drain(fd, 300);
	dht_get_stats(nodes[7].d, &after);
	ck_assert_uint_eq(after.malformed - before.malformed, 5);
	ck_assert_uint_eq(after.unexpected - before.unexpected, 1);
	struct udp_socket_stats us;
	udp_socket_stats(nodes[7].u, &us);
	ck_assert_uint_ge(us.unclaimed, 1);

	/* 200 pings at once from one source */
	uint8_t id[20];
	memset(id, 0x55, 20);
	struct krpc_head h = { (const uint8_t *)"pp", 2, NULL, false };
	struct dp_buf q;
	dp_buf_init(&q);
	krpc_enc_ping(&q, &h, id);
	dht_get_stats(nodes[7].d, &before);
	for (int i = 0; i < 200; i++)
		client_send(fd, &nodes[7], q.data, q.len);
	size_t answers = client_drain(fd, 500);
	dht_get_stats(nodes[7].d, &after);
	ck_assert_uint_le(answers, DHT_IN_SOURCE_BURST + 15);
	ck_assert_uint_ge(answers, 5);
	ck_assert_uint_ge(after.dropped_rate - before.dropped_rate, 200 - answers - 15);
	dp_buf_free(&q);
	close(fd);
}
END_TEST

/* A node's table is saved in its state file and the next node on that file starts with the
 * same ID and those nodes (and needs no bootstrap address that works). */
START_TEST(test_saved_table)
{
	char dir[256];
	th_tmpdir_make(dir, sizeof dir, "dht");
	struct disk_pool *pool = disk_pool_new(base, 1);
	char *path = xasprintf("%s/%s", dir, DHT_STATE_FILE);
	struct node n;
	memset(&n, 0, sizeof n);
	char boot[32];
	snprintf(boot, sizeof boot, "127.0.0.1:%d", udp_socket_port(nodes[0].u));
	node_start(&n, boot, 7000, pool);
	dht_set_state_file(n.d, path);
	RUN_UNTIL(base, good_of(&n) >= 6, 30);
	ck_assert_uint_ge(good_of(&n), 6);
	struct dht_stats st;
	dht_get_stats(n.d, &st);
	uint8_t id[20];
	memcpy(id, st.id, 20);
	node_stop(&n);
	th_loop_run(base, 200);
	disk_pool_free(pool);             /* lets the final save finish */
	uint8_t *data;
	size_t len;
	ck_assert_int_eq(dp_read_file(path, DHT_STATE_MAX_BYTES, &data, &len), 0);
	uint8_t sid[20];
	struct krpc_node *saved;
	size_t nsaved;
	char err[128];
	ck_assert_int_eq(dht_state_decode(data, len, sid, &saved, &nsaved, err, sizeof err), 0);
	ck_assert_mem_eq(sid, id, 20);
	ck_assert_uint_ge(nsaved, 6);
	free(saved);
	free(data);

	/* the next start: a dead bootstrap address, the saved table is enough */
	pool = disk_pool_new(base, 1);
	node_start(&n, "127.0.0.1:1", 7001, pool);
	dht_set_state_file(n.d, path);
	RUN_UNTIL(base, good_of(&n) >= 6, 30);
	ck_assert_uint_ge(good_of(&n), 6);
	dht_get_stats(n.d, &st);
	ck_assert_mem_eq(st.id, id, 20);
	node_stop(&n);
	th_loop_run(base, 100);
	disk_pool_free(pool);
	free(path);
	th_rm_rf(dir);
}
END_TEST

/* A node told of another's address (the PORT message) pings it and adds it. */
START_TEST(test_add_node)
{
	struct node n;
	memset(&n, 0, sizeof n);
	node_start(&n, "127.0.0.1:1", 7100, NULL);
	th_loop_run(base, 200);
	ck_assert_uint_eq(good_of(&n), 0);
	struct sockaddr_in sin;
	lo4(&sin, (uint16_t)udp_socket_port(nodes[4].u));
	dht_add_node(n.d, (struct sockaddr *)&sin, sizeof sin);
	RUN_UNTIL(base, good_of(&n) >= 1, 10);
	ck_assert_uint_ge(good_of(&n), 1);
	node_stop(&n);
}
END_TEST

Suite *
dht_suite(void)
{
	Suite *s = suite_create("dht");
	TCase *tc = tcase_create("swarm");
	tcase_add_checked_fixture(tc, swarm_setup, swarm_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_announce_and_find);
	tcase_add_test(tc, test_no_amplification);
	tcase_add_test(tc, test_malformed_and_rate);
	tcase_add_test(tc, test_saved_table);
	tcase_add_test(tc, test_add_node);
	suite_add_tcase(s, tc);
	return s;
}

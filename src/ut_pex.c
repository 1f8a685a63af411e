/* ut_pex.c: BEP 11 peer exchange: the ut_pex codec, peers learnt from it, and the added/dropped
 * lists each peer is sent once a minute (what it was last told against who is connected now). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "bencode.h"
#include "log.h"
#include "metainfo.h"
#include "net.h"
#include "peer.h"
#include "peer_ext.h"
#include "session_settings.h"
#include "task.h"
#include "torrent.h"
#include "ut_pex.h"
#include "wire.h"

#define UT_PEX_MIN_RECV_GAP_MS (20u * 1000u)   /* faster senders are ignored */
/* New addresses taken from one message (BEP 11's own bound for senders) and from one peer while
 * it stays connected: 200 addresses in a message were all dialled, 144 of them within 8 s. */
#define UT_PEX_LEARN_PER_MSG 50u
#define UT_PEX_LEARN_PER_PEER 200u
#define UT_PEX_NAME "ut_pex"                   /* BEP 11's key in the handshake's "m" */

static const struct be_limits ut_pex_limits = {
	.max_depth = 4,
	.max_items = 256,
	.require_sorted = false,
};

static int
ut_pex_fail(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
	return -1;
}

/* Appends the compact entries of list key (v6: 18-byte entries) with the flags of fkey. */
static int
ut_pex_parse_list(const struct be_node *d, const char *key, const char *fkey, bool v6,
    struct ut_pex_peer **arr, size_t *n, const char **why)
{
	struct be_node *l = be_dict_get_type(d, key, BE_STR);
	if (l == NULL)
		return 0;
	size_t esz = v6 ? 18 : 6;
	if (l->v.str.len % esz != 0) {
		*why = "a peer list of partial entries";
		return -1;
	}
	size_t cnt = l->v.str.len / esz;
	if (cnt > UT_PEX_MAX_PEERS) {
		*why = "too many peers in one message";
		return -1;
	}
	struct be_node *f = fkey != NULL ? be_dict_get_type(d, fkey, BE_STR) : NULL;
	if (f != NULL && f->v.str.len != cnt)
		f = NULL;
	if (cnt == 0)
		return 0;
	*arr = xreallocarray(*arr, *n + cnt, sizeof **arr);
	const uint8_t *b = (const uint8_t *)l->v.str.s;
	for (size_t i = 0; i < cnt; i++, b += esz) {
		struct ut_pex_peer pp;
		memset(&pp, 0, sizeof pp);
		uint16_t port = (uint16_t)(b[esz - 2] << 8 | b[esz - 1]);
		if (port == 0)
			continue;
		if (v6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&pp.addr;
			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, b, 16);
			s6->sin6_port = htons(port);
			pp.len = sizeof *s6;
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&pp.addr;
			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, b, 4);
			s4->sin_port = htons(port);
			pp.len = sizeof *s4;
		}
		pp.flags = f != NULL ? (uint8_t)f->v.str.s[i] : 0;
		(*arr)[(*n)++] = pp;
	}
	return 0;
}

int
ut_pex_parse(const uint8_t *payload, size_t len, struct ut_pex_msg *out, char *err,
    size_t errlen)
{
	memset(out, 0, sizeof *out);
	struct be_error berr = { 0 };
	struct be_node *d = be_decode(payload, len, &ut_pex_limits, &berr);
	if (d == NULL)
		return ut_pex_fail(err, errlen, "not bencoded");
	const char *why = NULL;
	if (d->type != BE_DICT)
		why = "not a dictionary";
	else if (ut_pex_parse_list(d, "added", "added.f", false, &out->added, &out->nadded,
	    &why) < 0 ||
	    ut_pex_parse_list(d, "added6", "added6.f", true, &out->added, &out->nadded, &why) < 0 ||
	    ut_pex_parse_list(d, "dropped", NULL, false, &out->dropped, &out->ndropped, &why) < 0 ||
	    ut_pex_parse_list(d, "dropped6", NULL, true, &out->dropped, &out->ndropped, &why) < 0) {
		/* why is set */
	}
	be_free(d);
	if (why != NULL) {
		ut_pex_msg_free(out);
		return ut_pex_fail(err, errlen, why);
	}
	return 0;
}

void
ut_pex_msg_free(struct ut_pex_msg *m)
{
	free(m->added);
	free(m->dropped);
	memset(m, 0, sizeof *m);
}

static void
ut_pex_put_list(struct dp_buf *out, const char *key, const char *fkey, int family,
    const struct ut_pex_peer *p, size_t n)
{
	struct dp_buf l, f;
	dp_buf_init(&l);
	dp_buf_init(&f);
	for (size_t i = 0; i < n; i++) {
		if (p[i].addr.ss_family != family)
			continue;
		if (family == AF_INET) {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)&p[i].addr;
			dp_buf_add(&l, &s4->sin_addr, 4);
			dp_buf_add(&l, &s4->sin_port, 2);
		} else {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&p[i].addr;
			dp_buf_add(&l, &s6->sin6_addr, 16);
			dp_buf_add(&l, &s6->sin6_port, 2);
		}
		dp_buf_add(&f, &p[i].flags, 1);
	}
	be_enc_cstr(out, key);
	be_enc_str(out, l.data, l.len);
	if (fkey != NULL) {
		be_enc_cstr(out, fkey);
		be_enc_str(out, f.data, f.len);
	}
	dp_buf_free(&l);
	dp_buf_free(&f);
}

void
ut_pex_build(struct dp_buf *out, const struct ut_pex_peer *added, size_t nadded,
    const struct ut_pex_peer *dropped, size_t ndropped)
{
	/* Keys in sorted order: added, added.f, added6, added6.f, dropped, dropped6. */
	be_enc_dict_begin(out);
	ut_pex_put_list(out, "added", "added.f", AF_INET, added, nadded);
	ut_pex_put_list(out, "added6", "added6.f", AF_INET6, added, nadded);
	ut_pex_put_list(out, "dropped", NULL, AF_INET, dropped, ndropped);
	ut_pex_put_list(out, "dropped6", NULL, AF_INET6, dropped, ndropped);
	be_enc_end(out);
}

/* ---- the engine side ---- */

struct pex_peer {
	struct peer *p;
	struct ut_pex_peer *told;      /* what it was last told is connected */
	size_t ntold;
	uint64_t sent_ms, recv_ms;
	unsigned learnt;               /* new addresses taken from it so far */
};

struct ut_pex_state {
	struct pex_peer *peers;
	size_t n, cap;
};

/* The pex setting, and BEP 27: never for private torrents. */
static bool
ut_pex_allowed(const struct torrent *t)
{
	return t->env->set->pex && !t->mi->is_private;
}

static struct pex_peer *
ut_pex_find(struct torrent *t, const struct peer *p, bool create)
{
	if (t->pex == NULL) {
		if (!create)
			return NULL;
		t->pex = xcalloc(1, sizeof *t->pex);
	}
	struct ut_pex_state *s = t->pex;
	for (size_t i = 0; i < s->n; i++)
		if (s->peers[i].p == p)
			return &s->peers[i];
	if (!create)
		return NULL;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->peers = xreallocarray(s->peers, s->cap, sizeof *s->peers);
	}
	struct pex_peer *pp = &s->peers[s->n++];
	memset(pp, 0, sizeof *pp);
	pp->p = (struct peer *)(uintptr_t)p;
	return pp;
}

/* A message with our ut_pex id: known peers are added (private torrents ignore it). */
static void
ut_pex_on_message(void *owner, struct peer *p, const uint8_t *payload, size_t len)
{
	struct torrent *t = owner;
	if (!ut_pex_allowed(t))
		return;
	uint64_t now = dp_now_ms();
	struct pex_peer *pp = ut_pex_find(t, p, true);
	if (pp->recv_ms != 0 && now - pp->recv_ms < UT_PEX_MIN_RECV_GAP_MS) {
		log_debug("peer %s: ut_pex again after %llu ms; ignored", p->addr_str,
		    (unsigned long long)(now - pp->recv_ms));
		return;
	}
	pp->recv_ms = now;
	struct ut_pex_msg m;
	char err[128];
	if (ut_pex_parse(payload, len, &m, err, sizeof err) < 0) {
		peer_close(p, "protocol violation: ut_pex: %s", err);
		return;
	}
	unsigned took = 0;
	size_t i = 0;
	for (; i < m.nadded && took < UT_PEX_LEARN_PER_MSG && pp->learnt < UT_PEX_LEARN_PER_PEER;
	    i++) {
		if (torrent_add_known_peer(t, (struct sockaddr *)&m.added[i].addr, m.added[i].len)) {
			took++;
			pp->learnt++;
		}
	}
	if (took > 0 || i < m.nadded)
		log_debug("%s: %u new peers from %s by PEX%s", t->mi->name, took, p->addr_str,
		    i < m.nadded ? " (its caps reached: the rest ignored)" : "");
	ut_pex_msg_free(&m);
	if (torrent_is_active(t))
		torrent_connect_peers(t, now);
}

/* Where q can be reached: outgoing connections at their address, incoming ones at the listen
 * port their extension handshake names (their source port is ephemeral). */
static bool
ut_pex_entry(const struct peer *q, struct ut_pex_peer *out)
{
	if (q->dead || !q->handshake_done)
		return false;
	memset(out, 0, sizeof *out);
	memcpy(&out->addr, &q->addr, sizeof out->addr);
	out->len = q->addrlen;
	if (q->incoming) {
		if (q->exth.port == 0)
			return false;
		if (out->addr.ss_family == AF_INET)
			((struct sockaddr_in *)&out->addr)->sin_port = htons(q->exth.port);
		else
			((struct sockaddr_in6 *)&out->addr)->sin6_port = htons(q->exth.port);
	} else {
		out->flags |= UT_PEX_F_REACHABLE;
	}
	if (q->has_all || q->upload_only)
		out->flags |= UT_PEX_F_SEED;
	return true;
}

static bool
ut_pex_contains(const struct ut_pex_peer *a, size_t n, const struct ut_pex_peer *x)
{
	for (size_t i = 0; i < n; i++)
		if (sockaddr_equal((const struct sockaddr *)&a[i].addr,
		    (const struct sockaddr *)&x->addr, true))
			return true;
	return false;
}

static void
ut_pex_send(struct torrent *t, struct pex_peer *pp, const struct ut_pex_peer *cur, size_t ncur,
    uint64_t now)
{
	struct peer *p = pp->p;
	struct ut_pex_peer added[UT_PEX_SEND_MAX], dropped[UT_PEX_SEND_MAX];
	size_t na = 0, nd = 0;
	struct ut_pex_peer self;
	bool have_self = ut_pex_entry(p, &self);
	for (size_t i = 0; i < ncur && na < UT_PEX_SEND_MAX; i++) {
		if (have_self && sockaddr_equal((struct sockaddr *)&cur[i].addr,
		    (struct sockaddr *)&self.addr, true))
			continue;
		if (sockaddr_equal((struct sockaddr *)&cur[i].addr, (struct sockaddr *)&p->addr, true))
			continue;
		if (!ut_pex_contains(pp->told, pp->ntold, &cur[i]))
			added[na++] = cur[i];
	}
	for (size_t i = 0; i < pp->ntold && nd < UT_PEX_SEND_MAX; i++)
		if (!ut_pex_contains(cur, ncur, &pp->told[i]))
			dropped[nd++] = pp->told[i];
	pp->sent_ms = now;
	if (na == 0 && nd == 0)
		return;
	/* told = told - dropped + added */
	size_t k = 0;
	for (size_t i = 0; i < pp->ntold; i++)
		if (!ut_pex_contains(dropped, nd, &pp->told[i]))
			pp->told[k++] = pp->told[i];
	pp->told = xreallocarray(pp->told, k + na, sizeof *pp->told);
	memcpy(pp->told + k, added, na * sizeof *added);
	pp->ntold = k + na;
	struct dp_buf b;
	dp_buf_init(&b);
	ut_pex_build(&b, added, na, dropped, nd);
	peer_send_extended(p, peer_ext_id(p, UT_PEX_NAME), b.data, b.len);
	task_progress(p->task, 0, b.len);
	dp_buf_free(&b);
	(void)t;
}

/* Once a second: every UT_PEX_INTERVAL_MS each peer that speaks ut_pex hears which peers were
 * added and dropped since it was last told. */
static void
ut_pex_on_tick(void *owner, uint64_t now)
{
	struct torrent *t = owner;
	if (!ut_pex_allowed(t) || !torrent_is_active(t))
		return;
	/* Who is connected now, as we would advertise them. */
	struct ut_pex_peer *cur = NULL;
	size_t ncur = 0;
	bool due = false;
	for (struct peer *q = t->peers; q != NULL; q = q->next) {
		if (q->dead || !q->handshake_done || peer_ext_id(q, UT_PEX_NAME) == 0)
			continue;
		struct pex_peer *pp = ut_pex_find(t, q, true);
		/* The first message goes a few seconds after the handshake, then once a minute. */
		if (pp->sent_ms == 0)
			pp->sent_ms = now - UT_PEX_INTERVAL_MS + 5000;
		if (now - pp->sent_ms >= UT_PEX_INTERVAL_MS)
			due = true;
	}
	if (!due)
		return;
	cur = xcalloc((size_t)t->npeers + 1, sizeof *cur);
	for (struct peer *q = t->peers; q != NULL && ncur < (size_t)t->npeers; q = q->next)
		if (ut_pex_entry(q, &cur[ncur]) && !ut_pex_contains(cur, ncur, &cur[ncur]))
			ncur++;
	for (size_t i = 0; t->pex != NULL && i < t->pex->n; i++) {
		struct pex_peer *pp = &t->pex->peers[i];
		if (pp->p->dead || peer_ext_id(pp->p, UT_PEX_NAME) == 0 || pp->sent_ms == 0 ||
		    now - pp->sent_ms < UT_PEX_INTERVAL_MS)
			continue;
		ut_pex_send(t, pp, cur, ncur, now);
	}
	free(cur);
}

static void
ut_pex_on_gone(void *owner, struct peer *p)
{
	struct torrent *t = owner;
	if (t->pex == NULL)
		return;
	struct ut_pex_state *s = t->pex;
	for (size_t i = 0; i < s->n; i++) {
		if (s->peers[i].p != p)
			continue;
		free(s->peers[i].told);
		s->peers[i] = s->peers[--s->n];
		return;
	}
}

static void
ut_pex_on_free(void *owner)
{
	struct torrent *t = owner;
	struct ut_pex_state *s = t->pex;
	t->pex = NULL;
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->peers[i].told);
	free(s->peers);
	free(s);
}

static bool
ut_pex_offer(void *owner, struct peer *p, struct wire_ext_handshake *h)
{
	(void)p;
	(void)h;
	return ut_pex_allowed(owner);
}

const struct peer_ext ut_pex_ext = {
	.name = UT_PEX_NAME,
	.local_id = UT_PEX_LOCAL_ID,
	.offer = ut_pex_offer,
	.on_message = ut_pex_on_message,
	.on_gone = ut_pex_on_gone,
	.on_tick = ut_pex_on_tick,
	.on_free = ut_pex_on_free,
};

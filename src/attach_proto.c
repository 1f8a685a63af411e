/* attach_proto.c: the attach protocol's frames and records: each record is a table of fields
 * (key, type, place in the engine.h struct), walked by the one encoder the daemon uses and the
 * one decoder the UI uses, so a field is added in one line and both ends agree. */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach_proto.h"

static const char *const attach_op_names[ATTACH_OP_COUNT] = {
#define X(name, str) [ATTACH_OP_##name] = str,
	ATTACH_OPS(X)
#undef X
};

const char *
attach_op_name(enum attach_op op)
{
	return (unsigned)op < ATTACH_OP_COUNT ? attach_op_names[op] : "?";
}

enum attach_op
attach_op_find(const struct be_node *n)
{
	if (n == NULL || n->type != BE_STR)
		return ATTACH_OP_COUNT;
	for (int op = 0; op < ATTACH_OP_COUNT; op++)
		if (be_str_eq(n, attach_op_names[op]))
			return (enum attach_op)op;
	return ATTACH_OP_COUNT;
}

char *
attach_socket_path(const char *session_dir)
{
	size_t n = strlen(session_dir);
	while (n > 1 && session_dir[n - 1] == '/')
		n--;
	return xasprintf("%.*s/%s", (int)n, session_dir, ATTACH_SOCKET_NAME);
}

/* ---- frames ---- */

size_t
attach_frame_begin(struct dp_buf *b)
{
	size_t start = b->len;
	static const uint8_t zero[ATTACH_FRAME_HEADER];
	dp_buf_add(b, zero, sizeof zero);
	return start;
}

void
attach_frame_end(struct dp_buf *b, size_t start)
{
	size_t n = b->len - start - ATTACH_FRAME_HEADER;
	b->data[start] = (uint8_t)(n >> 24);
	b->data[start + 1] = (uint8_t)(n >> 16);
	b->data[start + 2] = (uint8_t)(n >> 8);
	b->data[start + 3] = (uint8_t)n;
}

int
attach_frame_peek(const uint8_t *p, size_t avail, size_t max, size_t *body_len)
{
	if (avail < ATTACH_FRAME_HEADER)
		return 0;
	size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	if (n == 0 || n > max)
		return -1;
	*body_len = n;
	return 1;
}

/* Messages nest three deep at most (reply, list of rows, row, part); the item bound keeps a
 * reply of the largest size from costing more than a few hundred bytes of nodes per byte. */
static const struct be_limits attach_limits = {
	.max_depth = 8,
	.max_items = 2u << 20,
	.require_sorted = false,
};

struct be_node *
attach_decode_body(const uint8_t *body, size_t len, char *err, size_t errlen)
{
	struct be_error be;
	struct be_node *n = be_decode(body, len, &attach_limits, &be);
	if (n == NULL) {
		dp_fail(err, errlen, "bad message at byte %zu: %s", be.offset, be.msg);
		return NULL;
	}
	if (n->type != BE_DICT) {
		enum be_type t = n->type;
		be_free(n);
		dp_fail(err, errlen, "a message is a %s, not a dictionary", be_type_name(t));
		return NULL;
	}
	return n;
}

/* ---- the records ---- */

#define F(key, type, st, member) { key, type, offsetof(st, member), \
	sizeof(((st *)0)->member), 0 }
#define FE(key, st, member, max) { key, ATTACH_ENUM, offsetof(st, member), \
	sizeof(((st *)0)->member), max }

/* A field added to an engine.h struct below must be added to its table too, or an attached UI
 * never sees it (check_attach's round trips fill every field the tables know). */

#define ST struct engine_torrent_stats
static const struct attach_field attach_torrent_static_f[] = {
	F("ad", ATTACH_INT, ST, added_date),
	F("cm", ATTACH_CHARS, ST, comment),
	F("fc", ATTACH_UINT, ST, file_count),
	F("ih", ATTACH_CHARS, ST, info_hash_hex),
	F("na", ATTACH_CHARS, ST, name),
	F("pl", ATTACH_UINT, ST, piece_length),
	F("pt", ATTACH_UINT, ST, pieces_total),
	F("pv", ATTACH_BOOL, ST, is_private),
	F("sp", ATTACH_CHARS, ST, save_path),
	F("ts", ATTACH_UINT, ST, total_size),
};
static const struct attach_field attach_torrent_dynamic_f[] = {
	F("cb", ATTACH_UINT, ST, corrupt_bytes),
	F("cd", ATTACH_INT, ST, completed_date),
	F("cp", ATTACH_DOUBLE, ST, check_progress),
	F("dl", ATTACH_UINT, ST, downloaded),
	F("dli", ATTACH_UINT, ST, down_limit),
	F("dr", ATTACH_UINT, ST, down_rate),
	F("er", ATTACH_CHARS, ST, error),
	F("eta", ATTACH_INT, ST, eta_s),
	F("hs", ATTACH_UINT, ST, have_size),
	F("ia", ATTACH_INT, ST, activity_date),
	F("il", ATTACH_INT, ST, seed_idle_limit),
	F("im", ATTACH_INT, ST, seed_idle_mode),
	F("is", ATTACH_INT, ST, idle_stop_date),
	F("ix", ATTACH_BOOL, ST, idle_stopped),
	F("lb", ATTACH_CHARS, ST, labels),
	F("lf", ATTACH_UINT, ST, left),
	F("mdp", ATTACH_DOUBLE, ST, metadata_progress),
	F("mp", ATTACH_INT, ST, max_peers),
	F("pc", ATTACH_INT, ST, peers_connected),
	F("ph", ATTACH_UINT, ST, pieces_have),
	F("pk", ATTACH_INT, ST, peers_known),
	F("pr", ATTACH_DOUBLE, ST, progress),
	F("prc", ATTACH_INT, ST, peers_receiving),
	F("ps", ATTACH_INT, ST, peers_sending),
	F("qp", ATTACH_INT, ST, queue_position),
	F("ra", ATTACH_DOUBLE, ST, ratio),
	F("sc", ATTACH_INT, ST, seeds_connected),
	F("sdl", ATTACH_UINT, ST, session_downloaded),
	F("sq", ATTACH_BOOL, ST, sequential),
	FE("st", ST, state, ENGINE_TORRENT_STATE_COUNT),
	F("sul", ATTACH_UINT, ST, session_uploaded),
	F("tr", ATTACH_CHARS, ST, tracker_status),
	F("ul", ATTACH_UINT, ST, uploaded),
	F("uli", ATTACH_UINT, ST, up_limit),
	F("ur", ATTACH_UINT, ST, up_rate),
	F("us", ATTACH_INT, ST, upload_slots),
	F("ws", ATTACH_UINT, ST, wanted_size),
};
#undef ST

#define ST struct engine_global_stats
static const struct attach_field attach_global_f[] = {
	F("alt", ATTACH_BOOL, ST, alt_speed),
	F("cn", ATTACH_INT, ST, connections),
	F("dd", ATTACH_CHARS, ST, download_dir),
	F("dl", ATTACH_UINT, ST, downloaded),
	F("dli", ATTACH_UINT, ST, down_limit),
	F("dn", ATTACH_INT, ST, dht_nodes),
	F("dpj", ATTACH_UINT, ST, disk_pending_jobs),
	F("dpw", ATTACH_UINT, ST, disk_pending_write_bytes),
	F("dr", ATTACH_UINT, ST, down_rate),
	F("fs", ATTACH_UINT, ST, free_space),
	F("kd", ATTACH_UINT, ST, cumulative.downloaded),
	F("kf", ATTACH_UINT, ST, cumulative.files_added),
	F("ks", ATTACH_INT, ST, cumulative.seconds_active),
	F("kt", ATTACH_UINT, ST, cumulative.session_count),
	F("ku", ATTACH_UINT, ST, cumulative.uploaded),
	F("lp", ATTACH_INT, ST, listen_port),
	F("lsd", ATTACH_BOOL, ST, lsd),
	F("mc", ATTACH_INT, ST, max_connections),
	F("mp", ATTACH_INT, ST, max_peers_per_torrent),
	F("nd", ATTACH_UINT, ST, current.downloaded),
	F("nf", ATTACH_UINT, ST, current.files_added),
	F("ns", ATTACH_INT, ST, current.seconds_active),
	F("nt", ATTACH_UINT, ST, current.session_count),
	F("nu", ATTACH_UINT, ST, current.uploaded),
	F("pid", ATTACH_CHARS, ST, peer_id),
	F("ta", ATTACH_INT, ST, torrents_active),
	F("to", ATTACH_INT, ST, torrents),
	F("ts", ATTACH_INT, ST, torrents_stopped),
	F("ul", ATTACH_UINT, ST, uploaded),
	F("uli", ATTACH_UINT, ST, up_limit),
	F("ur", ATTACH_UINT, ST, up_rate),
	F("us", ATTACH_INT, ST, upload_slots),
};
#undef ST

#define ST struct engine_peer_info
static const struct attach_field attach_peer_f[] = {
	F("ac", ATTACH_BOOL, ST, am_choking),
	F("ad", ATTACH_CHARS, ST, addr),
	F("ai", ATTACH_BOOL, ST, am_interested),
	F("cl", ATTACH_CHARS, ST, client),
	F("cs", ATTACH_INT, ST, connected_s),
	F("dl", ATTACH_UINT, ST, downloaded),
	F("dr", ATTACH_UINT, ST, down_rate),
	F("en", ATTACH_BOOL, ST, encrypted),
	F("ex", ATTACH_BOOL, ST, ext_protocol),
	F("fx", ATTACH_BOOL, ST, fast_ext),
	F("hd", ATTACH_BOOL, ST, handshake_done),
	F("in", ATTACH_BOOL, ST, incoming),
	F("op", ATTACH_BOOL, ST, optimistic),
	F("pc", ATTACH_BOOL, ST, peer_choking),
	F("pi", ATTACH_BOOL, ST, peer_interested),
	F("pr", ATTACH_DOUBLE, ST, progress),
	F("qt", ATTACH_UINT, ST, queue_target),
	F("ri", ATTACH_UINT, ST, requests_in),
	F("ro", ATTACH_UINT, ST, requests_out),
	F("sb", ATTACH_BOOL, ST, snubbed),
	F("sd", ATTACH_BOOL, ST, seed),
	F("tp", ATTACH_CHARS, ST, transport),
	F("ws", ATTACH_BOOL, ST, webseed),
	F("ul", ATTACH_UINT, ST, uploaded),
	F("ur", ATTACH_UINT, ST, up_rate),
	F("ut", ATTACH_BOOL, ST, utp),
};
#undef ST

#define ST struct engine_file_info
static const struct attach_field attach_file_static_f[] = {
	F("dp", ATTACH_STRDUP, ST, display_path),
	F("pa", ATTACH_BOOL, ST, pad),
	F("pt", ATTACH_STRDUP, ST, path),
	F("sz", ATTACH_UINT, ST, size),
};
static const struct attach_field attach_file_dynamic_f[] = {
	F("dn", ATTACH_UINT, ST, done),
	FE("lv", ST, level, ENGINE_PRIO_HIGH + 1),
	FE("pr", ST, priority, ENGINE_PRIO_HIGH + 1),
};
#undef ST

#define ST struct engine_tracker_info
static const struct attach_field attach_tracker_f[] = {
	F("ae", ATTACH_CHARS, ST, last_error),
	F("ar", ATTACH_BOOL, ST, last_error_refused),
	F("as", ATTACH_INT, ST, last_announce_start),
	F("aw", ATTACH_CHARS, ST, last_warning),
	F("dn", ATTACH_INT, ST, downloaded),
	F("la", ATTACH_INT, ST, last_announce),
	F("le", ATTACH_INT, ST, leechers),
	F("na", ATTACH_INT, ST, next_announce),
	F("pc", ATTACH_UINT, ST, last_peer_count),
	F("se", ATTACH_INT, ST, seeders),
	F("sn", ATTACH_INT, ST, last_scrape_end),
	F("so", ATTACH_BOOL, ST, last_scrape_ok),
	F("ss", ATTACH_INT, ST, last_scrape_start),
	FE("st", ST, status, ENGINE_TRACKER_ERROR + 1),
	F("su", ATTACH_CHARS, ST, scrape_url),
	F("sx", ATTACH_CHARS, ST, last_scrape_error),
	F("ti", ATTACH_INT, ST, tier),
	F("ur", ATTACH_CHARS, ST, url),
	F("v6", ATTACH_BOOL, ST, ipv6),
};
#undef ST

/* A task's times go as monotonic instants (the daemon and its UIs share the clock: the socket
 * is local), so a task that only waits does not change from one request to the next: "bo" is
 * when it was created (age_us holds it on the wire) and "wa" when it entered its state. Where it
 * parked ("wf", "wn": function, file) goes beside, as strings the decoder interns. */
#define ST struct engine_task_info
static const struct attach_field attach_task_static_f[] = {
	F("bo", ATTACH_UINT, ST, age_us),
	FE("kd", ST, kind, ENGINE_TASK_KIND_COUNT),
	F("na", ATTACH_CHARS, ST, name),
	F("tid", ATTACH_INT, ST, torrent_id),
};
static const struct attach_field attach_task_dynamic_f[] = {
	F("bi", ATTACH_UINT, ST, bytes_in),
	F("bk", ATTACH_BOOL, ST, blocked),
	F("bx", ATTACH_UINT, ST, bytes_out),
	F("cpu", ATTACH_UINT, ST, cpu_us),
	F("cy", ATTACH_UINT, ST, cycles),
	F("dl", ATTACH_UINT, ST, deadline_us),
	F("fi", ATTACH_UINT, ST, finished_us),
	F("il", ATTACH_BOOL, ST, idle),
	F("pg", ATTACH_UINT, ST, progress),
	F("rs", ATTACH_CHARS, ST, reason),
	F("sp", ATTACH_BOOL, ST, spinning),
	FE("st", ST, state, ENGINE_TASK_STATE_COUNT),
	F("wa", ATTACH_UINT, ST, waited_us),
	F("wl", ATTACH_INT, ST, where_line),
};
#undef ST

#define ST struct engine_loop_health
static const struct attach_field attach_health_f[] = {
	F("cb", ATTACH_UINT, ST, callbacks_per_sec),
	F("lg", ATTACH_UINT, ST, lag_us),
	F("lm", ATTACH_UINT, ST, lag_max_us),
	F("sc", ATTACH_UINT, ST, spinning_count),
};
#undef ST

#define ST struct engine_slow_callback
static const struct attach_field attach_slow_f[] = {
	F("cm", ATTACH_BOOL, ST, cpu_measured),
	F("cpu", ATTACH_UINT, ST, cpu_us),
	F("du", ATTACH_UINT, ST, duration_us),
	F("nm", ATTACH_CHARS, ST, task_name),
	F("pr", ATTACH_UINT, ST, preempted),
	F("ti", ATTACH_UINT, ST, task_id),
	F("wh", ATTACH_UINT, ST, when_us),
	F("wt", ATTACH_UINT, ST, waits),
};
#undef ST

#define REC(var, name, f) const struct attach_record var = { name, f, DP_ARRAY_LEN(f) }
REC(attach_torrent_static, "torrent", attach_torrent_static_f);
REC(attach_torrent_dynamic, "torrent", attach_torrent_dynamic_f);
REC(attach_global_rec, "global", attach_global_f);
REC(attach_peer_rec, "peer", attach_peer_f);
REC(attach_file_static, "file", attach_file_static_f);
REC(attach_file_dynamic, "file", attach_file_dynamic_f);
REC(attach_tracker_rec, "tracker", attach_tracker_f);
REC(attach_task_static, "task", attach_task_static_f);
REC(attach_task_dynamic, "task", attach_task_dynamic_f);
REC(attach_health_rec, "loop health", attach_health_f);
REC(attach_slow_rec, "slow callback", attach_slow_f);
#undef REC

/* ---- encoding ---- */

static int64_t
attach_read_int(const void *p, size_t size)
{
	switch (size) {
	case 1: return *(const int8_t *)p;
	case 2: return *(const int16_t *)p;
	case 4: return *(const int32_t *)p;
	default: return *(const int64_t *)p;
	}
}

static uint64_t
attach_read_uint(const void *p, size_t size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: return *(const uint16_t *)p;
	case 4: return *(const uint32_t *)p;
	default: return *(const uint64_t *)p;
	}
}

void
attach_encode_record(struct dp_buf *b, const struct attach_record *r, const void *obj)
{
	const uint8_t *base = obj;
	be_enc_dict_begin(b);
	for (size_t i = 0; i < r->n; i++) {
		const struct attach_field *f = &r->fields[i];
		const void *p = base + f->off;
		int64_t v = 0;
		const char *s = NULL;
		size_t slen = 0;
		switch (f->type) {
		case ATTACH_INT: v = attach_read_int(p, f->size); break;
		case ATTACH_ENUM: v = attach_read_int(p, f->size); break;
		/* above INT64_MAX wraps negative on the wire and back on decoding */
		case ATTACH_UINT: v = (int64_t)attach_read_uint(p, f->size); break;
		case ATTACH_BOOL: v = *(const bool *)p; break;
		case ATTACH_DOUBLE: {
			double d = *(const double *)p;
			v = isfinite(d) && fabs(d) < 9e12 ? (int64_t)llround(d * 1e6) : 0;
			break;
		}
		case ATTACH_CHARS:
			s = p;
			slen = strnlen(s, f->size);
			break;
		case ATTACH_STRDUP:
			s = *(char *const *)p;
			slen = s != NULL ? strlen(s) : 0;
			break;
		}
		if (f->type == ATTACH_CHARS || f->type == ATTACH_STRDUP) {
			if (s == NULL || slen == 0)
				continue;
			be_enc_cstr(b, f->key);
			be_enc_str(b, s, slen);
		} else if (v != 0) {
			be_enc_cstr(b, f->key);
			be_enc_int(b, v);
		}
	}
	be_enc_end(b);
}

/* ---- decoding ---- */

static int
attach_field_cmp(const void *key, const void *elem)
{
	const struct be_entry *e = key;
	const struct attach_field *f = elem;
	size_t fl = strlen(f->key);
	int c = memcmp(e->key, f->key, DP_MIN(e->key_len, fl));
	if (c != 0)
		return c;
	return e->key_len < fl ? -1 : e->key_len > fl ? 1 : 0;
}

static void
attach_field_clear(const struct attach_field *f, uint8_t *base)
{
	void *p = base + f->off;
	if (f->type == ATTACH_STRDUP) {
		free(*(char **)p);
		*(char **)p = NULL;
	} else {
		memset(p, 0, f->size);
	}
}

static bool
attach_store_int(const struct attach_field *f, void *p, int64_t v)
{
	switch (f->type) {
	case ATTACH_INT:
	case ATTACH_ENUM:
		if (f->type == ATTACH_ENUM && (v < 0 || v >= f->max))
			return false;
		switch (f->size) {
		case 1:
			if (v < INT8_MIN || v > INT8_MAX)
				return false;
			*(int8_t *)p = (int8_t)v;
			return true;
		case 2:
			if (v < INT16_MIN || v > INT16_MAX)
				return false;
			*(int16_t *)p = (int16_t)v;
			return true;
		case 4:
			if (v < INT32_MIN || v > INT32_MAX)
				return false;
			*(int32_t *)p = (int32_t)v;
			return true;
		default:
			*(int64_t *)p = v;
			return true;
		}
	case ATTACH_UINT: {
		uint64_t u = (uint64_t)v;
		switch (f->size) {
		case 1:
			if (u > UINT8_MAX)
				return false;
			*(uint8_t *)p = (uint8_t)u;
			return true;
		case 2:
			if (u > UINT16_MAX)
				return false;
			*(uint16_t *)p = (uint16_t)u;
			return true;
		case 4:
			if (u > UINT32_MAX)
				return false;
			*(uint32_t *)p = (uint32_t)u;
			return true;
		default:
			*(uint64_t *)p = u;
			return true;
		}
	}
	case ATTACH_BOOL:
		if (v != 0 && v != 1)
			return false;
		*(bool *)p = v != 0;
		return true;
	case ATTACH_DOUBLE:
		*(double *)p = (double)v / 1e6;
		return true;
	default:
		return false;
	}
}

/* Paths and names in a record: a long one is refused, not cut (it would name another file). */
#define ATTACH_STRDUP_MAX 4096

bool
attach_decode_record(const struct be_node *dict, const struct attach_record *r, void *obj,
    char *err, size_t errlen)
{
	uint8_t *base = obj;
	for (size_t i = 0; i < r->n; i++)
		attach_field_clear(&r->fields[i], base);
	if (dict == NULL || dict->type != BE_DICT) {
		dp_fail(err, errlen, "a %s is not a dictionary", r->name);
		return false;
	}
	for (size_t i = 0; i < dict->v.dict.n; i++) {
		const struct be_entry *e = &dict->v.dict.entries[i];
		const struct attach_field *f = bsearch(e, r->fields, r->n, sizeof *r->fields,
		    attach_field_cmp);
		if (f == NULL)
			continue;
		void *p = base + f->off;
		const struct be_node *v = e->value;
		bool ok;
		if (f->type == ATTACH_CHARS) {
			ok = v->type == BE_STR;
			if (ok) {
				size_t n = DP_MIN(v->v.str.len, f->size - 1);
				memcpy(p, v->v.str.s, n);
				((char *)p)[n] = '\0';
			}
		} else if (f->type == ATTACH_STRDUP) {
			ok = v->type == BE_STR && v->v.str.len <= ATTACH_STRDUP_MAX &&
			    memchr(v->v.str.s, '\0', v->v.str.len) == NULL;
			if (ok) {
				free(*(char **)p);
				*(char **)p = xstrndup(v->v.str.s, v->v.str.len);
			}
		} else {
			ok = v->type == BE_INT && attach_store_int(f, p, v->v.i);
		}
		if (!ok) {
			dp_fail(err, errlen, "%s field '%s': bad value", r->name, f->key);
			return false;
		}
	}
	return true;
}

void
attach_record_free(const struct attach_record *r, void *obj)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->fields[i].type == ATTACH_STRDUP)
			attach_field_clear(&r->fields[i], obj);
}

bool
attach_get_int(const struct be_node *dict, const char *key, int64_t *out)
{
	const struct be_node *n = be_dict_get_type(dict, key, BE_INT);
	if (n == NULL)
		return false;
	*out = n->v.i;
	return true;
}

bool
attach_get_str(const struct be_node *dict, const char *key, char *out, size_t outlen)
{
	const struct be_node *n = be_dict_get_type(dict, key, BE_STR);
	if (n == NULL || outlen == 0)
		return false;
	size_t len = DP_MIN(n->v.str.len, outlen - 1);
	memcpy(out, n->v.str.s, len);
	out[len] = '\0';
	return true;
}

/* ---- commands ---- */

void
attach_encode_cmd(struct dp_buf *b, const struct client_cmd *cmd)
{
	be_enc_dict_begin(b);
	if (cmd->cwd != NULL) {
		be_enc_cstr(b, "cw");
		be_enc_cstr(b, cmd->cwd);
	}
	be_enc_cstr(b, "dn");
	be_enc_int(b, (int64_t)cmd->down);
	if (cmd->nfiles > 0) {
		be_enc_cstr(b, "fl");
		be_enc_list_begin(b);
		for (size_t i = 0; i < cmd->nfiles; i++)
			be_enc_int(b, (int64_t)cmd->files[i]);
		be_enc_end(b);
	}
	be_enc_cstr(b, "k");
	be_enc_cstr(b, client_cmd_name(cmd->kind));
	be_enc_cstr(b, "on");
	be_enc_int(b, cmd->on);
	be_enc_cstr(b, "pr");
	be_enc_int(b, cmd->prio);
	be_enc_cstr(b, "t");
	be_enc_int(b, cmd->torrent);
	if (cmd->text != NULL) {
		be_enc_cstr(b, "tx");
		be_enc_cstr(b, cmd->text);
	}
	be_enc_cstr(b, "up");
	be_enc_int(b, (int64_t)cmd->up);
	be_enc_cstr(b, "wh");
	be_enc_int(b, cmd->where);
	be_enc_end(b);
}

/* A string field into out: absent is "" (and *set false); NUL bytes or too long: false. */
static bool
attach_cmd_str(const struct be_node *dict, const char *key, char *out, size_t outlen, bool *set)
{
	const struct be_node *n = be_dict_get(dict, key);
	*set = false;
	out[0] = '\0';
	if (n == NULL)
		return true;
	if (n->type != BE_STR || n->v.str.len >= outlen ||
	    memchr(n->v.str.s, '\0', n->v.str.len) != NULL)
		return false;
	memcpy(out, n->v.str.s, n->v.str.len);
	out[n->v.str.len] = '\0';
	*set = true;
	return true;
}

/* An integer field in [lo, hi]; absent is 0. */
static bool
attach_cmd_int(const struct be_node *dict, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	const struct be_node *n = be_dict_get(dict, key);
	*out = 0;
	if (n == NULL)
		return true;
	if (n->type != BE_INT || n->v.i < lo || n->v.i > hi)
		return false;
	*out = n->v.i;
	return true;
}

bool
attach_decode_cmd(const struct be_node *dict, struct attach_cmd *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (dict == NULL || dict->type != BE_DICT) {
		dp_fail(err, errlen, "a command is a dictionary");
		return false;
	}
	char kind[32];
	bool set;
	if (!attach_cmd_str(dict, "k", kind, sizeof kind, &set) || !set ||
	    (out->cmd.kind = client_cmd_find(kind)) == CLIENT_CMD_COUNT) {
		dp_fail(err, errlen, "a command without a known kind");
		return false;
	}
	int64_t t, on, dn, up, pr, wh;
	if (!attach_cmd_int(dict, "t", 0, INT32_MAX, &t) ||
	    !attach_cmd_int(dict, "on", 0, 1, &on) ||
	    !attach_cmd_int(dict, "dn", 0, INT64_MAX, &dn) ||
	    !attach_cmd_int(dict, "up", 0, INT64_MAX, &up) ||
	    !attach_cmd_int(dict, "pr", ENGINE_PRIO_SKIP, ENGINE_PRIO_HIGH, &pr) ||
	    !attach_cmd_int(dict, "wh", 0, ENGINE_QUEUE_BOTTOM, &wh)) {
		dp_fail(err, errlen, "%s: a field of the wrong type or out of range", kind);
		return false;
	}
	out->cmd.torrent = (int)t;
	out->cmd.on = on != 0;
	out->cmd.down = (uint64_t)dn;
	out->cmd.up = (uint64_t)up;
	out->cmd.prio = (enum engine_prio)pr;
	out->cmd.where = (enum engine_queue_where)wh;
	if (!attach_cmd_str(dict, "tx", out->text, sizeof out->text, &set)) {
		dp_fail(err, errlen, "%s: a bad text", kind);
		return false;
	}
	out->cmd.text = set ? out->text : NULL;
	if (!attach_cmd_str(dict, "cw", out->cwd, sizeof out->cwd, &set)) {
		dp_fail(err, errlen, "%s: a bad folder", kind);
		return false;
	}
	out->cmd.cwd = set ? out->cwd : NULL;
	const struct be_node *fl = be_dict_get(dict, "fl");
	if (fl != NULL) {
		if (fl->type != BE_LIST || fl->v.list.n > ATTACH_CMD_FILES_MAX) {
			dp_fail(err, errlen, "%s: a bad file list", kind);
			return false;
		}
		out->files = xcalloc(fl->v.list.n + 1, sizeof *out->files);
		for (size_t i = 0; i < fl->v.list.n; i++) {
			const struct be_node *f = fl->v.list.items[i];
			if (f->type != BE_INT || f->v.i < 0) {
				attach_cmd_free(out);
				dp_fail(err, errlen, "%s: a bad file index", kind);
				return false;
			}
			out->files[i] = (size_t)f->v.i;
		}
		out->cmd.files = out->files;
		out->cmd.nfiles = fl->v.list.n;
	}
	return true;
}

void
attach_cmd_free(struct attach_cmd *c)
{
	free(c->files);
	c->files = NULL;
	c->cmd.files = NULL;
	c->cmd.nfiles = 0;
}

/* ---- interned strings ---- */

const char *
attach_intern(struct attach_intern *in, const char *s, size_t len)
{
	if (s == NULL)
		return NULL;
	if (len > 256 || memchr(s, '\0', len) != NULL)
		return "?";
	for (size_t i = 0; i < in->n; i++)
		if (strlen(in->s[i]) == len && memcmp(in->s[i], s, len) == 0)
			return in->s[i];
	if (in->n >= ATTACH_INTERN_MAX)
		return "?";
	if (in->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 32;
		in->s = xreallocarray(in->s, in->cap, sizeof *in->s);
	}
	in->s[in->n] = xstrndup(s, len);
	return in->s[in->n++];
}

void
attach_intern_free(struct attach_intern *in)
{
	for (size_t i = 0; i < in->n; i++)
		free(in->s[i]);
	free(in->s);
	memset(in, 0, sizeof *in);
}

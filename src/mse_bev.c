/* mse_bev.c: the MSE filter: the handshake fed from the stream's input with its replies written
 * straight to the stream, then RC4 from chunk to chunk (one pass, no staging copy) or a
 * zero-copy pass-through for plaintext. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "mse_bev.h"
#include "util.h"

struct mse_bev {
	struct bufferevent *under;
	struct bufferevent *bev;            /* the filter */
	struct mse_hs *hs;
	bool done, failed;
	uint32_t selected;
	struct mse_rc4 enc, dec;
	mse_bev_done_fn done_fn;
	void *done_arg;
	struct event *notify;               /* runs done_fn outside the filter's callbacks */
	bool notified;
	uint64_t *heard;
	char why[160];
};

static void
mse_bev_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mse_bev *m = arg;
	(void)fd;
	(void)what;
	if (m->notified || m->done_fn == NULL)
		return;
	m->notified = true;
	m->done_fn(m->done_arg, m->bev, !m->failed, m->selected, m->failed ? m->why : NULL);
}

/* Moves n bytes from src to dst through RC4, chunk by chunk. */
static void
mse_bev_crypt(struct mse_rc4 *rc4, struct evbuffer *src, struct evbuffer *dst, size_t n)
{
	while (n > 0) {
		struct evbuffer_iovec in;
		if (evbuffer_peek(src, -1, NULL, &in, 1) < 1)
			return;
		size_t k = DP_MIN(n, in.iov_len);
		struct evbuffer_iovec out[2];
		int nv = evbuffer_reserve_space(dst, (ev_ssize_t)k, out, 2);
		if (nv < 1)
			return;
		/* The reservation may come in two pieces; only those written are committed (an
		 * unused one would commit its whole length of garbage). */
		size_t done = 0;
		int used = 0;
		for (; used < nv && done < k; used++) {
			size_t part = DP_MIN(out[used].iov_len, k - done);
			mse_rc4_crypt(rc4, (const uint8_t *)in.iov_base + done, out[used].iov_base,
			    part);
			out[used].iov_len = part;
			done += part;
		}
		evbuffer_commit_space(dst, out, used);
		evbuffer_drain(src, k);
		n -= k;
	}
}

static enum bufferevent_filter_result
mse_bev_fail(struct mse_bev *m, const char *why)
{
	if (!m->failed) {
		m->failed = true;
		snprintf(m->why, sizeof m->why, "%s", why);
		event_active(m->notify, EV_TIMEOUT, 0);
	}
	return BEV_ERROR;
}

static enum bufferevent_filter_result
mse_bev_in(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct mse_bev *m = arg;
	(void)limit;
	(void)mode;
	if (m->failed)
		return BEV_ERROR;
	while (!m->done && evbuffer_get_length(src) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(src, -1, NULL, &v, 1) < 1)
			break;
		struct dp_buf out;
		dp_buf_init(&out);
		size_t used = 0;
		enum mse_status st = mse_hs_feed(m->hs, v.iov_base, v.iov_len, &used, &out);
		if (m->heard != NULL)
			*m->heard += used;
		if (out.len > 0)
			bufferevent_write(m->under, out.data, out.len);
		dp_buf_free(&out);
		evbuffer_drain(src, used);
		if (st == MSE_FAIL)
			return mse_bev_fail(m, mse_hs_error(m->hs));
		if (st == MSE_DONE) {
			m->done = true;
			m->selected = mse_hs_selected(m->hs);
			mse_hs_ciphers(m->hs, &m->enc, &m->dec);
			size_t ialen;
			const uint8_t *ia = mse_hs_ia(m->hs, &ialen);
			if (ialen > 0)
				evbuffer_add(dst, ia, ialen);
			mse_hs_free(m->hs);
			m->hs = NULL;
			event_active(m->notify, EV_TIMEOUT, 0);
		}
	}
	if (!m->done)
		return BEV_NEED_MORE;
	size_t n = evbuffer_get_length(src);
	if (n == 0)
		return BEV_NEED_MORE;
	if (m->selected == MSE_CRYPTO_RC4)
		mse_bev_crypt(&m->dec, src, dst, n);
	else
		evbuffer_add_buffer(dst, src);
	return BEV_OK;
}

static enum bufferevent_filter_result
mse_bev_out(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct mse_bev *m = arg;
	(void)limit;
	(void)mode;
	if (m->failed)
		return BEV_ERROR;
	if (!m->done)
		return BEV_NEED_MORE;     /* held until the method is known */
	size_t n = evbuffer_get_length(src);
	if (n == 0)
		return BEV_NEED_MORE;
	if (m->selected == MSE_CRYPTO_RC4)
		mse_bev_crypt(&m->enc, src, dst, n);
	else
		evbuffer_add_buffer(dst, src);
	return BEV_OK;
}

static void
mse_bev_free_ctx(void *arg)
{
	struct mse_bev *m = arg;
	mse_hs_free(m->hs);
	if (m->notify != NULL)
		event_free(m->notify);
	free(m);
}

void
mse_bev_forget(struct mse_bev *m)
{
	m->done_fn = NULL;
	event_del(m->notify);
}

struct bufferevent *
mse_bev_new(struct bufferevent *under, const struct mse_params *p, mse_bev_done_fn done,
    void *arg, uint64_t *heard, struct mse_bev **handle)
{
	struct mse_bev *m = xcalloc(1, sizeof *m);
	m->under = under;
	m->heard = heard;
	m->done_fn = done;
	m->done_arg = arg;
	m->notify = event_new(bufferevent_get_base(under), -1, 0, mse_bev_notify_cb, m);
	struct dp_buf out;
	dp_buf_init(&out);
	m->hs = mse_hs_new(p, &out);
	if (m->notify == NULL || m->hs == NULL) {
		dp_buf_free(&out);
		mse_bev_free_ctx(m);
		return NULL;
	}
	/* Deferred callbacks: a filter runs its user's write callback from inside a write to its
	 * output, and a peer serving blocks would re-enter itself between a block's header and
	 * its data. */
	m->bev = bufferevent_filter_new(under, mse_bev_in, mse_bev_out,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS, mse_bev_free_ctx, m);
	if (m->bev == NULL) {
		dp_buf_free(&out);
		mse_bev_free_ctx(m);
		return NULL;
	}
	*handle = m;
	if (out.len > 0)
		bufferevent_write(under, out.data, out.len);
	dp_buf_free(&out);
	bufferevent_enable(m->bev, EV_READ | EV_WRITE);
	/* What arrived before the filter existed (the sniffed first bytes) is read now. */
	if (evbuffer_get_length(bufferevent_get_input(under)) > 0)
		bufferevent_trigger(under, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
		    BEV_TRIG_DEFER_CALLBACKS);
	return m->bev;
}

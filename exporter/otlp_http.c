/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* OTLP/HTTP sink: bounded queue, worker thread, libcurl keep-alive POSTs, zlib gzip. */
#include "otlp_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "otlp_json.h"
#include "otlp_proto.h"

#define RESP_MAX 65536        /* response bodies beyond this are not kept (partial_success is small) */
#define LOG_INTERVAL_NS (5ull * 1000000000ull)

struct otlp_http {
	struct ws_sink sink;
	struct ws_otlp_config cfg;
	uint32_t batch_max;

	/* shared with the emitting thread, under mu */
	pthread_mutex_t mu;
	pthread_cond_t wake;          /* worker: spans, flush, stop */
	pthread_cond_t idle;          /* flush(): the worker finished a batch */
	struct ws_otlp_queue q;
	uint64_t pending_since_ns;    /* when the oldest queued span arrived (0: none) */
	uint64_t flush_deadline_ns;   /* 0: no flush in progress */
	bool stop;
	bool busy;                    /* the worker holds a batch */
	int abort_io;                 /* atomic: give up the transfer in progress */

	/* worker only */
	pthread_t thr;
	bool thr_started;
	CURL *curl;
	struct curl_slist *hdrs;
	struct ws_span *batch;
	const struct ws_span **ptrs;
	struct ws_buf body;
	struct ws_buf gz;
	z_stream zs;
	bool zs_ready;
	struct ws_buf resp;
	char retry_after[128];
	char resp_type[128];
	uint64_t rng;
	uint64_t not_before_ns;       /* a Retry-After also holds back the next batches */
	uint64_t last_log_ns;
	unsigned log_suppressed;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct timespec abs_mono(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };
}

static uint64_t next_rand(struct otlp_http *h)
{
	/* xorshift64*: jitter needs spread, not secrecy */
	h->rng ^= h->rng >> 12;
	h->rng ^= h->rng << 25;
	h->rng ^= h->rng >> 27;
	return h->rng * 0x2545F4914F6CDD1Dull;
}

/* Errors are logged at most every 5 s (a collector that is away would flood stderr);
 * the counters and otlp_last_error keep the full story. */
__attribute__((format(printf, 2, 3)))
static void log_limited(struct otlp_http *h, const char *fmt, ...)
{
	uint64_t now = mono_ns();
	va_list ap;

	if (h->last_log_ns && now - h->last_log_ns < LOG_INTERVAL_NS) {
		h->log_suppressed++;
		return;
	}
	fprintf(stderr, "wirespan: otlp: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (h->log_suppressed)
		fprintf(stderr, " (%u similar messages suppressed)", h->log_suppressed);
	fputc('\n', stderr);
	h->last_log_ns = now;
	h->log_suppressed = 0;
}

__attribute__((format(printf, 2, 3)))
static void set_last_error(struct otlp_http *h, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&h->mu);
	va_start(ap, fmt);
	vsnprintf(h->q.st.last_error, sizeof(h->q.st.last_error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&h->mu);
}

static void record(struct otlp_http *h, size_t n, enum ws_otlp_outcome out, int64_t rejected, size_t bytes)
{
	pthread_mutex_lock(&h->mu);
	ws_otlp_queue_done(&h->q, n, out, rejected);
	if (out == WS_OTLP_OUT_SENT)
		h->q.st.bytes_sent += bytes;
	pthread_mutex_unlock(&h->mu);
}

/* ---- libcurl ------------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct otlp_http *h = ud;
	size_t n = size * nmemb;

	if (h->resp.len < RESP_MAX)
		ws_buf_append(&h->resp, p, n < RESP_MAX - h->resp.len ? n : RESP_MAX - h->resp.len);
	return n;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t outsz)
{
	size_t k = strlen(name);
	const char *v, *e;

	if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
		return;
	v = line + k + 1;
	e = line + n;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	snprintf(out, outsz, "%.*s", (int)(e - v), v);
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct otlp_http *h = ud;
	size_t n = size * nmemb;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* a new response (after an interim one): forget the previous headers */
		h->retry_after[0] = '\0';
		h->resp_type[0] = '\0';
		h->resp.len = 0;
	}
	header_value(p, n, "Retry-After", h->retry_after, sizeof(h->retry_after));
	header_value(p, n, "Content-Type", h->resp_type, sizeof(h->resp_type));
	return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct otlp_http *h = ud;

	return __atomic_load_n(&h->abort_io, __ATOMIC_RELAXED) ? 1 : 0;
}

static enum ws_otlp_net net_class(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return WS_OTLP_NET_OK;
	/* the collector is away, restarting, overloaded or the path is flaky: it may come back */
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return WS_OTLP_NET_RETRYABLE;
	default:
		return WS_OTLP_NET_FATAL;
	}
}

static int curl_setup(struct otlp_http *h)
{
	char line[64];
	struct curl_slist *l = NULL;

	h->curl = curl_easy_init();
	if (!h->curl)
		return -ENOMEM;
	snprintf(line, sizeof(line), "Content-Type: %s",
		 h->cfg.protocol == WS_OTLP_PROTO_HTTP_JSON ? "application/json" : "application/x-protobuf");
	l = curl_slist_append(l, line);
	if (l && h->cfg.compression == WS_OTLP_COMPRESS_GZIP)
		l = curl_slist_append(l, "Content-Encoding: gzip");
	/* no "Expect: 100-continue" round trip before each large body */
	if (l)
		l = curl_slist_append(l, "Expect:");
	for (unsigned i = 0; l && i < h->cfg.n_headers; i++) {
		struct curl_slist *nl = curl_slist_append(l, h->cfg.headers[i]);

		if (!nl) {
			curl_slist_free_all(l);
			l = NULL;
		}
		l = nl;
	}
	if (!l)
		return -ENOMEM;
	h->hdrs = l;
	curl_easy_setopt(h->curl, CURLOPT_URL, h->cfg.endpoint);
	curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->hdrs);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);          /* we are a thread: no SIGALRM */
	curl_easy_setopt(h->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "wirespan/" WS_VERSION);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	return 0;
}

/* One POST. *status is the HTTP status when the result is WS_OTLP_NET_OK. */
static enum ws_otlp_net post(struct otlp_http *h, const struct ws_buf *b, long *status, char *why, size_t whylen)
{
	uint64_t timeout_ms = h->cfg.timeout_ms, deadline;
	CURLcode rc;

	pthread_mutex_lock(&h->mu);
	deadline = h->flush_deadline_ns;
	h->q.st.requests++;
	pthread_mutex_unlock(&h->mu);
	if (deadline) {
		uint64_t now = mono_ns(), left = deadline > now ? (deadline - now) / 1000000ull : 0;

		if (left < timeout_ms)
			timeout_ms = left ? left : 1;
	}
	h->resp.len = 0;
	h->resp.err = 0;
	h->retry_after[0] = '\0';
	h->resp_type[0] = '\0';
	*status = 0;
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, (const char *)b->data);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	rc = curl_easy_perform(h->curl);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		if (rc == CURLE_ABORTED_BY_CALLBACK)
			return WS_OTLP_NET_RETRYABLE;   /* the caller sees abort_io and stops */
		return net_class(rc);
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, status);
	snprintf(why, whylen, "HTTP %ld", *status);
	return WS_OTLP_NET_OK;
}

/* ---- encoding ------------------------------------------------------------------ */

static int gzip_body(struct otlp_http *h)
{
	uLong bound;
	int zrc;

	if (!h->zs_ready) {
		memset(&h->zs, 0, sizeof(h->zs));
		/* windowBits 15 + 16: a gzip header and trailer, as Content-Encoding: gzip wants */
		if (deflateInit2(&h->zs, (int)h->cfg.gzip_level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		h->zs_ready = true;
	} else if (deflateReset(&h->zs) != Z_OK) {
		return -EINVAL;
	}
	bound = deflateBound(&h->zs, (uLong)h->body.len);
	ws_buf_reset(&h->gz);
	if (ws_buf_reserve(&h->gz, bound))
		return h->gz.err;
	h->zs.next_in = h->body.data;
	h->zs.avail_in = (uInt)h->body.len;
	h->zs.next_out = h->gz.data;
	h->zs.avail_out = (uInt)bound;
	zrc = deflate(&h->zs, Z_FINISH);
	if (zrc != Z_STREAM_END)
		return -EIO;
	h->gz.len = bound - h->zs.avail_out;
	return 0;
}

static int encode(struct otlp_http *h, const struct ws_span *const *spans, size_t n)
{
	ws_buf_reset(&h->body);
	if (h->cfg.protocol == WS_OTLP_PROTO_HTTP_JSON)
		return ws_otlp_json_encode(spans, n, &h->body);
	return ws_otlp_proto_encode(spans, n, &h->body);
}

static bool aborting(struct otlp_http *h)
{
	return __atomic_load_n(&h->abort_io, __ATOMIC_RELAXED);
}

/* Wait until t (monotonic ns) unless the sink is stopping, or a flush began whose
 * deadline comes first (the wait could not end in a delivery). false when interrupted. */
static bool sleep_until(struct otlp_http *h, uint64_t t)
{
	bool ok = true;

	pthread_mutex_lock(&h->mu);
	while (mono_ns() < t) {
		if (h->stop || aborting(h) || (h->flush_deadline_ns && t >= h->flush_deadline_ns)) {
			ok = false;
			break;
		}
		struct timespec ts = abs_mono(t);

		pthread_cond_timedwait(&h->wake, &h->mu, &ts);
	}
	pthread_mutex_unlock(&h->mu);
	return ok;
}

static void handle_partial(struct otlp_http *h, int64_t *rejected)
{
	struct ws_otlp_partial p;
	int rc;

	*rejected = 0;
	if (!h->resp.len)
		return;
	if (strstr(h->resp_type, "json"))
		rc = ws_otlp_json_decode_response((const char *)h->resp.data, h->resp.len, &p);
	else
		rc = ws_otlp_proto_decode_response(h->resp.data, h->resp.len, &p);
	if (rc) {
		log_limited(h, "could not decode the collector's response (%zu bytes, %s)", h->resp.len,
			    h->resp_type[0] ? h->resp_type : "no content type");
		return;
	}
	if (p.rejected_spans > 0 || p.error_message[0]) {
		*rejected = p.rejected_spans;
		set_last_error(h, "partial success: %" PRId64 " spans rejected: %s", p.rejected_spans, p.error_message);
		log_limited(h, "collector rejected %" PRId64 " spans: %s", p.rejected_spans, p.error_message);
	}
}

/* Deliver spans[0..n) as one request, or as several when the body is too large. */
static void send_spans(struct otlp_http *h, const struct ws_span *const *spans, size_t n)
{
	const struct ws_otlp_retry_policy pol = {
		.initial_ms = h->cfg.retry_initial_ms,
		.max_ms = h->cfg.retry_max_ms,
		.retry_after_max_ms = h->cfg.retry_after_max_ms,
		.budget_ms = h->cfg.export_timeout_ms,
	};
	const struct ws_buf *wire;
	uint64_t start;
	char why[160];
	int rc;

	rc = encode(h, spans, n);
	if (rc == -E2BIG && n > 1) {
		send_spans(h, spans, n / 2);
		send_spans(h, spans + n / 2, n - n / 2);
		return;
	}
	if (rc) {
		set_last_error(h, "cannot encode %zu spans: %s", n, strerror(-rc));
		log_limited(h, "cannot encode %zu spans: %s", n, strerror(-rc));
		record(h, n, WS_OTLP_OUT_NON_RETRYABLE, 0, 0);
		return;
	}
	wire = &h->body;
	if (h->cfg.compression == WS_OTLP_COMPRESS_GZIP) {
		rc = gzip_body(h);
		if (rc) {
			set_last_error(h, "gzip failed: %s", strerror(-rc));
			record(h, n, WS_OTLP_OUT_NON_RETRYABLE, 0, 0);
			return;
		}
		wire = &h->gz;
	}
	if (h->not_before_ns && !sleep_until(h, h->not_before_ns)) {
		record(h, n, WS_OTLP_OUT_SHUTDOWN, 0, 0);
		return;
	}
	start = mono_ns();
	for (unsigned attempt = 0;; attempt++) {
		long status;
		enum ws_otlp_net net = post(h, wire, &status, why, sizeof(why));
		enum ws_otlp_verdict v = ws_otlp_classify(net, status);
		uint64_t now = mono_ns(), delay_ms, deadline;
		int64_t ra = -1, rejected;

		if (aborting(h)) {
			record(h, n, v == WS_OTLP_DELIVERED ? WS_OTLP_OUT_SENT : WS_OTLP_OUT_SHUTDOWN, 0,
			       v == WS_OTLP_DELIVERED ? wire->len : 0);
			return;
		}
		if (v == WS_OTLP_DELIVERED) {
			handle_partial(h, &rejected);
			record(h, n, WS_OTLP_OUT_SENT, rejected, wire->len);
			return;
		}
		if (v == WS_OTLP_DROP) {
			set_last_error(h, "%s: %zu spans dropped (not retryable)", why, n);
			log_limited(h, "%s from %s: %zu spans dropped (not retryable)", why, h->cfg.endpoint, n);
			record(h, n, WS_OTLP_OUT_NON_RETRYABLE, 0, 0);
			return;
		}
		if (h->retry_after[0]) {
			uint64_t ms;

			if (ws_otlp_parse_retry_after(h->retry_after, (int64_t)time(NULL), &ms) == 0)
				ra = ms > INT64_MAX ? INT64_MAX : (int64_t)ms;
		}
		if (!ws_otlp_next_retry(&pol, attempt, ra, (now - start) / 1000000ull, next_rand(h), &delay_ms)) {
			set_last_error(h, "%s: %zu spans dropped after %u attempts", why, n, attempt + 1);
			log_limited(h, "%s from %s: giving up %zu spans after %u attempts", why, h->cfg.endpoint, n, attempt + 1);
			record(h, n, WS_OTLP_OUT_RETRY_EXHAUSTED, 0, 0);
			return;
		}
		pthread_mutex_lock(&h->mu);
		h->q.st.retries++;
		deadline = h->flush_deadline_ns;
		snprintf(h->q.st.last_error, sizeof(h->q.st.last_error), "%s: retrying", why);
		pthread_mutex_unlock(&h->mu);
		log_limited(h, "%s from %s: retrying %zu spans in %" PRIu64 " ms", why, h->cfg.endpoint, n, delay_ms);
		if (ra >= 0)
			h->not_before_ns = now + (uint64_t)ra * 1000000ull;
		/* shutting down: a wait that ends past the flush deadline cannot deliver */
		if (deadline && now + delay_ms * 1000000ull >= deadline) {
			record(h, n, WS_OTLP_OUT_SHUTDOWN, 0, 0);
			return;
		}
		if (!sleep_until(h, now + delay_ms * 1000000ull)) {
			record(h, n, WS_OTLP_OUT_SHUTDOWN, 0, 0);
			return;
		}
	}
}

/* ---- worker -------------------------------------------------------------------- */

static void *worker(void *arg)
{
	struct otlp_http *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		uint64_t now = mono_ns();
		bool due = h->q.count >= h->batch_max ||
			   (h->q.count && (h->flush_deadline_ns || now - h->pending_since_ns >= h->cfg.schedule_delay_ms * 1000000ull));

		if (h->stop)
			break;
		if (!due || aborting(h)) {
			uint64_t until = h->q.count ? h->pending_since_ns + h->cfg.schedule_delay_ms * 1000000ull
						    : now + 1000000000ull;
			struct timespec ts = abs_mono(until);

			pthread_cond_timedwait(&h->wake, &h->mu, &ts);
			continue;
		}
		size_t n = ws_otlp_queue_take(&h->q, h->batch, h->batch_max);

		/* what stays queued has waited since at least now */
		h->pending_since_ns = h->q.count ? now : 0;
		h->busy = true;
		pthread_mutex_unlock(&h->mu);

		for (size_t i = 0; i < n; i++)
			h->ptrs[i] = &h->batch[i];
		send_spans(h, h->ptrs, n);
		for (size_t i = 0; i < n; i++)
			ws_resource_unref(h->batch[i].res);

		pthread_mutex_lock(&h->mu);
		h->busy = false;
		pthread_cond_broadcast(&h->idle);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* ---- sink ops ------------------------------------------------------------------ */

static void otlp_emit(struct ws_sink *s, const struct ws_span *const *spans, size_t n)
{
	struct otlp_http *h = s->priv;

	pthread_mutex_lock(&h->mu);
	if (h->q.count == 0)
		h->pending_since_ns = mono_ns();
	ws_otlp_queue_push(&h->q, spans, n);
	/* A busy worker comes back for more by itself; waking it on every call while the
	 * collector stalls would only make it fight us for the lock. */
	if (!h->busy && h->q.count >= h->batch_max)
		pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->mu);
}

static void otlp_tick(struct ws_sink *s, uint64_t now_mono_ns)
{
	/* the worker keeps its own schedule */
}

static int otlp_flush(struct ws_sink *s, uint64_t deadline_mono_ns)
{
	struct otlp_http *h = s->priv;
	uint64_t lost;

	pthread_mutex_lock(&h->mu);
	lost = h->q.st.spans_dropped_shutdown;
	h->flush_deadline_ns = deadline_mono_ns ? deadline_mono_ns : 1;
	pthread_cond_broadcast(&h->wake);
	while ((h->q.count || h->busy) && mono_ns() < deadline_mono_ns) {
		struct timespec ts = abs_mono(deadline_mono_ns);

		pthread_cond_timedwait(&h->idle, &h->mu, &ts);
	}
	if (h->q.count || h->busy) {
		/* the deadline passed: stop the transfer in progress (its spans are counted
		 * by the worker) and count what never left the queue */
		__atomic_store_n(&h->abort_io, 1, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&h->wake);
		while (h->busy)
			pthread_cond_wait(&h->idle, &h->mu);
		ws_otlp_queue_drop_all(&h->q);
		__atomic_store_n(&h->abort_io, 0, __ATOMIC_RELAXED);
	}
	h->flush_deadline_ns = 0;
	/* the worker also gives up batches that could not make the deadline */
	lost = h->q.st.spans_dropped_shutdown - lost;
	pthread_mutex_unlock(&h->mu);
	if (lost)
		fprintf(stderr, "wirespan: otlp: flush deadline: %" PRIu64 " spans not delivered\n", lost);
	return lost ? -ETIMEDOUT : 0;
}

static void otlp_report(struct ws_sink *s, FILE *out)
{
	struct ws_otlp_stats st;

	ws_sink_otlp_http_stats(s, &st);
	ws_otlp_stats_report(&st, out);
}

void ws_sink_otlp_http_stats(struct ws_sink *s, struct ws_otlp_stats *out)
{
	struct otlp_http *h = s->priv;

	pthread_mutex_lock(&h->mu);
	*out = h->q.st;
	pthread_mutex_unlock(&h->mu);
}

static void otlp_destroy(struct ws_sink *s)
{
	struct otlp_http *h = s->priv;

	if (h->thr_started) {
		pthread_mutex_lock(&h->mu);
		h->stop = true;
		__atomic_store_n(&h->abort_io, 1, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&h->wake);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->thr, NULL);
	}
	ws_otlp_queue_free(&h->q);
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->hdrs);
	if (h->zs_ready)
		deflateEnd(&h->zs);
	ws_buf_free(&h->body);
	ws_buf_free(&h->gz);
	ws_buf_free(&h->resp);
	free(h->batch);
	free(h->ptrs);
	pthread_cond_destroy(&h->wake);
	pthread_cond_destroy(&h->idle);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static const struct ws_sink_ops otlp_ops = {
	.name = "otlp_http",
	.emit = otlp_emit,
	.tick = otlp_tick,
	.flush = otlp_flush,
	.report = otlp_report,
	.destroy = otlp_destroy,
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct ws_sink *ws_sink_otlp_http_new(const struct ws_otlp_config *cfg)
{
	struct otlp_http *h;
	pthread_condattr_t ca;
	char err[256];
	uint64_t slots;
	int rc;

	if (!cfg->enabled) {
		fprintf(stderr, "wirespan: otlp: no endpoint configured\n");
		return NULL;
	}
	if (ws_otlp_config_validate(cfg, err, sizeof(err))) {
		fprintf(stderr, "wirespan: otlp: %s\n", err);
		return NULL;
	}
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK) {
		fprintf(stderr, "wirespan: otlp: libcurl init failed: %s\n", curl_easy_strerror(curl_init_rc));
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		goto nomem;
	h->cfg = *cfg;
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->wake, &ca);
	pthread_cond_init(&h->idle, &ca);
	pthread_condattr_destroy(&ca);
	/* both bounds hold: spans, and bytes of packed spans (otlp_queue.h) */
	slots = cfg->max_queue_spans;
	h->batch_max = cfg->max_batch_spans < slots ? cfg->max_batch_spans : (uint32_t)slots;
	if (ws_otlp_queue_init(&h->q, (uint32_t)slots, cfg->max_queue_bytes))
		goto nomem;
	h->batch = calloc(h->batch_max, sizeof(*h->batch));
	h->ptrs = calloc(h->batch_max, sizeof(*h->ptrs));
	if (!h->batch || !h->ptrs)
		goto nomem;
	ws_buf_init(&h->body, cfg->max_request_bytes);
	/* gzip of incompressible input is slightly larger than the input */
	ws_buf_init(&h->gz, cfg->max_request_bytes + cfg->max_request_bytes / 100 + 1024);
	ws_buf_init(&h->resp, RESP_MAX);
	if (getrandom(&h->rng, sizeof(h->rng), GRND_NONBLOCK) != sizeof(h->rng))
		h->rng = mono_ns() ^ ((uint64_t)getpid() << 32);
	h->rng |= 1;
	if (curl_setup(h))
		goto nomem;
	h->sink.ops = &otlp_ops;
	h->sink.priv = h;
	rc = pthread_create(&h->thr, NULL, worker, h);
	if (rc) {
		fprintf(stderr, "wirespan: otlp: cannot start the export thread: %s\n", strerror(rc));
		otlp_destroy(&h->sink);
		return NULL;
	}
	h->thr_started = true;
	return &h->sink;
nomem:
	fprintf(stderr, "wirespan: otlp: out of memory setting up the exporter\n");
	if (h) {
		h->sink.priv = h;
		otlp_destroy(&h->sink);
	}
	return NULL;
}

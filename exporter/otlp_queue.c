/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* OTLP exporter core: bounded span queue, exact accounting, retry policy, Retry-After. */
#include "otlp_queue.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "otlp_proto.h"

/* ---- queue and accounting ---------------------------------------------------- */

struct ws_otlp_chunk {
	struct ws_otlp_chunk *next;
	uint32_t used;                 /* bytes written */
	uint32_t read;                 /* bytes taken */
	uint8_t data[];
};

#define CHUNK_DATA (WS_OTLP_CHUNK_BYTES - offsetof(struct ws_otlp_chunk, data))

_Static_assert(WS_SPAN_PACKED_MAX <= CHUNK_DATA, "a chunk holds the largest packed span");

int ws_otlp_queue_init(struct ws_otlp_queue *q, uint32_t cap, size_t max_bytes)
{
	memset(q, 0, sizeof(*q));
	if (cap == 0)
		return -EINVAL;
	q->cap = cap;
	max_bytes /= WS_OTLP_CHUNK_BYTES;
	q->max_chunks = max_bytes == 0 ? 1 : max_bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)max_bytes;
	return 0;
}

/* Chunks are mapped and unmapped directly, not taken from malloc: their memory goes
 * back to the system when they are, whatever the allocator's thresholds and arenas. */
static struct ws_otlp_chunk *chunk_get(struct ws_otlp_queue *q)
{
	struct ws_otlp_chunk *c = q->spare;
	void *m;

	if (c) {
		q->spare = c->next;
		q->n_spare--;
	} else {
		if (q->chunks >= q->max_chunks)
			return NULL;
		m = mmap(NULL, WS_OTLP_CHUNK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		c = m;
		q->chunks++;
		q->st.queue_bytes = (uint64_t)q->chunks * WS_OTLP_CHUNK_BYTES;
		if (q->chunks > q->chunks_max_seen)
			q->chunks_max_seen = q->chunks;
	}
	c->next = NULL;
	c->used = c->read = 0;
	return c;
}

static void chunk_put(struct ws_otlp_queue *q, struct ws_otlp_chunk *c)
{
	if (q->n_spare < WS_OTLP_SPARE_CHUNKS) {
		c->next = q->spare;
		q->spare = c;
		q->n_spare++;
		return;
	}
	munmap(c, WS_OTLP_CHUNK_BYTES);
	q->chunks--;
	q->st.queue_bytes = (uint64_t)q->chunks * WS_OTLP_CHUNK_BYTES;
}

void ws_otlp_queue_free(struct ws_otlp_queue *q)
{
	ws_otlp_queue_drop_all(q);
	if (q->first)
		chunk_put(q, q->first);   /* drained: the one left is empty */
	q->first = q->last = NULL;
	while (q->spare) {
		struct ws_otlp_chunk *c = q->spare;

		q->spare = c->next;
		munmap(c, WS_OTLP_CHUNK_BYTES);
		q->chunks--;
	}
	q->n_spare = 0;
	q->st.queue_bytes = 0;
	q->cap = 0;
}

size_t ws_otlp_queue_push(struct ws_otlp_queue *q, const struct ws_span *const *spans, size_t n)
{
	size_t k = 0;

	for (; k < n && q->count < q->cap; k++) {
		size_t sz = ws_span_packed_size(spans[k]);
		struct ws_otlp_chunk *c = q->last;

		if (!c || c->used + sz > CHUNK_DATA) {
			c = chunk_get(q);
			if (!c)
				break;
			if (q->last)
				q->last->next = c;
			else
				q->first = c;
			q->last = c;
		}
		ws_span_pack(c->data + c->used, spans[k]);
		ws_resource_ref(spans[k]->res);
		c->used += (uint32_t)sz;
		q->count++;
	}
	q->st.spans_queued += k;
	q->st.spans_dropped_queue_full += n - k;
	q->st.queue_depth = q->count;
	return k;
}

/* The oldest packed span (unpacked into out, when given), taken off the queue. Read
 * chunks go (the last one, emptied, is reused in place). Returns its resource. */
static struct ws_resource *queue_pop(struct ws_otlp_queue *q, struct ws_span *out)
{
	struct ws_otlp_chunk *c = q->first;
	const uint8_t *p = c->data + c->read;
	struct ws_resource *res = ws_span_packed_res(p);
	uint32_t size;

	if (out) {
		c->read += (uint32_t)ws_span_unpack(out, p);
	} else {
		memcpy(&size, p, sizeof(size));  /* a packed span begins with its size */
		c->read += size;
	}
	q->count--;
	if (c->read == c->used) {
		if (c == q->last) {
			c->used = c->read = 0;
		} else {
			q->first = c->next;
			chunk_put(q, c);
		}
	}
	return res;
}

size_t ws_otlp_queue_take(struct ws_otlp_queue *q, struct ws_span *out, size_t max)
{
	size_t k = max < q->count ? max : q->count;

	for (size_t i = 0; i < k; i++)
		queue_pop(q, &out[i]);
	q->st.queue_depth = q->count;
	q->st.in_flight += k;
	return k;
}

void ws_otlp_queue_done(struct ws_otlp_queue *q, size_t n, enum ws_otlp_outcome out, int64_t rejected)
{
	struct ws_otlp_stats *st = &q->st;

	if (n > st->in_flight)   /* a caller bug; keep the identities true regardless */
		n = st->in_flight;
	st->in_flight -= n;
	switch (out) {
	case WS_OTLP_OUT_SENT:
		st->spans_sent += n;
		if (rejected > 0)
			st->partial_success_rejected += (uint64_t)rejected;
		break;
	case WS_OTLP_OUT_NON_RETRYABLE:
		st->spans_dropped_non_retryable += n;
		st->spans_failed += n;
		break;
	case WS_OTLP_OUT_RETRY_EXHAUSTED:
		st->spans_dropped_retry_exhausted += n;
		st->spans_failed += n;
		break;
	case WS_OTLP_OUT_SHUTDOWN:
		st->spans_dropped_shutdown += n;
		break;
	}
}

size_t ws_otlp_queue_drop_all(struct ws_otlp_queue *q)
{
	size_t n = q->count;

	for (size_t i = 0; i < n; i++)
		ws_resource_unref(queue_pop(q, NULL));
	q->st.queue_depth = 0;
	q->st.spans_dropped_shutdown += n;
	return n;
}

bool ws_otlp_stats_consistent(const struct ws_otlp_stats *st)
{
	return st->spans_queued == st->spans_sent + st->spans_failed + st->spans_dropped_shutdown +
				   st->queue_depth + st->in_flight &&
	       st->spans_failed == st->spans_dropped_non_retryable + st->spans_dropped_retry_exhausted;
}

void ws_otlp_stats_report(const struct ws_otlp_stats *st, FILE *out)
{
	fprintf(out, "otlp_spans_queued %" PRIu64 "\n", st->spans_queued);
	fprintf(out, "otlp_spans_sent %" PRIu64 "\n", st->spans_sent);
	fprintf(out, "otlp_spans_failed %" PRIu64 "\n", st->spans_failed);
	fprintf(out, "otlp_spans_dropped_queue_full %" PRIu64 "\n", st->spans_dropped_queue_full);
	fprintf(out, "otlp_spans_dropped_non_retryable %" PRIu64 "\n", st->spans_dropped_non_retryable);
	fprintf(out, "otlp_spans_dropped_retry_exhausted %" PRIu64 "\n", st->spans_dropped_retry_exhausted);
	fprintf(out, "otlp_spans_dropped_shutdown %" PRIu64 "\n", st->spans_dropped_shutdown);
	fprintf(out, "otlp_retries %" PRIu64 "\n", st->retries);
	fprintf(out, "otlp_queue_depth %" PRIu64 "\n", st->queue_depth);
	fprintf(out, "otlp_queue_bytes %" PRIu64 "\n", st->queue_bytes);
	fprintf(out, "otlp_partial_success_rejected %" PRIu64 "\n", st->partial_success_rejected);
	fprintf(out, "otlp_requests %" PRIu64 "\n", st->requests);
	fprintf(out, "otlp_bytes_sent %" PRIu64 "\n", st->bytes_sent);
	/* quoted, with quotes and backslashes escaped, so the line stays one parsable line */
	fputs("otlp_last_error \"", out);
	for (const char *c = st->last_error; *c; c++) {
		if (*c == '"' || *c == '\\')
			fputc('\\', out);
		fputc((unsigned char)*c < 0x20 ? ' ' : *c, out);
	}
	fputs("\"\n", out);
}

/* ---- retry policy -------------------------------------------------------------- */

enum ws_otlp_verdict ws_otlp_classify(enum ws_otlp_net net, long http_status)
{
	if (net == WS_OTLP_NET_RETRYABLE)
		return WS_OTLP_RETRY;
	if (net == WS_OTLP_NET_FATAL)
		return WS_OTLP_DROP;
	if (http_status >= 200 && http_status < 300)
		return WS_OTLP_DELIVERED;
	switch (http_status) {
	case 429:
	case 502:
	case 503:
	case 504:
		return WS_OTLP_RETRY;
	default:
		return WS_OTLP_DROP;
	}
}

uint64_t ws_otlp_backoff_ms(const struct ws_otlp_retry_policy *p, unsigned attempt, uint64_t rnd)
{
	uint64_t cap = p->initial_ms;

	for (unsigned i = 0; i < attempt && cap < p->max_ms; i++)
		cap *= 2;
	if (cap > p->max_ms)
		cap = p->max_ms;
	/* full jitter: retries of many agents that failed together spread over the window */
	return rnd % (cap + 1);
}

bool ws_otlp_next_retry(const struct ws_otlp_retry_policy *p, unsigned attempt, int64_t retry_after_ms,
			uint64_t elapsed_ms, uint64_t rnd, uint64_t *delay_ms)
{
	uint64_t d;

	if (retry_after_ms >= 0) {
		if ((uint64_t)retry_after_ms > p->retry_after_max_ms)
			return false;
		d = (uint64_t)retry_after_ms;
	} else {
		d = ws_otlp_backoff_ms(p, attempt, rnd);
	}
	if (elapsed_ms >= p->budget_ms || d > p->budget_ms - elapsed_ms)
		return false;
	*delay_ms = d;
	return true;
}

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static int get_num(const char **p, unsigned min_digits, unsigned max_digits, int *out)
{
	unsigned n = 0;
	int v = 0;

	while (n < max_digits && isdigit((unsigned char)**p)) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	if (n < min_digits)
		return -1;
	*out = v;
	return 0;
}

static int get_month(const char **p, int *mon)
{
	for (int i = 0; i < 12; i++)
		if (strncmp(*p, month_names[i], 3) == 0) {
			*mon = i + 1;
			*p += 3;
			return 0;
		}
	return -1;
}

static int expect(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*p, lit, n))
		return -1;
	*p += n;
	return 0;
}

static int get_time(const char **p, int *h, int *mi, int *s)
{
	if (get_num(p, 2, 2, h) || expect(p, ":") || get_num(p, 2, 2, mi) || expect(p, ":") || get_num(p, 2, 2, s))
		return -1;
	return 0;
}

int ws_otlp_parse_http_date(const char *v, int64_t *unix_s)
{
	const char *p = v, *comma = strchr(v, ',');
	int day, mon, year, h, mi, s;

	while (isalpha((unsigned char)*p))
		p++;
	if (p - v < 3)
		return -EINVAL;
	if (comma && comma == p && p - v == 3) {
		/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
		p++;
		if (expect(&p, " ") || get_num(&p, 2, 2, &day) || expect(&p, " ") || get_month(&p, &mon) ||
		    expect(&p, " ") || get_num(&p, 4, 4, &year) || expect(&p, " ") || get_time(&p, &h, &mi, &s) ||
		    expect(&p, " GMT"))
			return -EINVAL;
	} else if (comma && comma == p) {
		/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
		p++;
		if (expect(&p, " ") || get_num(&p, 2, 2, &day) || expect(&p, "-") || get_month(&p, &mon) ||
		    expect(&p, "-") || get_num(&p, 2, 2, &year) || expect(&p, " ") || get_time(&p, &h, &mi, &s) ||
		    expect(&p, " GMT"))
			return -EINVAL;
		year += year < 70 ? 2000 : 1900;
	} else if (p - v == 3 && *p == ' ') {
		/* asctime: Sun Nov  6 08:49:37 1994 */
		p++;
		if (get_month(&p, &mon) || expect(&p, " "))
			return -EINVAL;
		if (*p == ' ')
			p++;
		if (get_num(&p, 1, 2, &day) || expect(&p, " ") || get_time(&p, &h, &mi, &s) || expect(&p, " ") ||
		    get_num(&p, 4, 4, &year))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p || day < 1 || day > 31 || h > 23 || mi > 59 || s > 60)
		return -EINVAL;
	*unix_s = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 + h * 3600 + mi * 60 + s;
	return 0;
}

int ws_otlp_parse_retry_after(const char *v, int64_t now_unix, uint64_t *delay_ms)
{
	const char *p = v, *end;
	int64_t when;

	if (!v)
		return -EINVAL;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (end == p)
		return -EINVAL;
	if (isdigit((unsigned char)*p)) {
		uint64_t secs = 0;

		for (; p < end; p++) {
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			/* saturate: a silly value is simply "longer than we will wait" */
			if (secs < 100000000)
				secs = secs * 10 + (uint64_t)(*p - '0');
		}
		*delay_ms = secs * 1000;
		return 0;
	}
	char tmp[64];

	if ((size_t)(end - p) >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, p, (size_t)(end - p));
	tmp[end - p] = '\0';
	if (ws_otlp_parse_http_date(tmp, &when))
		return -EINVAL;
	*delay_ms = when > now_unix ? (uint64_t)(when - now_unix) * 1000 : 0;
	return 0;
}

/* ---- JSON partial_success ------------------------------------------------------ */

static const char *find_key(const char *b, const char *end, const char *k1, const char *k2)
{
	for (const char *k = k1; k; k = k == k1 ? k2 : NULL) {
		size_t n = strlen(k);

		for (const char *p = b; p + n <= end; p++) {
			const char *q;

			p = memmem(p, (size_t)(end - p), k, n);
			if (!p)
				break;
			q = p + n;
			while (q < end && isspace((unsigned char)*q))
				q++;
			if (q < end && *q == ':') {
				q++;
				while (q < end && isspace((unsigned char)*q))
					q++;
				return q;
			}
		}
	}
	return NULL;
}

int ws_otlp_json_decode_response(const char *body, size_t len, struct ws_otlp_partial *out)
{
	const char *end = body + len, *p;

	memset(out, 0, sizeof(*out));
	if ((p = find_key(body, end, "\"rejectedSpans\"", "\"rejected_spans\""))) {
		bool quoted = p < end && *p == '"';
		int64_t v = 0;

		if (quoted)
			p++;
		if (p >= end || !isdigit((unsigned char)*p))
			return -EBADMSG;
		while (p < end && isdigit((unsigned char)*p)) {
			if (v < INT64_MAX / 10)
				v = v * 10 + (*p - '0');
			p++;
		}
		if (quoted && (p >= end || *p != '"'))
			return -EBADMSG;
		out->rejected_spans = v;
	}
	if ((p = find_key(body, end, "\"errorMessage\"", "\"error_message\""))) {
		size_t n = 0;

		if (p >= end || *p != '"')
			return -EBADMSG;
		for (p++; p < end && *p != '"'; p++) {
			char c = *p;

			if (c == '\\') {
				if (++p >= end)
					return -EBADMSG;
				c = *p == 'n' ? ' ' : *p == 't' ? ' ' : *p == 'u' ? '?' : *p;
				if (*p == 'u')
					p += (end - p > 4) ? 4 : end - p - 1;
			}
			if (n + 1 < sizeof(out->error_message))
				out->error_message[n++] = c;
		}
		if (p >= end)
			return -EBADMSG;
		out->error_message[n] = '\0';
	}
	return 0;
}

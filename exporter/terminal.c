/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Terminal sink: the default human view. Spans arrive when their parentage is final,
 * in any order within a trace (a CLIENT span often ends before its SERVER parent), so
 * they are held per trace and a trace is printed as a tree once it has been quiet for
 * TERM_QUIET_NS, or at flush(). Time comes only from tick()'s argument.
 *
 *     12.4ms ok 200   frontend SERVER GET /api/users/{id}  trace 4bf92f3577b34da6a3ce929d0e0e4736
 *     10.1ms ok 200   └─ frontend CLIENT GET http://users:8080/users/7
 *     9.80ms ok 200      └─ users SERVER GET /users/{id}
 *
 * Everything shown comes from traffic, so every byte is filtered before it reaches the
 * terminal: control characters (escape sequences), C1 controls and broken UTF-8
 * become '?'.
 *
 * Memory is bounded: TERM_MAX_TRACES open traces, TERM_MAX_SPANS_PER_TRACE spans each,
 * TERM_MAX_SPANS_TOTAL held overall; beyond that spans are dropped and counted.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "otlp_json.h"
#include "sink.h"
#include "waitbar.h"

#define TERM_QUIET_NS 500000000ull
#define TERM_MAX_TRACES 4096
#define TERM_MAX_SPANS_PER_TRACE 512
#define TERM_MAX_SPANS_TOTAL 65536
#define TERM_BUCKETS 8192            /* power of two, 2x the trace limit */
#define TERM_DETAIL_MAX 96
#define TERM_MAX_INDENT 16           /* tree levels drawn; deeper spans keep this indent */
#define TERM_LINE_MAX 1024

struct term_span {
	uint64_t start_ns, end_ns;
	struct ws_resource *res;     /* one reference held */
	uint8_t span_id[8];
	uint8_t parent_id[8];
	int32_t http_status;         /* 0: none */
	uint8_t kind;
	uint8_t status_code;
	uint8_t parent_remote;
	uint8_t has_parent;
	char name[WS_SPAN_NAME_MAX];
	char detail[TERM_DETAIL_MAX];
	char waitbar[WS_WAITBAR_CELLS + 3]; /* where the time went (waitbar.h), "" when unknown */
};

struct term_trace {
	uint8_t trace_id[16];
	uint64_t last_ns;                /* tick time of the newest span */
	struct term_trace *hnext;        /* hash chain */
	struct term_trace *prev, *next;  /* activity list, least recently updated first */
	uint32_t n, cap, dropped;
	struct term_span *spans;
};

struct term_sink {
	struct ws_sink sink;
	FILE *out;
	bool color;
	bool have_clock;                 /* a tick has told us the time */
	uint64_t now;
	uint64_t seed;
	struct term_trace *buckets[TERM_BUCKETS];
	struct term_trace *oldest, *newest;
	uint32_t n_traces;
	uint32_t n_held;
	uint64_t received, printed, traces_printed, dropped, write_errors;
	/* printing scratch, one trace at a time */
	uint16_t order[TERM_MAX_SPANS_PER_TRACE];
	int16_t parent[TERM_MAX_SPANS_PER_TRACE];
	int16_t first_child[TERM_MAX_SPANS_PER_TRACE];
	int16_t next_sib[TERM_MAX_SPANS_PER_TRACE];
	uint8_t visited[TERM_MAX_SPANS_PER_TRACE];
	uint8_t is_last[TERM_MAX_SPANS_PER_TRACE];
	uint8_t depth[TERM_MAX_SPANS_PER_TRACE];
	uint16_t stack[TERM_MAX_SPANS_PER_TRACE];
};

#define C_RESET "\033[0m"
#define C_DIM "\033[2m"
#define C_BOLD "\033[1m"
#define C_RED "\033[1;31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"

/* ---- text helpers -------------------------------------------------------------- */

struct line {
	char buf[TERM_LINE_MAX];
	size_t len;
};

static void l_put(struct line *l, const char *s, size_t n)
{
	if (n > sizeof(l->buf) - 1 - l->len)
		n = sizeof(l->buf) - 1 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

static void l_puts(struct line *l, const char *s)
{
	l_put(l, s, strlen(s));
}

static void l_color(struct line *l, bool on, const char *code)
{
	if (on)
		l_puts(l, code);
}

/* Untrusted text: keep printable ASCII and well-formed UTF-8 above the C1 block. */
static void l_put_safe(struct line *l, const char *s, size_t cap)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + strnlen(s, cap);

	while (p < end) {
		size_t n, skip;

		if (*p >= 0x20 && *p < 0x7f) {
			l_put(l, (const char *)p, 1);
			p++;
		} else if (*p < 0x80) {
			l_put(l, "?", 1);
			p++;
		} else if ((n = ws_utf8_seq(p, end, &skip)) > 0) {
			if (p[0] == 0xC2 && p[1] < 0xA0)
				l_put(l, "?", 1);           /* U+0080..U+009F: C1 controls */
			else
				l_put(l, (const char *)p, n);
			p += n;
		} else {
			l_put(l, "?", 1);
			p += skip;
		}
	}
}

/* Copy at most cap-1 bytes, never cutting a UTF-8 sequence; "..." marks a cut. */
static void copy_trunc(char *dst, size_t cap, const char *src, size_t len)
{
	bool cut = len > cap - 1;

	if (cut) {
		len = cap - 4;
		while (len > 0 && ((uint8_t)src[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	if (cut) {
		memcpy(dst + len, "...", 3);
		len += 3;
	}
	dst[len] = '\0';
}

/* Three significant digits in the largest unit that keeps the value >= 1. */
static void fmt_duration(char *out, size_t cap, uint64_t ns)
{
	static const struct {
		uint64_t div;
		const char *unit;
	} units[] = { { 1000000000ull, "s" }, { 1000000ull, "ms" }, { 1000ull, "\xc2\xb5s" } };
	double v = 0;
	const char *unit = "ns";

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ns >= units[i].div) {
			v = (double)ns / (double)units[i].div;
			unit = units[i].unit;
			break;
		}
	}
	if (unit[0] == 'n')
		snprintf(out, cap, "%lluns", (unsigned long long)ns);
	else if (v < 10)
		snprintf(out, cap, "%.2f%s", v, unit);
	else if (v < 100)
		snprintf(out, cap, "%.1f%s", v, unit);
	else
		snprintf(out, cap, "%.0f%s", v, unit);
}

/* Display columns of a short UTF-8 string (every code point one column here). */
static size_t columns(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((uint8_t)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static void l_pad_left(struct line *l, const char *s, size_t width)
{
	for (size_t c = columns(s); c < width; c++)
		l_put(l, " ", 1);
	l_puts(l, s);
}

static const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case WS_KIND_INTERNAL: return "INTERNAL";
	case WS_KIND_SERVER: return "SERVER";
	case WS_KIND_CLIENT: return "CLIENT";
	case WS_KIND_PRODUCER: return "PRODUCER";
	case WS_KIND_CONSUMER: return "CONSUMER";
	default: return "SPAN";
	}
}

/* ---- trace table ---------------------------------------------------------------- */

/* Trace ids can come from traceparent headers, i.e. from whoever sends us traffic: a
 * per-sink random seed keeps crafted ids from piling into one hash chain. */
static uint32_t trace_hash(const struct term_sink *t, const uint8_t id[16])
{
	uint64_t a, b;

	memcpy(&a, id, sizeof(a));
	memcpy(&b, id + 8, sizeof(b));
	a = (a ^ t->seed) * 0x9E3779B97F4A7C15ull;
	b = (b ^ a ^ (a >> 31)) * 0xBF58476D1CE4E5B9ull;
	return (uint32_t)(b >> 40) & (TERM_BUCKETS - 1);
}

static struct term_trace *trace_find(struct term_sink *t, const uint8_t id[16])
{
	struct term_trace *tr = t->buckets[trace_hash(t, id)];

	while (tr && memcmp(tr->trace_id, id, 16) != 0)
		tr = tr->hnext;
	return tr;
}

static void list_unlink(struct term_sink *t, struct term_trace *tr)
{
	if (tr->prev)
		tr->prev->next = tr->next;
	else
		t->oldest = tr->next;
	if (tr->next)
		tr->next->prev = tr->prev;
	else
		t->newest = tr->prev;
	tr->prev = tr->next = NULL;
}

static void list_append(struct term_sink *t, struct term_trace *tr)
{
	tr->prev = t->newest;
	tr->next = NULL;
	if (t->newest)
		t->newest->next = tr;
	else
		t->oldest = tr;
	t->newest = tr;
}

static void trace_free(struct term_sink *t, struct term_trace *tr)
{
	struct term_trace **pp = &t->buckets[trace_hash(t, tr->trace_id)];

	while (*pp != tr)
		pp = &(*pp)->hnext;
	*pp = tr->hnext;
	list_unlink(t, tr);
	for (uint32_t i = 0; i < tr->n; i++)
		ws_resource_unref(tr->spans[i].res);
	t->n_held -= tr->n;
	t->n_traces--;
	free(tr->spans);
	free(tr);
}

/* ---- printing ------------------------------------------------------------------- */

static const char *attr_str(const struct ws_span *s, const char *key)
{
	const struct ws_attr *a = ws_span_find_attr(s, key);

	return a && a->type == WS_ATTR_STR ? ws_span_attr_str(s, a) : NULL;
}

/* What to show after the name: the part of the request the name leaves out. */
static void pick_detail(const struct ws_span *s, char *out, size_t cap)
{
	size_t name_len = strnlen(s->name, sizeof(s->name));
	const char *v;
	char tmp[160];

	out[0] = '\0';
	v = attr_str(s, "url.full");
	if (!v)
		v = attr_str(s, "db.query.summary");
	if (!v)
		v = attr_str(s, "db.query.text");
	if (!v && s->kind == WS_KIND_SERVER && !memchr(s->name, ' ', name_len))
		v = attr_str(s, "url.path");    /* the name is only "{method}": say where */
	if (!v && (s->kind == WS_KIND_CLIENT || s->kind == WS_KIND_PRODUCER) &&
	    (v = attr_str(s, "server.address"))) {
		const struct ws_attr *port = ws_span_find_attr(s, "server.port");

		if (port && port->type == WS_ATTR_INT) {
			snprintf(tmp, sizeof(tmp), "%.120s:%lld", v, (long long)port->v.i);
			v = tmp;
		}
	}
	if (!v || !*v || (strlen(v) == name_len && memcmp(v, s->name, name_len) == 0))
		return;
	copy_trunc(out, cap, v, strlen(v));
}

struct print_state {
	bool first_line;              /* the trace id goes on the trace's first line */
	bool anc_last[TERM_MAX_INDENT + 1];
};

static void print_span(struct term_sink *t, struct print_state *ps, const struct term_trace *tr,
		       uint16_t i, const char *marker)
{
	const struct term_span *sp = &tr->spans[i];
	struct line l = { .len = 0 };
	char dur[32], status[32], hex[33];
	bool err = sp->status_code == WS_STATUS_ERROR;
	unsigned d = t->depth[i] < TERM_MAX_INDENT ? t->depth[i] : TERM_MAX_INDENT;

	l.buf[0] = '\0';
	fmt_duration(dur, sizeof(dur), sp->end_ns > sp->start_ns ? sp->end_ns - sp->start_ns : 0);
	l_pad_left(&l, dur, 8);
	l_puts(&l, " ");
	if (sp->http_status)
		snprintf(status, sizeof(status), "%s %d", err ? "ERROR" : "ok", (int)sp->http_status);
	else
		snprintf(status, sizeof(status), "%s", err ? "ERROR" : "ok");
	l_color(&l, t->color, err ? C_RED : C_GREEN);
	l_puts(&l, status);
	l_color(&l, t->color, C_RESET);
	for (size_t c = columns(status); c < 10; c++)
		l_put(&l, " ", 1);

	/* Tree: a bar for every ancestor that has later siblings, then this span's branch. */
	ps->anc_last[d] = t->is_last[i];
	for (unsigned k = 1; k < d; k++)
		l_puts(&l, ps->anc_last[k] ? "   " : "\xe2\x94\x82  ");
	if (d > 0)
		l_puts(&l, t->is_last[i] ? "\xe2\x94\x94\xe2\x94\x80 " : "\xe2\x94\x9c\xe2\x94\x80 ");
	if (marker) {
		l_color(&l, t->color, C_YELLOW);
		l_puts(&l, "\xe2\x86\xb3 ");
		l_color(&l, t->color, C_RESET);
	}

	l_color(&l, t->color, C_CYAN);
	l_put_safe(&l, ws_resource_service_name(sp->res), 128);
	l_color(&l, t->color, C_RESET);
	l_puts(&l, " ");
	l_color(&l, t->color, C_DIM);
	l_puts(&l, kind_name(sp->kind));
	l_color(&l, t->color, C_RESET);
	l_puts(&l, " ");
	l_color(&l, t->color, C_BOLD);
	l_put_safe(&l, sp->name, sizeof(sp->name));
	l_color(&l, t->color, C_RESET);
	if (sp->detail[0]) {
		l_puts(&l, " ");
		l_put_safe(&l, sp->detail, sizeof(sp->detail));
	}
	if (sp->waitbar[0]) {
		l_puts(&l, "  ");
		l_color(&l, t->color, C_DIM);
		l_puts(&l, sp->waitbar);
		l_color(&l, t->color, C_RESET);
	}
	if (marker) {
		ws_hex(hex, sp->parent_id, 8);
		l_color(&l, t->color, C_YELLOW);
		l_puts(&l, "  (");
		l_puts(&l, marker);
		l_puts(&l, " ");
		l_puts(&l, hex);
		l_puts(&l, ")");
		l_color(&l, t->color, C_RESET);
	}
	if (ps->first_line) {
		ps->first_line = false;
		ws_hex(hex, tr->trace_id, 16);
		l_color(&l, t->color, C_DIM);
		l_puts(&l, "  trace ");
		l_puts(&l, hex);
		if (tr->dropped) {
			char tmp[48];

			snprintf(tmp, sizeof(tmp), " (+%u spans dropped)", tr->dropped);
			l_puts(&l, tmp);
		}
		l_color(&l, t->color, C_RESET);
	}
	/* a line cut at TERM_LINE_MAX still ends the line */
	if (l.len == sizeof(l.buf) - 1)
		l.len--;
	l.buf[l.len++] = '\n';
	l.buf[l.len] = '\0';
	if (fputs(l.buf, t->out) == EOF)
		t->write_errors++;
	t->printed++;
}

static int cmp_start(const void *a, const void *b, void *ctx)
{
	const struct term_trace *tr = ctx;
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	const struct term_span *sx = &tr->spans[x], *sy = &tr->spans[y];

	if (sx->start_ns != sy->start_ns)
		return sx->start_ns < sy->start_ns ? -1 : 1;
	return x < y ? -1 : x > y;    /* arrival order breaks ties: stable output */
}

/* Print the subtree under root in pre-order without recursion (chains can be 512 deep). */
static void print_subtree(struct term_sink *t, struct print_state *ps, const struct term_trace *tr,
			  uint16_t root, const char *marker)
{
	size_t sp = 0;

	t->depth[root] = 0;
	t->is_last[root] = 1;
	t->visited[root] = 1;
	t->stack[sp++] = root;
	while (sp > 0) {
		uint16_t i = t->stack[--sp];

		print_span(t, ps, tr, i, i == root ? marker : NULL);
		/* Child lists are built latest-first, so pushing in list order leaves the
		 * earliest child on top of the stack. */
		for (int16_t c = t->first_child[i]; c >= 0; c = t->next_sib[c]) {
			if (t->visited[c])
				continue;
			t->visited[c] = 1;
			t->depth[c] = (uint8_t)(t->depth[i] < 255 ? t->depth[i] + 1 : 255);
			t->stack[sp++] = (uint16_t)c;
		}
	}
}

static void print_trace(struct term_sink *t, const struct term_trace *tr)
{
	struct print_state ps = { .first_line = true };
	uint32_t n = tr->n;

	for (uint32_t i = 0; i < n; i++) {
		t->order[i] = (uint16_t)i;
		t->parent[i] = -1;
		t->first_child[i] = -1;
		t->next_sib[i] = -1;
		t->visited[i] = 0;
		t->is_last[i] = 0;
	}
	qsort_r(t->order, n, sizeof(t->order[0]), cmp_start, (void *)tr);
	for (uint32_t i = 0; i < n; i++) {
		const struct term_span *s = &tr->spans[i];

		if (!s->has_parent)
			continue;
		for (uint32_t j = 0; j < n; j++) {
			if (j != i && memcmp(tr->spans[j].span_id, s->parent_id, 8) == 0) {
				t->parent[i] = (int16_t)j;
				break;
			}
		}
	}
	/* Prepend in start order: each list ends up latest-first, its head is the last child. */
	for (uint32_t k = 0; k < n; k++) {
		uint16_t i = t->order[k];
		int16_t p = t->parent[i];

		if (p < 0)
			continue;
		t->next_sib[i] = t->first_child[p];
		t->first_child[p] = (int16_t)i;
	}
	for (uint32_t i = 0; i < n; i++)
		if (t->first_child[i] >= 0)
			t->is_last[t->first_child[i]] = 1;

	for (uint32_t k = 0; k < n; k++) {
		uint16_t i = t->order[k];
		const struct term_span *s = &tr->spans[i];

		if (t->parent[i] >= 0)
			continue;
		print_subtree(t, &ps, tr, i, !s->has_parent ? NULL :
			      s->parent_remote ? "remote parent" : "parent not seen");
	}
	/* Spans only reachable through a parent cycle (bad input): still show them. */
	for (uint32_t k = 0; k < n; k++) {
		uint16_t i = t->order[k];

		if (!t->visited[i])
			print_subtree(t, &ps, tr, i, "parent cycle");
	}
	t->traces_printed++;
}

static void print_and_free(struct term_sink *t, struct term_trace *tr)
{
	print_trace(t, tr);
	trace_free(t, tr);
}

/* ---- sink ops ------------------------------------------------------------------- */

static bool add_span(struct term_sink *t, const struct ws_span *s)
{
	struct term_trace *tr = trace_find(t, s->trace_id);
	struct term_span *sp;
	const struct ws_attr *a;

	if (!tr) {
		if (t->n_traces >= TERM_MAX_TRACES || t->n_held >= TERM_MAX_SPANS_TOTAL)
			return false;
		tr = calloc(1, sizeof(*tr));
		if (!tr)
			return false;
		memcpy(tr->trace_id, s->trace_id, 16);
		tr->hnext = t->buckets[trace_hash(t, tr->trace_id)];
		t->buckets[trace_hash(t, tr->trace_id)] = tr;
		list_append(t, tr);
		t->n_traces++;
	}
	if (tr->n >= TERM_MAX_SPANS_PER_TRACE || t->n_held >= TERM_MAX_SPANS_TOTAL) {
		tr->dropped++;
		return false;
	}
	if (tr->n == tr->cap) {
		uint32_t ncap = tr->cap ? tr->cap * 2 : 8;
		struct term_span *ns;

		if (ncap > TERM_MAX_SPANS_PER_TRACE)
			ncap = TERM_MAX_SPANS_PER_TRACE;
		ns = realloc(tr->spans, ncap * sizeof(*ns));
		if (!ns) {
			tr->dropped++;
			if (!tr->n)
				trace_free(t, tr);
			return false;
		}
		tr->spans = ns;
		tr->cap = ncap;
	}
	sp = &tr->spans[tr->n++];
	memset(sp, 0, sizeof(*sp));
	sp->start_ns = s->start_ns;
	sp->end_ns = s->end_ns;
	sp->res = s->res;
	ws_resource_ref(s->res);
	memcpy(sp->span_id, s->span_id, 8);
	memcpy(sp->parent_id, s->parent_span_id, 8);
	sp->has_parent = !ws_id_is_zero(s->parent_span_id, 8);
	sp->parent_remote = s->parent_remote;
	sp->kind = s->kind;
	sp->status_code = s->status_code;
	a = ws_span_find_attr(s, "http.response.status_code");
	if (a && a->type == WS_ATTR_INT && a->v.i > 0 && a->v.i < 1000)
		sp->http_status = (int32_t)a->v.i;
	copy_trunc(sp->name, sizeof(sp->name), s->name, strnlen(s->name, sizeof(s->name)));
	pick_detail(s, sp->detail, sizeof(sp->detail));
	ws_waitbar(s, sp->waitbar, sizeof(sp->waitbar));
	t->n_held++;
	/* Before the first tick the time is unknown: the first tick stamps these traces. */
	tr->last_ns = t->have_clock ? t->now : 0;
	list_unlink(t, tr);
	list_append(t, tr);
	return true;
}

static void term_emit(struct ws_sink *s, const struct ws_span *const *spans, size_t n)
{
	struct term_sink *t = s->priv;

	for (size_t i = 0; i < n; i++) {
		t->received++;
		if (!add_span(t, spans[i]))
			t->dropped++;
	}
}

static void term_tick(struct ws_sink *s, uint64_t now_mono_ns)
{
	struct term_sink *t = s->priv;
	bool any = false;

	if (!t->have_clock) {
		for (struct term_trace *tr = t->oldest; tr; tr = tr->next)
			tr->last_ns = now_mono_ns;
		t->have_clock = true;
	}
	t->now = now_mono_ns;
	/* The list is ordered by last_ns, so quiet traces are all at its head. */
	while (t->oldest && now_mono_ns >= t->oldest->last_ns &&
	       now_mono_ns - t->oldest->last_ns >= TERM_QUIET_NS) {
		print_and_free(t, t->oldest);
		any = true;
	}
	if (any)
		fflush(t->out);
}

static int term_flush(struct ws_sink *s, uint64_t deadline_mono_ns)
{
	struct term_sink *t = s->priv;

	while (t->oldest)
		print_and_free(t, t->oldest);
	if (fflush(t->out) == EOF || ferror(t->out))
		return -EIO;
	return t->write_errors ? -EIO : 0;
}

static void term_report(struct ws_sink *s, FILE *out)
{
	struct term_sink *t = s->priv;

	fprintf(out, "terminal_spans_received %llu\n", (unsigned long long)t->received);
	fprintf(out, "terminal_spans_printed %llu\n", (unsigned long long)t->printed);
	fprintf(out, "terminal_traces_printed %llu\n", (unsigned long long)t->traces_printed);
	fprintf(out, "terminal_spans_dropped %llu\n", (unsigned long long)t->dropped);
	fprintf(out, "terminal_traces_open %u\n", t->n_traces);
	fprintf(out, "terminal_write_errors %llu\n", (unsigned long long)t->write_errors);
}

static void term_destroy(struct ws_sink *s)
{
	struct term_sink *t;

	if (!s)
		return;
	t = s->priv;
	while (t->oldest)
		trace_free(t, t->oldest);
	free(t);
}

static const struct ws_sink_ops term_ops = {
	.name = "terminal",
	.emit = term_emit,
	.tick = term_tick,
	.flush = term_flush,
	.report = term_report,
	.destroy = term_destroy,
};

struct ws_sink *ws_sink_terminal_new(FILE *out)
{
	struct term_sink *t;
	const char *no_color = getenv("NO_COLOR");
	int fd;

	if (!out) {
		fprintf(stderr, "wirespan: terminal sink: no output stream\n");
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		fprintf(stderr, "wirespan: terminal sink: out of memory\n");
		return NULL;
	}
	t->out = out;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t ^ (uint64_t)getpid() << 32;
	fd = fileno(out);
	/* no-color.org: a NO_COLOR that is present and non-empty turns colour off */
	t->color = fd >= 0 && isatty(fd) && !(no_color && *no_color);
	t->sink.ops = &term_ops;
	t->sink.priv = t;
	return &t->sink;
}

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * otlp_sink: a cheap OTLP/HTTP trace receiver for benchmarks. It accepts
 * POST /v1/traces (protobuf or JSON, identity or gzip, Content-Length or chunked),
 * counts requests, bytes and spans, discards the data and answers 200 with an empty
 * ExportTraceServiceResponse. GET /stats returns the counters as JSON.
 *
 * On a 2-core machine a real collector would compete with the service and the agent
 * for CPU and blur what the exporter itself costs; this one does the minimum a receiver
 * must (read every byte, decompress, walk the message to count spans). The same
 * receiver serves wirespan and the OpenTelemetry SDK, so both exporters pay the same.
 *
 * Usage: otlp_sink [-p PORT] [-a ADDR]; prints "listening PORT" when ready.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_CONNS 256
#define HEAD_MAX 16384
#define BODY_MAX (64u << 20) /* one export request at most; larger is refused (413) */

struct conn {
	int fd;
	char *buf;      /* request bytes received and not yet consumed */
	size_t len, cap;
};

static struct {
	uint64_t requests, bytes_wire, bytes_raw, spans, bad_requests, undecodable, conns;
} st;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

/* ---- protobuf walk: ExportTraceServiceRequest.resource_spans(1).scope_spans(2).spans(2) */

static int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return -1;
		uint8_t b = *(*p)++;

		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* Count occurrences of LEN field `want` at this level; recurse into `child` with depth. */
static int64_t pb_count(const uint8_t *p, const uint8_t *end, int depth)
{
	int64_t n = 0;

	while (p < end) {
		uint64_t key, len;
		unsigned field, wt;

		if (pb_varint(&p, end, &key))
			return -1;
		field = (unsigned)(key >> 3);
		wt = key & 7;
		switch (wt) {
		case 0:
			if (pb_varint(&p, end, &len))
				return -1;
			break;
		case 1:
			if (end - p < 8)
				return -1;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return -1;
			p += 4;
			break;
		case 2:
			if (pb_varint(&p, end, &len) || len > (uint64_t)(end - p))
				return -1;
			/* depth 0: field 1 = ResourceSpans; 1: field 2 = ScopeSpans; 2: field 2 = Span */
			if (depth == 0 && field == 1) {
				int64_t k = pb_count(p, p + len, 1);

				if (k < 0)
					return -1;
				n += k;
			} else if (depth == 1 && field == 2) {
				int64_t k = pb_count(p, p + len, 2);

				if (k < 0)
					return -1;
				n += k;
			} else if (depth == 2 && field == 2) {
				n++;
			}
			p += len;
			break;
		default:
			return -1;
		}
	}
	return n;
}

/* OTLP/JSON: every span has exactly one "spanId" key ("parentSpanId" differs in case). */
static int64_t json_count(const char *p, size_t len)
{
	static const char key[] = "\"spanId\"";
	int64_t n = 0;
	const char *end = p + len;

	while (p < end) {
		const char *hit = memmem(p, (size_t)(end - p), key, sizeof(key) - 1);

		if (!hit)
			break;
		n++;
		p = hit + sizeof(key) - 1;
	}
	return n;
}

static int gunzip(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	z_stream z;
	size_t cap = in_len * 4 + 4096;
	uint8_t *b;
	int rc;

	if (cap > BODY_MAX)
		cap = BODY_MAX;
	b = malloc(cap);
	if (!b)
		return -ENOMEM;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		free(b);
		return -EINVAL;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)in_len;
	for (;;) {
		z.next_out = b + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			inflateEnd(&z);
			free(b);
			return -EINVAL;
		}
		if (z.avail_out == 0) {
			uint8_t *nb;

			if (cap >= BODY_MAX) {
				inflateEnd(&z);
				free(b);
				return -E2BIG;
			}
			cap = cap * 2 > BODY_MAX ? BODY_MAX : cap * 2;
			nb = realloc(b, cap);
			if (!nb) {
				inflateEnd(&z);
				free(b);
				return -ENOMEM;
			}
			b = nb;
		} else if (rc == Z_BUF_ERROR) {
			inflateEnd(&z); /* truncated input */
			free(b);
			return -EINVAL;
		}
	}
	*out_len = z.total_out;
	inflateEnd(&z);
	*out = b;
	return 0;
}

static void account(const uint8_t *body, size_t len, bool gzip, bool json)
{
	uint8_t *raw = NULL;
	size_t raw_len = len;
	int64_t n;

	st.bytes_wire += len;
	if (gzip) {
		if (gunzip(body, len, &raw, &raw_len)) {
			st.undecodable++;
			return;
		}
		body = raw;
	}
	st.bytes_raw += raw_len;
	n = json ? json_count((const char *)body, raw_len) : pb_count(body, body + raw_len, 0);
	if (n < 0)
		st.undecodable++;
	else
		st.spans += (uint64_t)n;
	free(raw);
}

/* ---- HTTP ---------------------------------------------------------------------- */

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) { /* tiny replies: wait for room */
				usleep(100);
				continue;
			}
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int reply(int fd, int code, const char *ctype, const char *body)
{
	char head[256];
	const char *reason = code == 200 ? "OK" : code == 404 ? "Not Found" : code == 413 ? "Payload Too Large" : "Bad Request";
	size_t bl = strlen(body);
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			 code, reason, ctype, bl);

	if (send_all(fd, head, (size_t)n))
		return -1;
	return bl ? send_all(fd, body, bl) : 0;
}

static const char *header(const char *head, size_t head_len, const char *name)
{
	size_t nl = strlen(name);

	for (const char *l = memchr(head, '\n', head_len); l && l < head + head_len; l = memchr(l + 1, '\n', (size_t)(head + head_len - l - 1))) {
		if ((size_t)(head + head_len - (l + 1)) > nl && strncasecmp(l + 1, name, nl) == 0 && l[1 + nl] == ':') {
			const char *v = l + 2 + nl;

			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
	}
	return NULL;
}

/* Decode a chunked body in place. Returns bytes of chunked encoding consumed (>0), 0 when
 * incomplete, -1 when malformed; *out_len gets the decoded length. */
static ssize_t dechunk(char *p, size_t len, size_t *out_len)
{
	size_t r = 0, w = 0;

	for (;;) {
		char *eol = memmem(p + r, len - r, "\r\n", 2);
		unsigned long sz;
		char *end;

		if (!eol)
			return 0;
		sz = strtoul(p + r, &end, 16);
		if (end == p + r || sz > BODY_MAX)
			return -1;
		r = (size_t)(eol - p) + 2;
		if (sz == 0) {
			/* no trailers expected; the final CRLF */
			if (len - r < 2)
				return 0;
			if (p[r] != '\r' || p[r + 1] != '\n')
				return -1;
			*out_len = w;
			return (ssize_t)(r + 2);
		}
		if (len - r < sz + 2)
			return 0;
		memmove(p + w, p + r, sz); /* callers check completeness first */
		w += sz;
		r += sz;
		if (p[r] != '\r' || p[r + 1] != '\n')
			return -1;
		r += 2;
	}
}

/* Is the chunked body starting at p complete? (Walk without modifying.) */
static int chunked_complete(const char *p, size_t len)
{
	size_t r = 0;

	for (;;) {
		const char *eol = memmem(p + r, len - r, "\r\n", 2);
		unsigned long sz;
		char *end;

		if (!eol)
			return 0;
		sz = strtoul(p + r, &end, 16);
		if (end == p + r || sz > BODY_MAX)
			return -1;
		r = (size_t)(eol - p) + 2;
		if (sz == 0)
			return len - r >= 2 ? 1 : 0;
		if (len - r < sz + 2)
			return 0;
		r += sz + 2;
	}
}

/* Handle every complete request in c->buf. Returns -1 to close the connection. */
static int process(struct conn *c)
{
	for (;;) {
		char *eoh = memmem(c->buf, c->len, "\r\n\r\n", 4);
		size_t head_len, body_len = 0, consumed;
		const char *v;
		bool chunked = false, gzip = false, json = false, post;
		char *body;

		if (!eoh)
			return c->len > HEAD_MAX ? -1 : 0;
		head_len = (size_t)(eoh - c->buf) + 4;
		post = strncmp(c->buf, "POST ", 5) == 0;
		v = header(c->buf, head_len, "Transfer-Encoding");
		if (v && strncasecmp(v, "chunked", 7) == 0)
			chunked = true;
		v = header(c->buf, head_len, "Content-Encoding");
		if (v && strncasecmp(v, "gzip", 4) == 0)
			gzip = true;
		v = header(c->buf, head_len, "Content-Type");
		if (v && strncasecmp(v, "application/json", 16) == 0)
			json = true;
		body = c->buf + head_len;
		if (chunked) {
			int done = chunked_complete(body, c->len - head_len);
			ssize_t used;

			if (done < 0) {
				st.bad_requests++;
				reply(c->fd, 400, "text/plain", "bad chunked body\n");
				return -1;
			}
			if (!done)
				return c->len - head_len > BODY_MAX ? -1 : 0;
			used = dechunk(body, c->len - head_len, &body_len);
			if (used <= 0)
				return -1;
			consumed = head_len + (size_t)used;
		} else {
			v = header(c->buf, head_len, "Content-Length");
			if (v) {
				unsigned long long cl = strtoull(v, NULL, 10);

				if (cl > BODY_MAX) {
					st.bad_requests++;
					reply(c->fd, 413, "text/plain", "too large\n");
					return -1;
				}
				body_len = (size_t)cl;
			}
			if (c->len - head_len < body_len)
				return 0;
			consumed = head_len + body_len;
		}
		if (post && strncmp(c->buf + 5, "/v1/traces ", 11) == 0) {
			st.requests++;
			account((const uint8_t *)body, body_len, gzip, json);
			if (reply(c->fd, 200, json ? "application/json" : "application/x-protobuf", json ? "{}" : ""))
				return -1;
		} else if (strncmp(c->buf, "GET /stats ", 11) == 0) {
			char js[512];

			snprintf(js, sizeof(js),
				 "{\"requests\": %" PRIu64 ", \"spans\": %" PRIu64 ", \"bytes_wire\": %" PRIu64
				 ", \"bytes_raw\": %" PRIu64 ", \"bad_requests\": %" PRIu64
				 ", \"undecodable\": %" PRIu64 ", \"conns\": %" PRIu64 "}\n",
				 st.requests, st.spans, st.bytes_wire, st.bytes_raw, st.bad_requests,
				 st.undecodable, st.conns);
			if (reply(c->fd, 200, "application/json", js))
				return -1;
		} else {
			st.bad_requests++;
			if (reply(c->fd, 404, "text/plain", "not found\n"))
				return -1;
		}
		memmove(c->buf, c->buf + consumed, c->len - consumed);
		c->len -= consumed;
	}
}

static void conn_free(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	free(c);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct epoll_event ev, evs[64];
	socklen_t alen = sizeof(a);
	const char *addr = "127.0.0.1";
	int port = 0, lfd, ep, one = 1, opt, n_conns = 0;
	struct sigaction sa;

	while ((opt = getopt(argc, argv, "p:a:h")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'a': addr = optarg; break;
		default:
			fprintf(stderr, "usage: otlp_sink [-p PORT] [-a ADDR]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (port < 0 || port > 65535 || inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
		fprintf(stderr, "otlp_sink: bad address %s:%d\n", addr, port);
		return 2;
	}
	a.sin_port = htons((uint16_t)port);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 128) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen)) {
		fprintf(stderr, "otlp_sink: cannot listen on %s:%d: %s\n", addr, port, strerror(errno));
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("listening %u\n", ntohs(a.sin_port));
	fflush(stdout);

	while (!stop) {
		int n = epoll_wait(ep, evs, 64, 200);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) {
				int fd;

				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					if (n_conns >= MAX_CONNS) {
						close(fd);
						continue;
					}
					c = calloc(1, sizeof(*c));
					if (!c) {
						close(fd);
						continue;
					}
					c->fd = fd;
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
					n_conns++;
					st.conns++;
				}
				continue;
			}
			for (;;) {
				ssize_t r;

				if (c->cap - c->len < 65536) {
					size_t ncap = c->cap ? c->cap * 2 : 131072;
					char *nb;

					if (ncap > BODY_MAX + HEAD_MAX + 65536 * 2) {
						conn_free(ep, c);
						n_conns--;
						c = NULL;
						break;
					}
					nb = realloc(c->buf, ncap);
					if (!nb) {
						conn_free(ep, c);
						n_conns--;
						c = NULL;
						break;
					}
					c->buf = nb;
					c->cap = ncap;
				}
				r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
				if (r > 0) {
					c->len += (size_t)r;
					continue;
				}
				if (r < 0 && errno == EAGAIN) {
					if (process(c) < 0) {
						conn_free(ep, c);
						n_conns--;
					}
					break;
				}
				conn_free(ep, c); /* EOF or error */
				n_conns--;
				break;
			}
		}
	}
	fprintf(stderr, "otlp_sink: requests %" PRIu64 " spans %" PRIu64 " bytes %" PRIu64
		" bad %" PRIu64 " undecodable %" PRIu64 "\n", st.requests, st.spans, st.bytes_wire,
		st.bad_requests, st.undecodable);
	close(lfd);
	close(ep);
	return 0;
}

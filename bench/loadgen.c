/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * loadgen: open-loop HTTP/1.1 load at a fixed rate, for latency under a known load.
 *
 * wrk measures how much a server can do; a tracing agent's added latency has to be
 * measured at a load the server can sustain, with the same request schedule for every
 * variant. Request i is due at start + i/rate whatever happened before it, and its
 * latency is counted from that due time, so a stall (in the server, the agent, or
 * here) shows up in the percentiles instead of silently thinning the load.
 *
 * One thread, epoll, non-blocking sockets. Keep-alive (a pool of connections, grown
 * on demand up to --max-conns) or --close (one connection per request, the server
 * closes). Responses must carry Content-Length, or end with the connection. Latencies
 * go into a log-linear histogram (about 1.6 % resolution), so memory is fixed.
 * Output: one JSON object on stdout.
 *
 * With a redis://ADDR:PORT/KEY URL it sends `GET KEY` (RESP) instead, one command at a
 * time per connection (no pipelining), and frames the reply by its first line: a bulk
 * string by its length, `+`/`:`/`$-1` at the line's end; an error reply (`-`) counts in
 * non2xx; aggregates are not expected from GET and count as errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HDR_MAX 16384          /* response header bytes kept per connection */
#define PENDING_CAP (1u << 16) /* requests due while every connection is busy */
#define SUB_BITS 6
#define SUB (1u << SUB_BITS)
#define HIST_BUCKETS ((64 - SUB_BITS) * SUB + SUB)

enum cstate { C_FREE, C_CONNECTING, C_SENDING, C_READING, C_IDLE };

struct conn {
	int fd;
	enum cstate st;
	uint64_t due_ns;     /* scheduled time of the request in flight */
	bool record;         /* inside the measured window */
	size_t sent;
	char hdr[HDR_MAX];
	size_t hdr_len;
	bool in_body;
	bool until_close;    /* no Content-Length: the body ends with the connection */
	bool server_closes;  /* the response said Connection: close */
	uint64_t body_left;
	int next_free;
};

struct opts {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char host[128];
	char path[1024];
	double rate;
	double duration;
	double warmup;
	int conns;
	int max_conns;
	bool close_mode;
	bool redis;
	double drain;
};

struct stats {
	uint64_t hist[HIST_BUCKETS];
	uint64_t scheduled, completed, errors, timeouts, dropped, non2xx;
	uint64_t conn_errors, opened, sum_ns, max_ns, bytes;
	uint64_t all_completed; /* warm-up included: what the server (and a tracer) saw */
};

static struct opts o;
static struct stats s;
static struct conn *conns;
static int free_head = -1;
static int n_open;
static int ep;
static char req[2048];
static size_t req_len;
static uint64_t pending[PENDING_CAP];
static bool pending_rec[PENDING_CAP];
static uint32_t pend_head, pend_tail;
static volatile sig_atomic_t interrupted;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static unsigned hist_index(uint64_t v)
{
	unsigned e;

	if (v < SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	return (e - SUB_BITS + 1) * SUB + (unsigned)((v >> (e - SUB_BITS)) & (SUB - 1));
}

/* Midpoint of a bucket: what a percentile landing in it reports. */
static double hist_value(unsigned idx)
{
	unsigned e, sub;
	double lo, width;

	if (idx < SUB)
		return idx;
	e = idx / SUB + SUB_BITS - 1;
	sub = idx % SUB;
	width = ldexp(1.0, (int)(e - SUB_BITS));
	lo = ldexp(1.0, (int)e) + sub * width;
	return lo + width / 2;
}

static double percentile(double q)
{
	uint64_t n = 0, want, acc = 0;

	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		n += s.hist[i];
	if (!n)
		return 0;
	want = (uint64_t)ceil(q * (double)n);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		acc += s.hist[i];
		if (acc >= want)
			return hist_value(i);
	}
	return (double)s.max_ns;
}

static void record_latency(uint64_t ns)
{
	unsigned i = hist_index(ns);

	if (i >= HIST_BUCKETS)
		i = HIST_BUCKETS - 1;
	s.hist[i]++;
	s.sum_ns += ns;
	if (ns > s.max_ns)
		s.max_ns = ns;
}

static int conn_index(struct conn *c)
{
	return (int)(c - conns);
}

static void conn_close(struct conn *c)
{
	if (c->st == C_FREE)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->st = C_FREE;
	c->next_free = free_head;
	free_head = conn_index(c);
	n_open--;
}

static int conn_arm(struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)conn_index(c) };

	return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static struct conn *conn_open(void)
{
	struct epoll_event ev;
	struct conn *c;
	int fd, one = 1;

	if (free_head < 0)
		return NULL;
	fd = socket(o.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		s.conn_errors++;
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&o.addr, o.addrlen) != 0 && errno != EINPROGRESS) {
		close(fd);
		s.conn_errors++;
		return NULL;
	}
	c = &conns[free_head];
	free_head = c->next_free;
	memset(c, 0, offsetof(struct conn, hdr));
	c->hdr_len = 0;
	c->in_body = false;
	c->fd = fd;
	c->st = C_CONNECTING;
	c->next_free = -1;
	ev.events = EPOLLOUT;
	ev.data.u32 = (uint32_t)conn_index(c);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		c->st = C_FREE;
		c->next_free = free_head;
		free_head = conn_index(c);
		s.conn_errors++;
		return NULL;
	}
	n_open++;
	s.opened++;
	return c;
}

static void request_failed(struct conn *c, uint64_t *counter)
{
	if (c->record)
		(*counter)++;
	conn_close(c);
}

static void try_send(struct conn *c)
{
	while (c->sent < req_len) {
		ssize_t n = send(c->fd, req + c->sent, req_len - c->sent, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN) {
				conn_arm(c, EPOLLOUT);
				return;
			}
			request_failed(c, &s.errors);
			return;
		}
		c->sent += (size_t)n;
	}
	c->st = C_READING;
	c->hdr_len = 0;
	c->in_body = false;
	conn_arm(c, EPOLLIN);
}

/* Start the request due at due_ns on connection c (connected or connecting). */
static void start_on(struct conn *c, uint64_t due_ns, bool record)
{
	c->due_ns = due_ns;
	c->record = record;
	c->sent = 0;
	c->server_closes = false;
	c->until_close = false;
	if (c->st == C_IDLE) {
		c->st = C_SENDING;
		try_send(c);
	}
	/* C_CONNECTING: sent once writable. */
}

static bool pending_push(uint64_t due, bool record)
{
	if (pend_tail - pend_head >= PENDING_CAP)
		return false;
	pending[pend_tail % PENDING_CAP] = due;
	pending_rec[pend_tail % PENDING_CAP] = record;
	pend_tail++;
	return true;
}

/* Idle connections are kept on a stack for O(1) reuse. A slot is on it at most once
 * (on_stack); entries whose connection closed meanwhile are skipped when popped. */
static int *idle_stack;
static bool *on_stack;
static int n_idle;

static void mark_idle(struct conn *c)
{
	int i = conn_index(c);

	c->st = C_IDLE;
	conn_arm(c, EPOLLIN); /* a server-side close while idle is noticed */
	if (!on_stack[i]) {
		on_stack[i] = true;
		idle_stack[n_idle++] = i;
	}
}

static struct conn *pop_idle(void)
{
	while (n_idle > 0) {
		int i = idle_stack[--n_idle];

		on_stack[i] = false;
		if (conns[i].st == C_IDLE)
			return &conns[i];
	}
	return NULL;
}

static void dispatch(uint64_t due, bool record)
{
	struct conn *c = o.close_mode ? NULL : pop_idle();

	if (record)
		s.scheduled++;
	if (!c)
		c = conn_open();
	if (!c) {
		if (!pending_push(due, record) && record)
			s.dropped++;
		return;
	}
	start_on(c, due, record);
}

static void complete(struct conn *c)
{
	uint64_t t = now_ns();

	s.all_completed++;
	if (c->record) {
		s.completed++;
		record_latency(t > c->due_ns ? t - c->due_ns : 0);
	}
	if (o.close_mode || c->server_closes || c->until_close) {
		conn_close(c);
		/* A queued request gets a fresh connection. */
		if (pend_head != pend_tail) {
			struct conn *n = conn_open();

			if (n) {
				start_on(n, pending[pend_head % PENDING_CAP], pending_rec[pend_head % PENDING_CAP]);
				pend_head++;
			}
		}
		return;
	}
	if (pend_head != pend_tail) {
		c->st = C_IDLE;
		start_on(c, pending[pend_head % PENDING_CAP], pending_rec[pend_head % PENDING_CAP]);
		pend_head++;
		return;
	}
	mark_idle(c);
}

/* RESP: the reply's first line frames it (GET answers a bulk string, nil, or an error). */
static int parse_head_redis(struct conn *c, size_t head_len)
{
	char *end;
	long long n;

	c->body_left = 0;
	switch (c->hdr[0]) {
	case '$':
		n = strtoll(c->hdr + 1, &end, 10);
		if (end == c->hdr + 1 || end != c->hdr + head_len - 2 || n < -1)
			return -EPROTO;
		if (n >= 0)
			c->body_left = (uint64_t)n + 2; /* the value and its CR LF */
		return 0;
	case '+':
	case ':':
		return 0;
	case '-':
		s.non2xx += c->record;
		return 0;
	default:
		return -EPROTO;
	}
}

/* Parse the status line and the two headers that frame the body. */
static int parse_head(struct conn *c, size_t head_len)
{
	char *p = c->hdr, *end = c->hdr + head_len, *line;
	int status;
	bool have_len = false;

	if (head_len < 12 || strncmp(p, "HTTP/1.", 7) != 0)
		return -EPROTO;
	status = atoi(p + 9);
	if (status < 200 || status > 299)
		s.non2xx += c->record;
	for (line = memchr(p, '\n', head_len); line && line + 1 < end; line = memchr(line + 1, '\n', (size_t)(end - line - 1))) {
		char *h = line + 1;

		if (strncasecmp(h, "Content-Length:", 15) == 0) {
			c->body_left = strtoull(h + 15, NULL, 10);
			have_len = true;
		} else if (strncasecmp(h, "Connection:", 11) == 0) {
			char *v = h + 11;

			while (*v == ' ')
				v++;
			if (strncasecmp(v, "close", 5) == 0)
				c->server_closes = true;
		} else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0) {
			return -EPROTONOSUPPORT; /* chunked: the services here send lengths */
		}
	}
	if (!have_len)
		c->until_close = true;
	return 0;
}

static void on_readable(struct conn *c)
{
	static char buf[1 << 16];

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		size_t off = 0;

		if (n < 0) {
			if (errno == EAGAIN)
				return;
			request_failed(c, &s.errors);
			return;
		}
		if (n == 0) {
			if (c->st == C_READING && c->in_body && c->until_close) {
				complete(c);
				return;
			}
			if (c->st == C_IDLE) { /* keep-alive closed by the server between requests */
				conn_close(c);
				return;
			}
			request_failed(c, &s.errors);
			return;
		}
		s.bytes += (uint64_t)n;
		if (c->st != C_READING) { /* bytes nobody asked for */
			request_failed(c, &s.errors);
			return;
		}
		while (off < (size_t)n) {
			if (!c->in_body) {
				size_t take = (size_t)n - off;
				char *eoh;

				if (take > HDR_MAX - 1 - c->hdr_len)
					take = HDR_MAX - 1 - c->hdr_len;
				memcpy(c->hdr + c->hdr_len, buf + off, take);
				c->hdr_len += take;
				c->hdr[c->hdr_len] = 0;
				eoh = strstr(c->hdr, o.redis ? "\r\n" : "\r\n\r\n");
				if (!eoh) {
					if (c->hdr_len >= HDR_MAX - 1) {
						request_failed(c, &s.errors);
						return;
					}
					off += take;
					continue;
				}
				{
					size_t head_len = (size_t)(eoh - c->hdr) + (o.redis ? 2 : 4);
					size_t used = head_len - (c->hdr_len - take);

					if ((o.redis ? parse_head_redis(c, head_len) : parse_head(c, head_len))) {
						request_failed(c, &s.errors);
						return;
					}
					off += used;
					c->in_body = true;
				}
			} else {
				size_t avail = (size_t)n - off;

				if (c->until_close) {
					off = (size_t)n;
					continue;
				}
				if (avail > c->body_left) { /* more than the response: not ours */
					request_failed(c, &s.errors);
					return;
				}
				c->body_left -= avail;
				off += avail;
			}
			if (c->in_body && !c->until_close && c->body_left == 0) {
				if (off != (size_t)n) {
					request_failed(c, &s.errors);
					return;
				}
				complete(c);
				return;
			}
		}
		if (c->in_body && !c->until_close && c->body_left == 0) {
			complete(c);
			return;
		}
	}
}

static void on_event(struct conn *c, uint32_t events)
{
	if (c->st == C_FREE)
		return;
	if (c->st == C_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
			s.conn_errors++;
			request_failed(c, &s.errors);
			return;
		}
		if (c->due_ns) {
			c->st = C_SENDING;
			try_send(c);
		} else {
			mark_idle(c);
		}
		return;
	}
	if (c->st == C_SENDING && (events & EPOLLOUT)) {
		try_send(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		on_readable(c);
}

static int parse_url(const char *url)
{
	const char *p = url, *slash, *colon;
	char host[128];
	long port = 80;
	size_t hl;

	if (strncmp(p, "redis://", 8) == 0) {
		o.redis = true;
		port = 6379;
		p += 8;
	} else if (strncmp(p, "http://", 7) == 0) {
		p += 7;
	} else {
		return -EINVAL;
	}
	slash = strchr(p, '/');
	if (!slash)
		slash = p + strlen(p);
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(slash - p));

		if (!rb)
			return -EINVAL;
		hl = (size_t)(rb - p - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, p + 1, hl);
		host[hl] = 0;
		colon = rb + 1 < slash && rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(slash - p));
		hl = (size_t)((colon ? colon : slash) - p);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, p, hl);
		host[hl] = 0;
	}
	if (colon) {
		port = strtol(colon + 1, NULL, 10);
		if (port <= 0 || port > 65535)
			return -EINVAL;
	}
	snprintf(o.path, sizeof(o.path), "%s", *slash ? slash : "/");
	snprintf(o.host, sizeof(o.host), "%s", host);
	memset(&o.addr, 0, sizeof(o.addr));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&o.addr;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return -EINVAL;
		o.addrlen = sizeof(*a);
		snprintf(o.host, sizeof(o.host), "[%s]:%ld", host, port);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&o.addr;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return -EINVAL;
		o.addrlen = sizeof(*a);
		snprintf(o.host, sizeof(o.host), "%s:%ld", host, port);
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: loadgen -u http://ADDR:PORT/PATH -r RATE -d SECONDS [options]\n"
		"       loadgen -u redis://ADDR:PORT/KEY -r RATE -d SECONDS [options]\n"
		"Open-loop HTTP/1.1 GETs (or Redis GET KEY) at a fixed rate; latency counted from\n"
		"each request's scheduled time. Literal IPv4/IPv6 addresses only. One JSON object\n"
		"on stdout.\n"
		"  -r, --rate N         requests per second\n"
		"  -d, --duration S     measured seconds (after the warm-up)\n"
		"  -w, --warmup S       seconds of load before measuring (default 1)\n"
		"  -c, --conns N        keep-alive connections opened up front (default 16)\n"
		"  -m, --max-conns N    connections at most (default 512)\n"
		"      --close          one connection per request (Connection: close)\n"
		"      --drain S        wait this long for late responses (default 2)\n");
}

static void on_sigint(int sig)
{
	interrupted = 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "url", required_argument, NULL, 'u' }, { "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' }, { "warmup", required_argument, NULL, 'w' },
		{ "conns", required_argument, NULL, 'c' }, { "max-conns", required_argument, NULL, 'm' },
		{ "close", no_argument, NULL, 'C' }, { "drain", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct epoll_event evs[256];
	const char *url = NULL;
	uint64_t start, t_measure, t_end, next, i = 0, interval_ns, total, warm_n;
	double elapsed;
	int c;

	o.warmup = 1;
	o.conns = 16;
	o.max_conns = 512;
	o.drain = 2;
	while ((c = getopt_long(argc, argv, "u:r:d:w:c:m:h", lo, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 'r': o.rate = atof(optarg); break;
		case 'd': o.duration = atof(optarg); break;
		case 'w': o.warmup = atof(optarg); break;
		case 'c': o.conns = atoi(optarg); break;
		case 'm': o.max_conns = atoi(optarg); break;
		case 'C': o.close_mode = true; break;
		case 'D': o.drain = atof(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!url || o.rate <= 0 || o.rate > 1e7 || o.duration <= 0 || o.warmup < 0 ||
	    o.max_conns < 1 || o.max_conns > (1 << 16) || o.conns < 0 || o.conns > o.max_conns ||
	    o.drain < 0) {
		usage(stderr);
		return 2;
	}
	if (parse_url(url)) {
		fprintf(stderr, "loadgen: bad URL '%s' (http://IP:PORT/PATH, literal address)\n", url);
		return 2;
	}
	if (o.redis) {
		const char *key = o.path[0] == '/' ? o.path + 1 : o.path;

		if (!*key || o.close_mode) {
			fprintf(stderr, "loadgen: redis:// needs a key and keep-alive\n");
			return 2;
		}
		req_len = (size_t)snprintf(req, sizeof(req), "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n",
					   strlen(key), key);
	} else {
		req_len = (size_t)snprintf(req, sizeof(req),
					   "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: wirespan-loadgen\r\n%s\r\n",
					   o.path, o.host, o.close_mode ? "Connection: close\r\n" : "");
	}
	if (req_len >= sizeof(req)) {
		fprintf(stderr, "loadgen: path too long\n");
		return 2;
	}
	conns = calloc((size_t)o.max_conns, sizeof(*conns));
	idle_stack = calloc((size_t)o.max_conns, sizeof(*idle_stack));
	on_stack = calloc((size_t)o.max_conns, sizeof(*on_stack));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || !idle_stack || !on_stack || ep < 0) {
		fprintf(stderr, "loadgen: setup failed: %s\n", strerror(errno));
		return 1;
	}
	for (int k = o.max_conns - 1; k >= 0; k--) {
		conns[k].fd = -1;
		conns[k].next_free = free_head;
		free_head = k;
	}
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	signal(SIGPIPE, SIG_IGN);
	/* Wake-ups within a microsecond of the schedule, not the default 50 us. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

	if (!o.close_mode)
		for (int k = 0; k < o.conns; k++)
			if (!conn_open())
				break;

	interval_ns = (uint64_t)(1e9 / o.rate);
	if (!interval_ns)
		interval_ns = 1;
	warm_n = (uint64_t)(o.warmup * o.rate);
	total = warm_n + (uint64_t)(o.duration * o.rate);
	start = now_ns() + 50 * 1000000ull; /* let the pool connect */
	t_measure = start + warm_n * interval_ns;
	t_end = start + total * interval_ns;
	next = start;

	for (;;) {
		uint64_t now = now_ns();
		struct timespec to;
		int n;

		if (interrupted)
			break;
		while (i < total && next <= now) {
			dispatch(next, i >= warm_n);
			i++;
			next = start + i * interval_ns;
		}
		if (i >= total) {
			bool busy = pend_head != pend_tail;

			for (int k = 0; k < o.max_conns && !busy; k++)
				busy = conns[k].st == C_CONNECTING || conns[k].st == C_SENDING ||
				       (conns[k].st == C_READING);
			if (!busy || now >= t_end + (uint64_t)(o.drain * 1e9))
				break;
			to.tv_sec = 0;
			to.tv_nsec = 10 * 1000000;
		} else {
			uint64_t wait = next > now ? next - now : 0;

			to.tv_sec = (time_t)(wait / 1000000000ull);
			to.tv_nsec = (long)(wait % 1000000000ull);
		}
		n = epoll_pwait2(ep, evs, 256, &to, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "loadgen: epoll_pwait2: %s\n", strerror(errno));
			return 1;
		}
		for (int k = 0; k < n; k++)
			on_event(&conns[evs[k].data.u32], evs[k].events);
	}
	/* What is still in flight or queued after the drain timed out. */
	for (int k = 0; k < o.max_conns; k++)
		if ((conns[k].st == C_CONNECTING || conns[k].st == C_SENDING || conns[k].st == C_READING) &&
		    conns[k].record)
			s.timeouts++;
	for (uint32_t k = pend_head; k != pend_tail; k++)
		if (pending_rec[k % PENDING_CAP])
			s.timeouts++;
	elapsed = (double)(t_end - t_measure) / 1e9;
	printf("{\"rate\": %.1f, \"duration_s\": %.3f, \"mode\": \"%s\", \"scheduled\": %" PRIu64
	       ", \"completed\": %" PRIu64 ", \"errors\": %" PRIu64 ", \"timeouts\": %" PRIu64
	       ", \"dropped\": %" PRIu64 ", \"non2xx\": %" PRIu64 ", \"conn_errors\": %" PRIu64
	       ", \"conns_opened\": %" PRIu64 ", \"all_completed\": %" PRIu64 ", \"achieved_rps\": %.1f, \"mean_us\": %.2f"
	       ", \"p50_us\": %.2f, \"p90_us\": %.2f, \"p99_us\": %.2f, \"p999_us\": %.2f"
	       ", \"max_us\": %.2f, \"interrupted\": %s}\n",
	       o.rate, elapsed, o.close_mode ? "close" : "keepalive", s.scheduled, s.completed,
	       s.errors, s.timeouts, s.dropped, s.non2xx, s.conn_errors, s.opened, s.all_completed,
	       elapsed > 0 ? (double)s.completed / elapsed : 0.0,
	       s.completed ? (double)s.sum_ns / (double)s.completed / 1e3 : 0.0,
	       percentile(0.50) / 1e3, percentile(0.90) / 1e3, percentile(0.99) / 1e3,
	       percentile(0.999) / 1e3, (double)s.max_ns / 1e3, interrupted ? "true" : "false");
	for (int k = 0; k < o.max_conns; k++)
		if (conns[k].st != C_FREE)
			conn_close(&conns[k]);
	free(conns);
	free(idle_stack);
	free(on_stack);
	close(ep);
	return 0;
}

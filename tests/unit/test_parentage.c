/* Parentage inside a process (agent/parentage.c) on synthetic record sequences: event
 * loops, connect ownership, hand-offs, forks, goroutines, and the interleavings built
 * to trick a naive rule into a wrong parent. The hard line throughout: a root when the
 * evidence does not settle it, never a wrong parent. */
#include "asm_harness.h"

#include "agent/actors.h"

#define SVC 200           /* the service process */
#define CHILD 250         /* a process it forks */
#define GOSVC 300         /* a Go service */

/* One side of a connection with its own byte positions per direction. */
struct end {
	struct sock s;
	uint32_t seq[2];
};

static struct end server_end(uint64_t id, uint32_t pid, uint16_t rport)
{
	struct end e = { .s = mksock(id, pid, WS_ROLE_SERVER, 8080, rport, 1), .seq = { 1000, 5000 } };
	return e;
}

static struct end client_end(uint64_t id, uint32_t pid, uint16_t lport)
{
	struct end e = { .s = mksock(id, pid, WS_ROLE_CLIENT, lport, 9000, 1), .seq = { 1000, 5000 } };
	return e;
}

static void io(struct ws_asm *a, struct end *e, uint32_t tid, uint8_t dir, uint64_t t, const char *payload)
{
	feed_ctx(a, &e->s, tid, 0, dir, e->seq[dir], t, t + 1000, payload);
	e->seq[dir] += (uint32_t)strlen(payload);
}

static void io_go(struct ws_asm *a, struct end *e, uint32_t tid, uint64_t goid, uint8_t dir, uint64_t t,
		  const char *payload)
{
	feed_ctx(a, &e->s, tid, goid, dir, e->seq[dir], t, t + 1000, payload);
	e->seq[dir] += (uint32_t)strlen(payload);
}

static char req_buf[32][64];

static const char *req(const char *prefix, int id)
{
	char *b = req_buf[(id + (prefix[0] == 'b' ? 16 : 0)) & 31];

	snprintf(b, 64, "GET /%s/%d HTTP/1.1\r\nHost: h\r\n\r\n", prefix, id);
	return b;
}

static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* count readiness batches as the kernel reports them ahead of a record of another
 * kind: the latest one's timeout and, when one of them blocked, its wait. */
static void loop_batches(struct ws_asm *a, uint32_t pid, uint32_t tid, uint64_t t, uint16_t count, uint8_t flags,
			 uint64_t blk_anchor, int blk_timeout_ms)
{
	struct ws_loop_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.type = WS_EV_LOOP;
	e.hdr.size = sizeof(e);
	e.hdr.ts_ns = t;
	e.pid = pid;
	e.tid = tid;
	e.nready = WS_LOOP_BATCHES;
	e.batch.count = count;
	e.batch.flags = flags;
	e.batch.blk_anchor_ns = blk_anchor;
	e.batch.blk_timeout_ms = blk_timeout_ms;
	assert_int_equal(ws_asm_record(a, &e, sizeof(e)), 0);
}

/* One batch: a wait whose timeout counts from anchor (the loop's wait before returned
 * then), returned at t, with this timeout. */
static void loop_batch(struct ws_asm *a, uint32_t pid, uint32_t tid, uint64_t anchor, uint64_t t, int nready,
		       int timeout_ms)
{
	(void)nready;
	if (timeout_ms == 0)
		loop_batches(a, pid, tid, t, 1, WS_BATCH_LAST_NONBLOCKING, 0, 0);
	else
		loop_batches(a, pid, tid, t, 1, WS_BATCH_BLOCKING, anchor, timeout_ms);
}

/* io() whose record carries the thread's batches since its previous record. */
static void io_after(struct ws_asm *a, struct end *e, uint32_t tid, uint8_t dir, uint64_t t, const char *payload,
		     uint16_t count, uint8_t flags)
{
	struct ws_loop_batch b = { .count = count, .flags = flags, .blk_anchor_ns = t - 500,
				   .blk_timeout_ms = flags & WS_BATCH_BLOCKING ? -1 : 0 };

	feed_batch(a, &e->s, tid, dir, e->seq[dir], t, t + 1000, payload, &b);
	e->seq[dir] += (uint32_t)strlen(payload);
}

static void task(struct ws_asm *a, uint8_t kind, uint32_t pid, uint32_t tid, uint32_t opid, uint32_t otid, uint64_t t)
{
	struct ws_task_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.type = WS_EV_TASK;
	e.hdr.size = sizeof(e);
	e.hdr.ts_ns = t;
	e.pid = pid;
	e.tid = tid;
	e.other_pid = opid;
	e.other_tid = otid;
	e.kind = kind;
	assert_int_equal(ws_asm_record(a, &e, sizeof(e)), 0);
}

/* connect() by thread tid (the harness's sock_event names the pid's first thread). */
static void connect_open(struct ws_asm *a, struct end *e, uint32_t tid, uint64_t t)
{
	struct ws_sock_event s;

	memset(&s, 0, sizeof(s));
	s.hdr.type = WS_EV_SOCK;
	s.hdr.size = sizeof(s);
	s.hdr.ts_ns = t;
	s.sock_id = e->s.id;
	s.pid = e->s.pid;
	s.tid = tid;
	s.fd = 7;
	s.kind = WS_SOCK_OPEN;
	s.role = WS_ROLE_CLIENT;
	s.syscall = WS_SYS_CONNECT;
	s.tuple = e->s.t;
	assert_int_equal(ws_asm_record(a, &s, sizeof(s)), 0);
}

/* A connect whose entry the kernel reported (the CLIENT span of the connection's first
 * request may start there, docs/waits.md). */
static void connect_open_at(struct ws_asm *a, struct end *e, uint32_t tid, uint64_t enter, uint64_t t)
{
	struct ws_sock_event s;

	memset(&s, 0, sizeof(s));
	s.hdr.type = WS_EV_SOCK;
	s.hdr.size = sizeof(s);
	s.hdr.ts_ns = t;
	s.sock_id = e->s.id;
	s.pid = e->s.pid;
	s.tid = tid;
	s.fd = 7;
	s.kind = WS_SOCK_OPEN;
	s.role = WS_ROLE_CLIENT;
	s.syscall = WS_SYS_CONNECT;
	s.tuple = e->s.t;
	s.estab_ns = enter;
	assert_int_equal(ws_asm_record(a, &s, sizeof(s)), 0);
}

static uint8_t go_runtime(void *ctx, uint32_t pid)
{
	(void)ctx;
	return pid == GOSVC ? WS_RUNTIME_GO : WS_RUNTIME_NATIVE;
}

/* Goroutine ancestry for the Go tests: goid 20..29 were spawned by goid 10. */
static size_t lineage(void *ctx, uint32_t pid, uint64_t goid, uint64_t *out, size_t max)
{
	size_t n = 0;

	(void)ctx;
	(void)pid;
	if (n < max)
		out[n++] = goid;
	if (goid >= 20 && goid < 30 && n < max)
		out[n++] = 10;
	return n;
}

static struct ws_asm *new_asm(struct captured *out)
{
	struct ws_asm_config cfg;

	harness_config(&cfg);
	cfg.runtime_fn = go_runtime;
	return ws_asm_new(&cfg, res_for, NULL, capture, out);
}

static const struct ws_span *span(const struct captured *c, int kind, const char *path)
{
	for (int i = 0; i < c->n; i++) {
		const char *p = attr_str(&c->spans[i], "url.path");

		if (c->spans[i].kind == kind && p && strcmp(p, path) == 0)
			return &c->spans[i];
	}
	fail_msg("no %s span for %s", kind == WS_KIND_SERVER ? "SERVER" : "CLIENT", path);
	return NULL;
}

/* Assert: the CLIENT span for cpath is the child of the SERVER span for spath. */
static void assert_child(const struct captured *c, const char *cpath, const char *spath)
{
	const struct ws_span *cl = span(c, WS_KIND_CLIENT, cpath);
	const struct ws_span *sv = span(c, WS_KIND_SERVER, spath);

	assert_memory_equal(cl->parent_span_id, sv->span_id, 8);
	assert_memory_equal(cl->trace_id, sv->trace_id, 16);
}

static void assert_root(const struct captured *c, const char *cpath)
{
	assert_true(ws_id_is_zero(span(c, WS_KIND_CLIENT, cpath)->parent_span_id, 8));
}

/* Assert: the CLIENT span for cpath says how its parent was found (wirespan.parent.rule)
 * and, for a root, why (wirespan.parent.root_reason; NULL: none given). */
static void assert_rule(const struct captured *c, const char *cpath, const char *rule, const char *reason)
{
	const struct ws_span *cl = span(c, WS_KIND_CLIENT, cpath);
	const char *got = attr_str(cl, "wirespan.parent.rule");
	const char *why = attr_str(cl, "wirespan.parent.root_reason");

	assert_non_null(got);
	assert_string_equal(got, rule);
	if (reason) {
		assert_non_null(why);
		assert_string_equal(why, reason);
	} else {
		assert_null(why);
	}
}

/* End every exchange still open on these ends (NULL-terminated), from an unrelated
 * thread, so that their spans are emitted: responses read on client ends, written
 * on server ends. */
static void complete(struct ws_asm *a, uint64_t t, ...)
{
	va_list ap;
	struct end *e;

	va_start(ap, t);
	while ((e = va_arg(ap, struct end *)) != NULL) {
		io(a, e, 99, e->s.role == WS_ROLE_CLIENT ? WS_DIR_INGRESS : WS_DIR_EGRESS, t, RESP);
		t += MS;
	}
	va_end(ap);
}

static void finish(struct ws_asm *a, uint64_t t)
{
	ws_asm_flush(a, t);
	ws_asm_free(a, t);
}

static uint64_t why(struct ws_asm *a, enum ws_why w)
{
	return ws_asm_parentage(a)->st.why[w];
}

/* What the ordered providers said, whether the call became a root then or was left to
 * the answer rule. */
static uint64_t said(struct ws_asm *a, enum ws_why w)
{
	return ws_asm_parentage(a)->st.why[w] + ws_asm_parentage(a)->st.deferred_why[w];
}

static uint64_t deferred(struct ws_asm *a)
{
	return ws_asm_parentage(a)->st.deferred;
}

static uint64_t won(struct ws_asm *a, enum ws_provider v)
{
	return ws_asm_parentage(a)->st.won[v];
}

/* ---- event loops ------------------------------------------------------------------- */

/* Node style: each read callback runs its handler (and the writes it queues) before
 * the next ready descriptor is read. The third read shows the second write was /r/2's
 * handler's, not after-poll work the batch's first read queued. */
static void test_loop_read_then_write(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end s3 = server_end(3, SVC, 40003);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);

	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 3, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &u1, 7, WS_DIR_EGRESS, 4 * MS, req("b", 1));
	io(a, &s2, 7, WS_DIR_INGRESS, 5 * MS, req("r", 2));
	io(a, &u2, 7, WS_DIR_EGRESS, 6 * MS, req("b", 2));
	io(a, &s3, 7, WS_DIR_INGRESS, 6 * MS + 500, req("r", 3));
	loop_batch(a, SVC, 7, 7 * MS, 8 * MS, 2, -1);
	io(a, &u1, 7, WS_DIR_INGRESS, 9 * MS, RESP);
	io(a, &s1, 7, WS_DIR_EGRESS, 10 * MS, RESP);
	io(a, &u2, 7, WS_DIR_INGRESS, 11 * MS, RESP);
	io(a, &s2, 7, WS_DIR_EGRESS, 12 * MS, RESP);
	assert_int_equal(ws_asm_parentage(a)->st.tentative, 1);
	assert_int_equal(ws_asm_parentage(a)->st.tentative_confirmed, 1);
	complete(a, 30 * MS, &s3, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_child(&out, "/b/2", "/r/2");
	assert_rule(&out, "/b/1", "loop", NULL);
	assert_rule(&out, "/b/2", "loop", NULL);
}

/* libuv, asyncio and nginx run a batch's I/O handlers first, then what was queued to
 * run after them (timers, setImmediate, posted events): a call such a timer makes for
 * /r/1 comes right after the read of /r/2. A later read of the same batch shows an act
 * was the latest read's handler's; the next batch leaves it to the answer rule, which
 * places it by what the loop answers right after reading its response. */
static void test_loop_act_after_last_read(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end s3 = server_end(3, SVC, 40003), s4 = server_end(4, SVC, 40004);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);
	struct end u3 = client_end(13, SVC, 50003), u4 = client_end(14, SVC, 50004);
	struct end u5 = client_end(15, SVC, 50005);

	loop_batch(a, SVC, 7, 1 * MS, 1 * MS, 1, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 2 * MS, req("r", 1));       /* its handler sets a timer */
	loop_batch(a, SVC, 7, 3 * MS, 3 * MS, 1, 0);             /* immediates pending: timers unknown */
	io(a, &s2, 7, WS_DIR_INGRESS, 4 * MS, req("r", 2));
	io(a, &u2, 7, WS_DIR_EGRESS, 5 * MS, req("b", 2));
	io(a, &u1, 7, WS_DIR_EGRESS, 6 * MS, req("b", 1));       /* /r/1's timer */
	loop_batch(a, SVC, 7, 7 * MS, 8 * MS, 1, -1);
	assert_int_equal(said(a, WS_WHY_LOOP_AFTER_READS), 2);
	assert_int_equal(ws_asm_parentage(a)->st.tentative_confirmed, 0);
	io(a, &u2, 7, WS_DIR_INGRESS, 9 * MS, RESP);
	io(a, &s2, 7, WS_DIR_EGRESS, 10 * MS, RESP);
	loop_batch(a, SVC, 7, 11 * MS, 12 * MS, 1, -1);
	io(a, &u1, 7, WS_DIR_INGRESS, 13 * MS, RESP);
	io(a, &s1, 7, WS_DIR_EGRESS, 14 * MS, RESP);
	loop_batch(a, SVC, 7, 15 * MS, 16 * MS, 1, -1);
	/* the same after a blocking wait, once the batch read two causes: /r/3's handler
	 * calls (sure at once: the batch has read only /r/3) and queues a setImmediate;
	 * /r/4's handler calls; then the immediate's call for /r/3 */
	io(a, &s3, 7, WS_DIR_INGRESS, 17 * MS, req("r", 3));
	io(a, &u3, 7, WS_DIR_EGRESS, 18 * MS, req("b", 3));
	io(a, &s4, 7, WS_DIR_INGRESS, 19 * MS, req("r", 4));
	io(a, &u4, 7, WS_DIR_EGRESS, 20 * MS, req("b", 4));
	io(a, &u5, 7, WS_DIR_EGRESS, 21 * MS, req("c", 3));
	loop_batch(a, SVC, 7, 22 * MS, 23 * MS, 1, -1);
	assert_int_equal(ws_asm_parentage(a)->st.tentative, 4);
	assert_int_equal(ws_asm_parentage(a)->st.tentative_confirmed, 0);
	assert_int_equal(said(a, WS_WHY_LOOP_AFTER_READS), 4);
	io(a, &u3, 7, WS_DIR_INGRESS, 24 * MS, RESP);
	loop_batch(a, SVC, 7, 25 * MS, 26 * MS, 1, -1);
	io(a, &u4, 7, WS_DIR_INGRESS, 27 * MS, RESP);
	io(a, &s4, 7, WS_DIR_EGRESS, 28 * MS, RESP);
	loop_batch(a, SVC, 7, 29 * MS, 30 * MS, 1, -1);
	io(a, &u5, 7, WS_DIR_INGRESS, 31 * MS, RESP);
	io(a, &s3, 7, WS_DIR_EGRESS, 32 * MS, RESP);
	loop_batch(a, SVC, 7, 33 * MS, 34 * MS, 1, -1);
	finish(a, 60 * MS);
	assert_child(&out, "/b/2", "/r/2");
	assert_child(&out, "/b/1", "/r/1");
	assert_child(&out, "/b/3", "/r/3");
	assert_child(&out, "/b/4", "/r/4");
	assert_child(&out, "/c/3", "/r/3");
}

/* asyncio with a protocol that writes from its read callback: /r/2's handler writes
 * its call at once, /r/1's scheduled its call with call_soon, which runs in the next
 * round before that round reads anything. The round that read both carries nothing. */
static void test_loop_carried_after_mixed_round(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end s3 = server_end(3, SVC, 40003);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);
	struct end u3 = client_end(13, SVC, 50003);

	struct end u4 = client_end(14, SVC, 50004);

	loop_batch(a, SVC, 7, 1 * MS, 1 * MS, 2, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 2 * MS, req("r", 1));
	io(a, &u4, 7, WS_DIR_EGRESS, 2 * MS + 500, req("c", 1));   /* /r/1's first call, at once */
	io(a, &s2, 7, WS_DIR_INGRESS, 3 * MS, req("r", 2));
	io(a, &u2, 7, WS_DIR_EGRESS, 4 * MS, req("b", 2));
	loop_batch(a, SVC, 7, 5 * MS, 5 * MS, 0, 0);
	io(a, &u1, 7, WS_DIR_EGRESS, 6 * MS, req("b", 1));
	assert_int_equal(said(a, WS_WHY_LOOP_MANY), 1);
	assert_int_equal(said(a, WS_WHY_LOOP_AFTER_READS), 1);
	/* one cause read: carried (a blocking wait began the round it was read in) */
	loop_batch(a, SVC, 7, 7 * MS, 8 * MS, 1, -1);
	io(a, &s3, 7, WS_DIR_INGRESS, 9 * MS, req("r", 3));
	loop_batch(a, SVC, 7, 10 * MS, 10 * MS, 0, 0);
	io(a, &u3, 7, WS_DIR_EGRESS, 11 * MS, req("b", 3));
	complete(a, 30 * MS, &u1, &u2, &u3, &u4, &s1, &s2, &s3, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/c/1", "/r/1");
	assert_root(&out, "/b/1");
	assert_root(&out, "/b/2");
	assert_child(&out, "/b/3", "/r/3");
}

/* connect_open() carrying the thread's loop phase (hdr.flags, as the kernel sends it) */
static void connect_phase(struct ws_asm *a, struct end *e, uint32_t tid, uint64_t t, bool after_io)
{
	struct ws_sock_event s;

	memset(&s, 0, sizeof(s));
	s.hdr.type = WS_EV_SOCK;
	s.hdr.size = sizeof(s);
	s.hdr.ts_ns = t;
	s.hdr.flags = WS_BATCH_PHASES | (after_io ? WS_BATCH_AFTER_IO : 0);
	s.sock_id = e->s.id;
	s.pid = e->s.pid;
	s.tid = tid;
	s.fd = 7;
	s.kind = WS_SOCK_OPEN;
	s.role = WS_ROLE_CLIENT;
	s.syscall = WS_SYS_CONNECT;
	s.tuple = e->s.t;
	assert_int_equal(ws_asm_record(a, &s, sizeof(s)), 0);
}

/* io() from a thread whose runtime reports its loop phases: after_io when the batch's
 * I/O phase had ended before this syscall (Node's check callback had run). */
static void io_phase(struct ws_asm *a, struct end *e, uint32_t tid, uint8_t dir, uint64_t t, const char *payload,
		     bool after_io)
{
	io_after(a, e, tid, dir, t, payload, 0, WS_BATCH_PHASES | (after_io ? WS_BATCH_AFTER_IO : 0));
}

/* The loop read an eventfd, a pipe or a file (work another thread queued for it, or a
 * callback's own read); bflags: the loop phase bits its record carries. */
static void foreign_read_phase(struct ws_asm *a, uint32_t tid, uint64_t t, uint8_t bflags)
{
	struct ws_loop_event f;

	memset(&f, 0, sizeof(f));
	f.hdr.type = WS_EV_LOOP;
	f.hdr.size = sizeof(f);
	f.hdr.ts_ns = t;
	f.pid = SVC;
	f.tid = tid;
	f.nready = WS_LOOP_FOREIGN;
	f.timeout_ms = WS_TIMEOUT_UNKNOWN;
	f.syscall = WS_SYS_READ;
	f.batch.flags = bflags;
	assert_int_equal(ws_asm_record(a, &f, sizeof(f)), 0);
}

static void foreign_read(struct ws_asm *a, uint32_t tid, uint64_t t)
{
	foreign_read_phase(a, tid, t, 0);
}

/* Node reports where each batch's I/O phase ends (its check callback): an act before
 * that end, in a batch that read one cause, is that cause's handler's even after a wait
 * that did not block; one after it is after-poll work. A connect's record carries no
 * phase: it is judged without one (a timer connects after the phase ended, while the
 * thread's latest record still says it had not). Read backwards the same: an answer
 * made before the end is the handler's of the response read before it. */
static void test_loop_phases(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001);
	struct end s3 = server_end(3, SVC, 40003), s4 = server_end(4, SVC, 40004);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);
	struct end u3 = client_end(13, SVC, 50003), u4 = client_end(14, SVC, 50004);
	struct end u5 = client_end(15, SVC, 50005), u6 = client_end(16, SVC, 50006);
	struct end u7 = client_end(17, SVC, 50007);

	loop_batch(a, SVC, 7, 1 * MS, 1 * MS, 1, 0);
	io_phase(a, &s1, 7, WS_DIR_INGRESS, 2 * MS, req("r", 1), false);
	io_phase(a, &u1, 7, WS_DIR_EGRESS, 3 * MS, req("b", 1), false);   /* /r/1's handler */
	connect_phase(a, &u6, 7, 3 * MS + 200, false);                     /* /r/1's handler */
	connect_open(a, &u3, 7, 3 * MS + 500);                             /* no phase: a timer's? */
	io_phase(a, &u2, 7, WS_DIR_EGRESS, 4 * MS, req("b", 2), true);    /* a timer's */
	connect_phase(a, &u7, 7, 4 * MS + 500, true);                      /* a timer's */
	assert_int_equal(won(a, WS_PROV_LOOP), 1);
	assert_int_equal(ws_asm_parentage(a)->st.tentative, 1);
	loop_batch(a, SVC, 7, 6 * MS, 6 * MS, 1, -1);
	io_phase(a, &u3, 7, WS_DIR_EGRESS, 8 * MS, req("b", 3), false);   /* u3 connected */
	io_phase(a, &u6, 7, WS_DIR_EGRESS, 8 * MS + 200, req("b", 6), false);
	io_phase(a, &u7, 7, WS_DIR_EGRESS, 8 * MS + 400, req("b", 7), false);
	assert_int_equal(said(a, WS_WHY_CONNECT_MANY), 2);
	assert_int_equal(won(a, WS_PROV_CONNECT), 1);
	/* backwards: /b/4 (after the phase's end) is placed by the answer its response's
	 * handler makes before the next phase end; /b/5's answer comes after one */
	loop_batch(a, SVC, 7, 9 * MS, 9 * MS, 1, 0);
	io_phase(a, &s3, 7, WS_DIR_INGRESS, 10 * MS, req("r", 3), false);
	io_phase(a, &u4, 7, WS_DIR_EGRESS, 11 * MS, req("b", 4), true);
	loop_batch(a, SVC, 7, 12 * MS, 12 * MS, 1, 0);
	io_phase(a, &s4, 7, WS_DIR_INGRESS, 13 * MS, req("r", 4), false);
	io_phase(a, &u5, 7, WS_DIR_EGRESS, 14 * MS, req("b", 5), true);
	loop_batch(a, SVC, 7, 15 * MS, 15 * MS, 1, 0);
	io_phase(a, &u4, 7, WS_DIR_INGRESS, 16 * MS, RESP, false);
	io_phase(a, &s3, 7, WS_DIR_EGRESS, 17 * MS, RESP, false);
	loop_batch(a, SVC, 7, 18 * MS, 18 * MS, 1, 0);
	io_phase(a, &u5, 7, WS_DIR_INGRESS, 19 * MS, RESP, false);
	io_phase(a, &s4, 7, WS_DIR_EGRESS, 20 * MS, RESP, true);
	loop_batch(a, SVC, 7, 21 * MS, 21 * MS, 1, 0);
	assert_int_equal(ws_asm_parentage(a)->st.tentative_confirmed, 0);
	complete(a, 30 * MS, &u1, &u2, &u3, &u6, &u7, &s1, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_root(&out, "/b/2");
	assert_root(&out, "/b/3");
	assert_child(&out, "/b/6", "/r/1");
	assert_root(&out, "/b/7");
	assert_child(&out, "/b/4", "/r/3");
	assert_root(&out, "/b/5");
}

/* A read after the batch's I/O phase ended is no I/O handler's: it confirms no act of
 * that after-poll work (Node's timer that read a file right after making another
 * request's call). Nor does a foreign read, phases or not: a timer's callback may read
 * a file. The acts wait for the next batch, then for the answer rule. */
static void test_loop_late_reads_confirm_nothing(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end s3 = server_end(3, SVC, 40003);
	struct end u1 = client_end(11, SVC, 50001), u3 = client_end(13, SVC, 50003);

	(void)state;
	loop_batch(a, SVC, 7, 1 * MS, 1 * MS, 1, 0);
	io_phase(a, &s1, 7, WS_DIR_INGRESS, 2 * MS, req("r", 1), false);   /* sets a timer */
	io_phase(a, &s2, 7, WS_DIR_INGRESS, 3 * MS, req("r", 2), false);
	io_phase(a, &u1, 7, WS_DIR_EGRESS, 4 * MS, req("b", 1), true);     /* /r/1's timer */
	assert_int_equal(ws_asm_parentage(a)->st.tentative, 1);
	foreign_read_phase(a, 7, 4 * MS + 300, WS_BATCH_PHASES | WS_BATCH_AFTER_IO);
	io_phase(a, &s2, 7, WS_DIR_INGRESS, 4 * MS + 600, "x", true);      /* a read in a timer */
	assert_int_equal(ws_asm_parentage(a)->st.tentative_confirmed, 0);
	loop_batch(a, SVC, 7, 5 * MS, 5 * MS, 1, 0);
	assert_int_equal(said(a, WS_WHY_LOOP_AFTER_READS), 1);
	/* no phases: a wait that did not block (immediates pending), a request read, a call
	 * after it (/r/4's immediate's?), a foreign read */
	loop_batch(a, SVC, 8, 1 * MS, 2 * MS, 1, 0);
	io(a, &s3, 8, WS_DIR_INGRESS, 3 * MS, req("r", 3));
	io(a, &u3, 8, WS_DIR_EGRESS, 4 * MS, req("b", 3));
	assert_int_equal(ws_asm_parentage(a)->st.tentative, 2);
	foreign_read(a, 8, 5 * MS);
	assert_int_equal(ws_asm_parentage(a)->st.tentative_confirmed, 0);
	loop_batch(a, SVC, 8, 6 * MS, 6 * MS, 1, -1);
	assert_int_equal(said(a, WS_WHY_LOOP_AFTER_READS), 2);
	complete(a, 30 * MS, &u1, &u3, &s1, &s2, &s3, NULL);
	finish(a, 60 * MS);
	assert_root(&out, "/b/1");
	assert_root(&out, "/b/3");
}

/* Where the runtime says a read is an I/O handler's (Node before its I/O phase ended),
 * each handler's own work ends before the next read: two requests read before a write
 * leave the latest one as the cause (not loop_read_many), a write before the phase's end
 * is settled in a batch that read several causes, and a read that names no cause (bytes
 * on a client connection with no request out) leaves the next write to nobody. */
static void test_loop_phases_latest_read(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end s3 = server_end(3, SVC, 40003), s4 = server_end(4, SVC, 40004);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);
	struct end u3 = client_end(13, SVC, 50003), u9 = client_end(19, SVC, 50009);

	loop_batch(a, SVC, 7, 1 * MS, 1 * MS, 3, 0);                        /* did not block */
	io_phase(a, &s1, 7, WS_DIR_INGRESS, 2 * MS, req("r", 1), false);
	io_phase(a, &s2, 7, WS_DIR_INGRESS, 3 * MS, req("r", 2), false);
	io_phase(a, &u2, 7, WS_DIR_EGRESS, 4 * MS, req("b", 2), false);    /* /r/2's handler */
	io_phase(a, &s3, 7, WS_DIR_INGRESS, 5 * MS, req("r", 3), false);
	io_phase(a, &u1, 7, WS_DIR_EGRESS, 6 * MS, req("b", 1), true);     /* after the phase */
	assert_int_equal(won(a, WS_PROV_LOOP), 1);
	assert_int_equal(ws_asm_parentage(a)->st.tentative, 1);
	loop_batch(a, SVC, 7, 7 * MS, 7 * MS, 1, 0);
	io_phase(a, &s4, 7, WS_DIR_INGRESS, 8 * MS, req("r", 4), false);
	io_phase(a, &u9, 7, WS_DIR_INGRESS, 8 * MS + 500, RESP, false);    /* names nothing */
	io_phase(a, &u3, 7, WS_DIR_EGRESS, 9 * MS, req("b", 3), false);    /* u9's handler? */
	assert_int_equal(said(a, WS_WHY_LOOP_MANY), 1);
	assert_int_equal(said(a, WS_WHY_LOOP_AFTER_READS), 1);
	loop_batch(a, SVC, 7, 10 * MS, 10 * MS, 1, 0);
	complete(a, 30 * MS, &u1, &u2, &u3, &s1, &s2, &s3, &s4, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/2", "/r/2");
	assert_root(&out, "/b/3");
	assert_root(&out, "/b/1");
}

/* A connection a loop opened with nothing read (a retry timer's, in a batch whose wait
 * timed out) gets its first request written when the connect completes: in a later
 * batch's I/O phase, maybe right after another request's read. Its connect says "no
 * cause", which must stop the loop rule for that write. */
static void test_loop_connect_without_cause(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001);

	loop_batch(a, SVC, 7, 1 * MS, 1 * MS, 1, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 2 * MS, req("r", 1));               /* /r/1 arms a retry timer */
	loop_batch(a, SVC, 7, 3 * MS, 8 * MS, 0, 5);                       /* the timer's batch */
	connect_phase(a, &u1, 7, 9 * MS, true);                            /* the retry connects */
	loop_batch(a, SVC, 7, 10 * MS, 11 * MS, 2, -1);
	io_phase(a, &s2, 7, WS_DIR_INGRESS, 12 * MS, req("r", 2), false);
	io_phase(a, &u1, 7, WS_DIR_EGRESS, 13 * MS, req("b", 1), false);  /* u1 writable */
	assert_int_equal(said(a, WS_WHY_CONNECT_NO_CAUSE), 1);
	complete(a, 30 * MS, &u1, &s1, &s2, NULL);
	finish(a, 60 * MS);
	assert_root(&out, "/b/1");
}

/* A connect after the batch's last read is settled the same way: a later read confirms
 * its cause, the next batch makes it ambiguous (the connection's first request is then
 * left to the answer rule). */
static void test_loop_connect_after_last_read(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end s3 = server_end(3, SVC, 40003), s4 = server_end(4, SVC, 40004);
	struct end s5 = server_end(5, SVC, 40005);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);
	struct end u3 = client_end(13, SVC, 50003), u4 = client_end(14, SVC, 50004);

	loop_batch(a, SVC, 7, 1 * MS, 1 * MS, 1, 0);
	io(a, &s1, 7, WS_DIR_INGRESS, 2 * MS, req("r", 1));
	connect_open(a, &u1, 7, 3 * MS);                          /* /r/1's: a read follows */
	io(a, &s2, 7, WS_DIR_INGRESS, 4 * MS, req("r", 2));
	connect_open(a, &u2, 7, 5 * MS);                          /* /r/2's, or a timer's */
	loop_batch(a, SVC, 7, 6 * MS, 7 * MS, 1, -1);             /* both writable */
	io(a, &u1, 7, WS_DIR_EGRESS, 8 * MS, req("b", 1));
	io(a, &u2, 7, WS_DIR_EGRESS, 9 * MS, req("b", 2));
	assert_int_equal(won(a, WS_PROV_CONNECT), 1);
	assert_int_equal(said(a, WS_WHY_CONNECT_MANY), 1);
	/* a connect and its first write in one batch, after its last read: the loop rule
	 * speaks for both; the next batch leaves them unsure, a later read confirms them */
	loop_batch(a, SVC, 7, 10 * MS, 11 * MS, 1, 0);
	io(a, &s3, 7, WS_DIR_INGRESS, 12 * MS, req("r", 3));
	connect_open(a, &u3, 7, 13 * MS);
	io(a, &u3, 7, WS_DIR_EGRESS, 14 * MS, req("b", 3));
	loop_batch(a, SVC, 7, 15 * MS, 15 * MS, 1, 0);
	io(a, &s4, 7, WS_DIR_INGRESS, 16 * MS, req("r", 4));
	connect_open(a, &u4, 7, 17 * MS);
	io(a, &u4, 7, WS_DIR_EGRESS, 18 * MS, req("b", 4));
	io(a, &s5, 7, WS_DIR_INGRESS, 19 * MS, req("r", 5));
	complete(a, 30 * MS, &u1, &u2, &u3, &u4, &s1, &s2, &s3, &s4, &s5, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_root(&out, "/b/2");
	assert_root(&out, "/b/3");
	assert_child(&out, "/b/4", "/r/4");
}

/* asyncio style: two requests read in one batch, their handlers run after a
 * non-blocking wait: which write belongs to which request is unknowable. */
static void test_loop_two_reads_one_batch_is_ambiguous(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);

	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 2, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &s2, 7, WS_DIR_INGRESS, 4 * MS, req("r", 2));
	loop_batch(a, SVC, 7, 5 * MS, 5 * MS, 0, 0);     /* the loop still has work: not a new batch */
	io(a, &u1, 7, WS_DIR_EGRESS, 6 * MS, req("b", 1));
	io(a, &u2, 7, WS_DIR_EGRESS, 7 * MS, req("b", 2));
	assert_int_equal(said(a, WS_WHY_LOOP_MANY), 2);
	complete(a, 30 * MS, &u1, &u2, &s1, &s2, NULL);
	finish(a, 60 * MS);
	assert_root(&out, "/b/1");
	assert_root(&out, "/b/2");
}

/* asyncio style, one request: the handler runs after the non-blocking wait and still
 * belongs to the batch that read its request. */
static void test_loop_continues_across_nonblocking_wait(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001);
	struct end u1 = client_end(11, SVC, 50001);

	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 1, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	loop_batch(a, SVC, 7, 4 * MS, 4 * MS, 0, 0);
	io(a, &u1, 7, WS_DIR_EGRESS, 5 * MS, req("b", 1));
	complete(a, 30 * MS, &u1, &s1, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
}

/* asyncio under load never blocks: every round waits with timeout 0, runs the handlers
 * the round before woke, then reads. Each round's writes are the round before's reads,
 * or the steps of tasks a timer woke (asyncio.sleep, call_later): after waits that did
 * not block, when timers were due is unknown, and none of it is evidence. A round begun
 * by a blocking wait (its timeout says when the next timer is due) is. */
static void test_loop_busy_rounds_timers_unknown(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end s3 = server_end(3, SVC, 40003), s4 = server_end(4, SVC, 40004);
	struct end s5 = server_end(5, SVC, 40005);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);
	struct end u3 = client_end(13, SVC, 50003), u4 = client_end(14, SVC, 50004);
	struct end u5 = client_end(15, SVC, 50005);

	loop_batch(a, SVC, 7, 1 * MS, 1 * MS, 1, 0);
	io(a, &s1, 7, WS_DIR_INGRESS, 2 * MS, req("r", 1));
	loop_batch(a, SVC, 7, 3 * MS, 3 * MS, 2, 0);
	io(a, &u1, 7, WS_DIR_EGRESS, 4 * MS, req("b", 1));     /* /r/1's handler, or a timer's */
	io(a, &s2, 7, WS_DIR_INGRESS, 5 * MS, req("r", 2));
	io(a, &s3, 7, WS_DIR_INGRESS, 6 * MS, req("r", 3));
	loop_batch(a, SVC, 7, 7 * MS, 7 * MS, 1, 0);
	io(a, &u2, 7, WS_DIR_EGRESS, 8 * MS, req("b", 2));     /* /r/2's or /r/3's? */
	io(a, &u3, 7, WS_DIR_EGRESS, 9 * MS, req("b", 3));
	io(a, &s4, 7, WS_DIR_INGRESS, 10 * MS, req("r", 4));
	loop_batch(a, SVC, 7, 11 * MS, 11 * MS, 0, 0);
	io(a, &u4, 7, WS_DIR_EGRESS, 12 * MS, req("b", 4));
	/* a blocking wait (the next timer 50 ms away), then the same pattern */
	loop_batch(a, SVC, 7, 13 * MS, 14 * MS, 1, 50);
	io(a, &s5, 7, WS_DIR_INGRESS, 15 * MS, req("r", 5));
	loop_batch(a, SVC, 7, 16 * MS, 16 * MS, 0, 0);
	io(a, &u5, 7, WS_DIR_EGRESS, 17 * MS, req("b", 5));
	assert_int_equal(said(a, WS_WHY_LOOP_MANY), 2);
	assert_int_equal(said(a, WS_WHY_LOOP_TIMER_UNKNOWN), 2);
	complete(a, 30 * MS, &u1, &u2, &u3, &u4, &u5, &s1, &s2, &s3, &s4, &s5, NULL);
	finish(a, 60 * MS);
	assert_root(&out, "/b/1");
	assert_root(&out, "/b/2");
	assert_root(&out, "/b/3");
	assert_root(&out, "/b/4");
	assert_child(&out, "/b/5", "/r/5");
}

/* The batches ride on the thread's next data record: one non-blocking wait there
 * carries the read before it, a blocking one carries nothing. */
static void test_loop_batches_on_data_records(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);

	io_after(a, &s1, 7, WS_DIR_INGRESS, 2 * MS, req("r", 1), 1, WS_BATCH_BLOCKING);
	io_after(a, &u1, 7, WS_DIR_EGRESS, 5 * MS, req("b", 1), 1, WS_BATCH_LAST_NONBLOCKING);
	io_after(a, &s2, 7, WS_DIR_INGRESS, 6 * MS, req("r", 2), 1, WS_BATCH_BLOCKING);
	io_after(a, &u2, 7, WS_DIR_EGRESS, 8 * MS, req("b", 2), 1, WS_BATCH_BLOCKING);
	assert_int_equal(ws_asm_stats(a)->loop_events, 4);
	assert_int_equal(ws_asm_stats(a)->loop_records, 0);
	complete(a, 30 * MS, &u1, &u2, &s1, &s2, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_root(&out, "/b/2");
}

/* A blocking wait that rode on the write: the loop had read nothing since, so the write
 * has no cause (the same-thread rule, which would name /r/1, does not apply to a loop). */
static void test_loop_blocking_batch_on_write(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001);
	struct end u1 = client_end(11, SVC, 50001);

	io_after(a, &s1, 7, WS_DIR_INGRESS, 2 * MS, req("r", 1), 1, WS_BATCH_BLOCKING);
	io_after(a, &u1, 7, WS_DIR_EGRESS, 5 * MS, req("b", 1), 1, WS_BATCH_BLOCKING);
	assert_int_equal(said(a, WS_WHY_LOOP_NO_CAUSE), 1);
	complete(a, 30 * MS, &u1, &s1, NULL);
	finish(a, 60 * MS);
	assert_root(&out, "/b/1");
}

/* Two non-blocking waits with nothing recorded between: the second found the first's
 * queued work done (it read nothing in between), so nothing is carried into the write
 * after them. The kernel reports them as one summary (count 2). */
static void test_loop_two_batches_carry_nothing(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001);
	struct end u1 = client_end(11, SVC, 50001);

	loop_batch(a, SVC, 7, 1 * MS, 1 * MS, 1, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 2 * MS, req("r", 1));
	loop_batches(a, SVC, 7, 4 * MS, 2, WS_BATCH_LAST_NONBLOCKING, 0, 0);
	io(a, &u1, 7, WS_DIR_EGRESS, 5 * MS, req("b", 1));
	assert_int_equal(said(a, WS_WHY_LOOP_NO_CAUSE), 1);
	complete(a, 30 * MS, &u1, &s1, NULL);
	finish(a, 60 * MS);
	assert_root(&out, "/b/1");
}

/* A CLIENT span starts at its connection's connect() when the connect came while its
 * cause was being served; a connection opened before the cause (a pool's, another
 * request's) leaves it at its first write, so it never starts before its parent. */
static void test_client_start_at_connect_within_cause(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);

	connect_open_at(a, &u2, 8, 1 * MS, 1 * MS + 100 * 1000);   /* opened ahead */
	io(a, &s1, 7, WS_DIR_INGRESS, 2 * MS, req("r", 1));
	connect_open_at(a, &u1, 7, 3 * MS, 3 * MS + 100 * 1000);   /* opened for /r/1 */
	io(a, &u1, 7, WS_DIR_EGRESS, 4 * MS, req("b", 1));
	io(a, &s2, 8, WS_DIR_INGRESS, 10 * MS, req("r", 2));
	io(a, &u2, 8, WS_DIR_EGRESS, 11 * MS, req("b", 2));
	complete(a, 30 * MS, &u1, &u2, &s1, &s2, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_child(&out, "/b/2", "/r/2");
	assert_int_equal(span(&out, WS_KIND_CLIENT, "/b/1")->start_ns - span(&out, WS_KIND_SERVER, "/r/1")->start_ns,
			 1 * MS - 1000);   /* connect entry 3 ms; the read returned at 2 ms + 1 us */
	assert_int_equal(span(&out, WS_KIND_CLIENT, "/b/2")->start_ns - span(&out, WS_KIND_SERVER, "/r/2")->start_ns,
			 1 * MS - 1000);   /* its first write, 11 ms, not the connect at 1 ms */
}

/* A blocking wait means the loop had nothing queued: nothing is carried into it. */
static void test_loop_blocking_wait_carries_nothing(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001);
	struct end u1 = client_end(11, SVC, 50001);

	loop_batch(a, SVC, 7, 1 * MS, 1 * MS, 1, 0);
	io(a, &s1, 7, WS_DIR_INGRESS, 2 * MS, req("r", 1));
	loop_batch(a, SVC, 7, 3 * MS, 4 * MS, 1, -1);
	io(a, &u1, 7, WS_DIR_EGRESS, 5 * MS, req("b", 1));
	complete(a, 30 * MS, &u1, &s1, NULL);
	finish(a, 60 * MS);
	assert_root(&out, "/b/1");
}

/* A loop thread reads an eventfd (a thread pool's DNS lookup finished) after reading
 * /r/1 and answering it: the callback connects for another request. Neither the
 * connection nor its first request may be charged to /r/1, nor to /r/2 read before. */
static void test_loop_foreign_read_ends_the_cause(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);
	struct ws_loop_event f;

	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 3, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &u1, 7, WS_DIR_EGRESS, 4 * MS, req("b", 1));
	io(a, &s2, 7, WS_DIR_INGRESS, 5 * MS, req("r", 2));   /* its handler looks a name up */
	memset(&f, 0, sizeof(f));
	f.hdr.type = WS_EV_LOOP;
	f.hdr.size = sizeof(f);
	f.hdr.ts_ns = 6 * MS;
	f.pid = SVC;
	f.tid = 7;
	f.nready = WS_LOOP_FOREIGN;
	f.timeout_ms = WS_TIMEOUT_UNKNOWN;
	f.syscall = WS_SYS_READ;
	assert_int_equal(ws_asm_record(a, &f, sizeof(f)), 0);
	connect_open(a, &u2, 7, 7 * MS);                       /* for an earlier lookup */
	io(a, &u2, 7, WS_DIR_EGRESS, 8 * MS, req("b", 9));
	complete(a, 30 * MS, &u1, &u2, &s1, &s2, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_root(&out, "/b/9");
}

/* A timer fires between a read and a write: the batch that began with nothing ready
 * carries no cause, even though the thread has exactly one request in flight (the
 * same-thread rule would have guessed it). */
static void test_loop_timer_batch_has_no_cause(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001);
	struct end u1 = client_end(11, SVC, 50001);

	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 1, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	loop_batch(a, SVC, 7, 4 * MS, 9 * MS, 0, 5);     /* timed out: a timer is due */
	io(a, &u1, 7, WS_DIR_EGRESS, 10 * MS, req("b", 9));
	assert_int_equal(said(a, WS_WHY_LOOP_NO_CAUSE), 1);
	complete(a, 30 * MS, &u1, &s1, NULL);
	finish(a, 60 * MS);
	assert_root(&out, "/b/9");
}

/* A wait's timeout counts from when the loop last read its clock, after the wait
 * before returned (the batch's anchor), not from the wait's entry: a loop preempted in
 * between enters late. Its timer may fire up to 2 ms before anchor + timeout (a loop's
 * clock is in truncated, coarse milliseconds). A write before that is the read
 * request's at once; one within it waits for the loop's next read. */
static void test_loop_deadline_from_anchor(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);

	(void)state;
	loop_batch(a, SVC, 7, 10 * MS, 12 * MS, 1, 5);     /* a timer due at 15 ms, 13 at the earliest */
	io(a, &s1, 7, WS_DIR_INGRESS, 12 * MS + 100, req("r", 1));
	io(a, &u1, 7, WS_DIR_EGRESS, 12 * MS + 500, req("b", 1));
	assert_int_equal(won(a, WS_PROV_LOOP), 1);
	assert_int_equal(ws_asm_parentage(a)->st.tentative, 0);
	loop_batch(a, SVC, 8, 10 * MS, 12 * MS, 1, 5);
	io(a, &s2, 8, WS_DIR_INGRESS, 12 * MS + 100, req("r", 2));
	io(a, &u2, 8, WS_DIR_EGRESS, 13 * MS + 500, req("b", 2));  /* may be that timer's */
	assert_int_equal(ws_asm_parentage(a)->st.tentative, 1);
	loop_batch(a, SVC, 8, 14 * MS, 16 * MS, 1, -1);
	assert_int_equal(said(a, WS_WHY_LOOP_AFTER_READS), 1);
	complete(a, 30 * MS, &u1, &u2, &s1, &s2, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_root(&out, "/b/2");
}

/* The loop's next timer was due while it was still handling this batch: a write past
 * the deadline may be that timer's. */
static void test_loop_write_past_timer_deadline(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);

	struct end s3 = server_end(3, SVC, 40003), s4 = server_end(4, SVC, 40004);
	struct end u3 = client_end(13, SVC, 50003);

	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 1, 10);    /* next timer at 11 ms */
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &u1, 7, WS_DIR_EGRESS, 4 * MS, req("b", 1));
	io(a, &u2, 7, WS_DIR_EGRESS, 12 * MS, req("b", 2));
	loop_batch(a, SVC, 7, 13 * MS, 14 * MS, 1, 10);
	assert_int_equal(said(a, WS_WHY_LOOP_AFTER_READS), 1);
	/* past the deadline but followed by a read: a handler's, not a timer's */
	io(a, &s3, 7, WS_DIR_INGRESS, 15 * MS, req("r", 3));
	io(a, &u3, 7, WS_DIR_EGRESS, 26 * MS, req("b", 3));
	io(a, &s4, 7, WS_DIR_INGRESS, 27 * MS, req("r", 4));
	assert_int_equal(ws_asm_parentage(a)->st.tentative_confirmed, 1);
	complete(a, 30 * MS, &u1, &u2, &u3, &s1, &s3, &s4, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_root(&out, "/b/2");
	assert_child(&out, "/b/3", "/r/3");
}

/* A response read on a client connection passes on its request's cause: the next call
 * on another connection chains. The same connection's next request is a pooled
 * connection handed on, maybe to a queued call of another request: ambiguous. */
static void test_loop_response_passes_cause_not_to_pooled_conn(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);

	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 1, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &u1, 7, WS_DIR_EGRESS, 4 * MS, req("b", 1));
	loop_batch(a, SVC, 7, 5 * MS, 6 * MS, 1, -1);
	io(a, &u1, 7, WS_DIR_INGRESS, 7 * MS, RESP);
	io(a, &u2, 7, WS_DIR_EGRESS, 8 * MS, req("b", 2));  /* sequential second call */
	io(a, &u1, 7, WS_DIR_EGRESS, 9 * MS, req("b", 3));  /* pool reuse: whose? */
	assert_int_equal(said(a, WS_WHY_POOL_REUSE), 1);
	complete(a, 30 * MS, &u2, &u1, &s1, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_child(&out, "/b/2", "/r/1");
	assert_root(&out, "/b/3");
}

/* A queued call written when another request's response arrives, after that request
 * was answered: the answered request parents nothing (OBI #3001). */
static void test_answered_request_parents_nothing(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);
	struct end t1 = server_end(3, SVC, 40003);
	struct end v1 = client_end(13, SVC, 50003);

	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 1, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &u1, 7, WS_DIR_EGRESS, 4 * MS, req("b", 1));
	loop_batch(a, SVC, 7, 5 * MS, 6 * MS, 1, -1);
	io(a, &u1, 7, WS_DIR_INGRESS, 7 * MS, RESP);
	io(a, &s1, 7, WS_DIR_EGRESS, 8 * MS, RESP);           /* /r/1 answered */
	io(a, &u2, 7, WS_DIR_EGRESS, 9 * MS, req("b", 4));    /* a queued call, not /r/1's */
	/* and on a thread-per-request thread: answered, then a write (a timer, a job) */
	io(a, &t1, 8, WS_DIR_INGRESS, 10 * MS, req("r", 5));
	io(a, &t1, 8, WS_DIR_EGRESS, 11 * MS, RESP);
	io(a, &v1, 8, WS_DIR_EGRESS, 12 * MS, req("b", 5));
	assert_int_equal(why(a, WS_WHY_ANSWERED), 1);
	complete(a, 30 * MS, &u2, &v1, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_root(&out, "/b/4");
	assert_root(&out, "/b/5");
}

/* ---- connect ownership ------------------------------------------------------------- */

/* nginx style: the upstream connection is opened while handling a request, and its
 * first request is written in a later batch (writable), with nothing read. */
static void test_connect_ties_first_request(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);
	struct end s3 = server_end(3, SVC, 40003), s4 = server_end(4, SVC, 40004);
	struct end u3 = client_end(13, SVC, 50003);

	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 1, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	connect_open(a, &u1, 7, 4 * MS);
	connect_open(a, &u2, 7, 4 * MS);
	loop_batch(a, SVC, 7, 5 * MS, 6 * MS, 1, -1);      /* u1 writable */
	io(a, &u1, 7, WS_DIR_EGRESS, 7 * MS, req("b", 1));
	/* a batch reads /r/2 and then writes the first request of a connection opened for
	 * /r/1 in an earlier batch: the write is the connect's completion, so what the
	 * loop read says nothing and the connect rule places it */
	loop_batch(a, SVC, 7, 9 * MS, 10 * MS, 2, -1);
	io(a, &s2, 7, WS_DIR_INGRESS, 11 * MS, req("r", 2));
	io(a, &u2, 7, WS_DIR_EGRESS, 12 * MS, req("b", 2));
	assert_int_equal(said(a, WS_WHY_CONFLICT), 0);
	assert_int_equal(won(a, WS_PROV_CONNECT), 2);
	/* connected (blocking) and written in the same batch with another read between:
	 * the two rules disagree, so neither is trusted */
	loop_batch(a, SVC, 7, 13 * MS, 14 * MS, 2, -1);
	io(a, &s3, 7, WS_DIR_INGRESS, 15 * MS, req("r", 3));
	connect_open(a, &u3, 7, 16 * MS);
	io(a, &s4, 7, WS_DIR_INGRESS, 17 * MS, req("r", 4));
	io(a, &u3, 7, WS_DIR_EGRESS, 18 * MS, req("b", 3));
	assert_int_equal(said(a, WS_WHY_CONFLICT), 1);
	complete(a, 30 * MS, &u1, &u2, &u3, &s1, &s2, &s3, &s4, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_child(&out, "/b/2", "/r/1");
	assert_root(&out, "/b/3");
}

/* ---- thread hand-offs -------------------------------------------------------------- */

/* An I/O thread reads, a worker it wakes calls downstream. Counted only while the
 * process has exactly one request open. */
static void test_handoff_single_request(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);

	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	task(a, WS_TASK_WAKE, SVC, 7, SVC, 8, 4 * MS);
	io(a, &u1, 8, WS_DIR_EGRESS, 5 * MS, req("b", 1));
	io(a, &u1, 8, WS_DIR_INGRESS, 6 * MS, RESP);
	io(a, &s1, 8, WS_DIR_EGRESS, 7 * MS, RESP);
	/* two requests open: the wakeup cannot tell which one the worker took */
	io(a, &s1, 7, WS_DIR_INGRESS, 8 * MS, req("r", 2));
	io(a, &s2, 7, WS_DIR_INGRESS, 9 * MS, req("r", 3));
	task(a, WS_TASK_WAKE, SVC, 7, SVC, 9, 10 * MS);
	io(a, &u2, 9, WS_DIR_EGRESS, 11 * MS, req("b", 3));
	/* ambiguous for the hand-off rule: left to the answer rule, and worker 9 never
	 * answers (thread 99 does) */
	assert_int_equal(deferred(a), 1);
	complete(a, 30 * MS, &u2, &s1, &s2, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_root(&out, "/b/3");
}

/* Thread per request: a handler thread serving /r/1 is woken by the handler of /r/2
 * (Python's GIL). Its own request outranks the wakeup. */
static void test_own_request_outranks_wakeup(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001);

	io(a, &s1, 8, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &s2, 9, WS_DIR_INGRESS, 4 * MS, req("r", 2));
	task(a, WS_TASK_WAKE, SVC, 9, SVC, 8, 5 * MS);
	io(a, &u1, 8, WS_DIR_EGRESS, 6 * MS, req("b", 1));
	complete(a, 30 * MS, &u1, &s1, &s2, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
}

/* Queue stealing: the reader wakes worker 9 for /r/2, then reads /r/3; an idle worker
 * takes /r/2 without sleeping and worker 9 gets /r/3. The wakeup named /r/2, but two
 * requests were open, so it proves nothing. */
static void test_handoff_with_two_open_requests_is_ambiguous(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s2 = server_end(2, SVC, 40002), s3 = server_end(3, SVC, 40003);
	struct end u3 = client_end(13, SVC, 50003);

	io(a, &s2, 7, WS_DIR_INGRESS, 3 * MS, req("r", 2));
	task(a, WS_TASK_WAKE, SVC, 7, SVC, 9, 4 * MS);
	io(a, &s3, 10, WS_DIR_INGRESS, 5 * MS, req("r", 3));
	io(a, &u3, 9, WS_DIR_EGRESS, 6 * MS, req("b", 3));
	assert_int_equal(deferred(a), 1);   /* handoff_busy: left to the answer rule */
	complete(a, 30 * MS, &u3, &s2, &s3, NULL);
	finish(a, 60 * MS);
	assert_root(&out, "/b/3");
}

/* Python's GIL: a worker still busy with /r/1 is woken by the reader of /r/2 (a GIL
 * hand-over, not work). Its next call is /r/1's, so that wakeup must not win. */
static void test_handoff_busy_worker_not_reassigned(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);

	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	task(a, WS_TASK_WAKE, SVC, 7, SVC, 8, 4 * MS);
	io(a, &u1, 8, WS_DIR_EGRESS, 5 * MS, req("b", 1));
	io(a, &s2, 9, WS_DIR_INGRESS, 7 * MS, req("r", 2));    /* another reader thread */
	task(a, WS_TASK_WAKE, SVC, 9, SVC, 8, 8 * MS);
	io(a, &u2, 8, WS_DIR_EGRESS, 9 * MS, req("b", 11));    /* /r/1's second call */
	assert_int_equal(deferred(a), 1);   /* handoff_many: left to the answer rule */
	complete(a, 30 * MS, &u1, &u2, &s1, &s2, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_root(&out, "/b/11");
}

/* ---- child processes ---------------------------------------------------------------- */

static void test_fork_inherits_until_answered(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001);
	struct end c1 = client_end(11, CHILD, 50001), c2 = client_end(12, CHILD, 50002);

	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	task(a, WS_TASK_FORK, SVC, 7, CHILD, CHILD, 4 * MS);
	task(a, WS_TASK_EXEC, CHILD, CHILD, 0, 0, 5 * MS);
	io(a, &c1, CHILD, WS_DIR_EGRESS, 6 * MS, req("b", 1));
	io(a, &c1, CHILD, WS_DIR_INGRESS, 7 * MS, RESP);
	io(a, &s1, 7, WS_DIR_EGRESS, 8 * MS, RESP);
	io(a, &c2, CHILD, WS_DIR_EGRESS, 9 * MS, req("b", 2));  /* after the answer */
	complete(a, 30 * MS, &c2, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_root(&out, "/b/2");
}

/* ---- goroutines ---------------------------------------------------------------------- */

/* Goroutines share OS threads: thread 7 read /r/1 for goroutine 10, then goroutine 40
 * (handling nothing wirespan saw) writes on thread 7. The same-thread rule would guess
 * /r/1; in Go only goroutine evidence counts. */
static void test_go_threads_are_not_evidence(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, GOSVC, 40001);
	struct end u1 = client_end(11, GOSVC, 50001), u2 = client_end(12, GOSVC, 50002);

	io_go(a, &s1, 7, 10, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io_go(a, &u1, 7, 40, WS_DIR_EGRESS, 4 * MS, req("b", 40));
	/* goroutine 10 moved to thread 8 and calls itself */
	io_go(a, &u2, 8, 10, WS_DIR_EGRESS, 5 * MS, req("b", 1));
	assert_int_equal(said(a, WS_WHY_RUNTIME_UNKNOWN), 1);
	complete(a, 30 * MS, &u1, &u2, &s1, NULL);
	finish(a, 60 * MS);
	assert_root(&out, "/b/40");
	assert_child(&out, "/b/1", "/r/1");
}

/* A Go process whose goroutine ids could not be read: its threads still prove nothing. */
static void test_go_without_goid_is_root(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, GOSVC, 40001);
	struct end u1 = client_end(11, GOSVC, 50001);

	io_go(a, &s1, 7, 0, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io_go(a, &u1, 7, 0, WS_DIR_EGRESS, 4 * MS, req("b", 1));
	assert_int_equal(said(a, WS_WHY_RUNTIME_UNKNOWN), 1);
	complete(a, 30 * MS, &u1, &s1, NULL);
	finish(a, 60 * MS);
	assert_root(&out, "/b/1");
}

/* One actor per serving goroutine would fill the table at a connection rate times the
 * idle time: a goroutine that answered everything it read is forgotten at once. */
static void test_go_actors_do_not_accumulate(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm_config cfg;
	struct ws_asm *a;
	int i;

	harness_config(&cfg);
	cfg.runtime_fn = go_runtime;
	cfg.max_threads = 4;
	a = ws_asm_new(&cfg, res_for, NULL, capture, &out);
	for (i = 0; i < 16; i++) {
		struct end s = server_end(100 + (uint64_t)i, GOSVC, (uint16_t)(41000 + i));

		io_go(a, &s, 7, 1000 + (uint64_t)i, WS_DIR_INGRESS, (uint64_t)(2 * i + 1) * MS, req("r", i));
		io_go(a, &s, 7, 1000 + (uint64_t)i, WS_DIR_EGRESS, (uint64_t)(2 * i + 2) * MS, RESP);
	}
	assert_int_equal(ws_actors_stats(ws_asm_parentage(a)->actors)->actors_full, 0);
	finish(a, 60 * MS);
	assert_int_equal(out.n, 16);
}

static void test_go_lineage(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, GOSVC, 40001);
	struct end u1 = client_end(11, GOSVC, 50001), u2 = client_end(12, GOSVC, 50002);

	ws_asm_parentage(a)->lineage = lineage;
	io_go(a, &s1, 7, 10, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io_go(a, &u1, 8, 21, WS_DIR_EGRESS, 4 * MS, req("b", 1));
	io_go(a, &u2, 9, 22, WS_DIR_EGRESS, 5 * MS, req("b", 2));
	complete(a, 30 * MS, &u1, &u2, &s1, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_child(&out, "/b/2", "/r/1");
}

/* ---- no silent caps ---------------------------------------------------------------- */

/* A thread serving more requests than it can name: after it answered all it named, it
 * still serves one it could not name, so it is ambiguous, not "serving exactly one". */
static void test_serving_overflow_is_ambiguous(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s[WS_ACTOR_SERVING + 1];
	struct end u1 = client_end(11, SVC, 50001);
	int i;

	for (i = 0; i <= WS_ACTOR_SERVING; i++) {
		s[i] = server_end(100 + (uint64_t)i, SVC, (uint16_t)(41000 + i));
		io(a, &s[i], 7, WS_DIR_INGRESS, (uint64_t)(i + 1) * MS, req("r", i));
	}
	for (i = 0; i < WS_ACTOR_SERVING; i++)
		io(a, &s[i], 7, WS_DIR_EGRESS, (uint64_t)(20 + i) * MS, RESP);
	io(a, &u1, 7, WS_DIR_EGRESS, 40 * MS, req("b", 99));
	assert_int_equal(said(a, WS_WHY_THREAD_MANY), 1);
	complete(a, 30 * MS, &u1, &s[WS_ACTOR_SERVING], NULL);
	finish(a, 80 * MS);
	assert_root(&out, "/b/99");
}

/* ---- adoption bound ---------------------------------------------------------------- */

static void test_traceparent_adoption_is_bounded(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001);
	char rq[160];
	int i, adopted = 0, linked = 0;

	for (i = 0; i < 10; i++) {
		snprintf(rq, sizeof(rq), "GET /p/%d HTTP/1.1\r\nHost: h\r\n"
			 "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n", i);
		io(a, &s1, 7, WS_DIR_INGRESS, (uint64_t)(2 * i + 1) * MS, rq);
		io(a, &s1, 7, WS_DIR_EGRESS, (uint64_t)(2 * i + 2) * MS, RESP);
	}
	finish(a, 80 * MS);
	assert_int_equal(out.n, 10);
	for (i = 0; i < out.n; i++) {
		if (ws_id_is_zero(out.spans[i].parent_span_id, 8)) {
			assert_int_equal(out.spans[i].n_links, 1);
			linked++;
		} else {
			adopted++;
		}
	}
	assert_int_equal(adopted, 8);
	assert_int_equal(linked, 2);
}

/* ---- the task rule (asyncio: the contextvars Context each task step runs in) ------- */

/* A CPython loop record: written or read inside task ctx (0: a loop callback's). The
 * kernel names the task of writes only (bpf/lib/emit.h): so does this. */
static void io_task(struct ws_asm *a, struct end *e, uint32_t tid, uint64_t ctx, uint8_t dir, uint64_t t,
		    const char *payload)
{
	if (dir != WS_DIR_EGRESS)
		ctx = 0;
	feed_hdr_flags = ctx ? WS_F_RT_PY : 0;
	feed_ctx(a, &e->s, tid, ctx, dir, e->seq[dir], t, t + 1000, payload);
	feed_hdr_flags = 0;
	e->seq[dir] += (uint32_t)strlen(payload);
}

#define TASK_A 0x7f0000a000ULL
#define TASK_B 0x7f0000b000ULL
#define TASK_C 0x7f0000c000ULL
#define TASK_CB 0x7f0000f000ULL   /* a reader callback's Context (asyncio Handles have one) */

/* One round reads two requests (the loop rule cannot tell whose handler writes
 * next); each handler task calls, and answers its own request: the calls go to the
 * requests their tasks answered, whatever order the loop runs them in. */
static void test_task_rule_two_reads_one_round(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);

	(void)state;
	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 2, -1);
	io_task(a, &s1, 7, TASK_CB, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io_task(a, &s2, 7, TASK_CB, WS_DIR_INGRESS, 4 * MS, req("r", 2));
	/* B's step runs first */
	io_task(a, &u2, 7, TASK_B, WS_DIR_EGRESS, 5 * MS, req("b", 2));
	io_task(a, &u1, 7, TASK_A, WS_DIR_EGRESS, 6 * MS, req("b", 1));
	loop_batch(a, SVC, 7, 7 * MS, 8 * MS, 2, -1);
	io_task(a, &u1, 7, 0, WS_DIR_INGRESS, 9 * MS, RESP);
	io_task(a, &u2, 7, 0, WS_DIR_INGRESS, 10 * MS, RESP);
	io_task(a, &s2, 7, TASK_B, WS_DIR_EGRESS, 11 * MS, RESP);
	io_task(a, &s1, 7, TASK_A, WS_DIR_EGRESS, 12 * MS, RESP);
	assert_int_equal(said(a, WS_WHY_LOOP_MANY), 2);
	assert_int_equal(won(a, WS_PROV_TASK), 2);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_child(&out, "/b/2", "/r/2");
	assert_rule(&out, "/b/1", "task", NULL);
}

/* Where the task rule must say "don't know": a request that arrived after the call (a
 * Context freed by a task that called and ended, reused by a new connection's
 * handler), a call whose response came after the answer began, and a connection on
 * which another task answered after the call. */
static void test_task_rule_guards(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002), s3 = server_end(3, SVC, 40003);
	struct end s4 = server_end(4, SVC, 40004), s5 = server_end(5, SVC, 40005), s6 = server_end(6, SVC, 40006);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002), u3 = client_end(13, SVC, 50003);
	struct end u5 = client_end(15, SVC, 50005);

	(void)state;
	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 2, -1);
	io_task(a, &s1, 7, TASK_CB, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io_task(a, &s2, 7, TASK_CB, WS_DIR_INGRESS, 3 * MS + 500, req("r", 2));
	/* task A (a background job) calls and ends; its Context goes to the handler of a
	 * connection whose request arrives later */
	io_task(a, &u1, 7, TASK_A, WS_DIR_EGRESS, 4 * MS, req("b", 9));
	io_task(a, &u1, 7, 0, WS_DIR_INGRESS, 5 * MS, RESP);
	io_task(a, &s3, 7, TASK_CB, WS_DIR_INGRESS, 6 * MS, req("r", 3));
	io_task(a, &s3, 7, TASK_A, WS_DIR_EGRESS, 7 * MS, RESP);
	assert_int_equal(why(a, WS_WHY_ANSWER_EARLY), 1);
	/* task B answers /r/2 before its call's response is in */
	io_task(a, &u2, 7, TASK_B, WS_DIR_EGRESS, 8 * MS, req("b", 2));
	io_task(a, &s2, 7, TASK_B, WS_DIR_EGRESS, 9 * MS, RESP);
	io_task(a, &u2, 7, 0, WS_DIR_INGRESS, 10 * MS, RESP);
	assert_int_equal(why(a, WS_WHY_ANSWER_ASYNC), 1);
	/* /r/4 and /r/5 pipelined on s1 after /r/1: task C calls, a protocol callback
	 * answers /r/1 and /r/4, /r/6 arrives, then C begins the answer to /r/5 */
	io_task(a, &s1, 7, TASK_CB, WS_DIR_INGRESS, 11 * MS, req("r", 4));
	io_task(a, &s1, 7, TASK_CB, WS_DIR_INGRESS, 11 * MS + 500, req("r", 5));
	io_task(a, &u3, 7, TASK_C, WS_DIR_EGRESS, 12 * MS, req("b", 4));
	io_task(a, &u3, 7, 0, WS_DIR_INGRESS, 13 * MS, RESP);
	io_task(a, &s1, 7, TASK_CB, WS_DIR_EGRESS, 14 * MS, RESP);
	io_task(a, &s1, 7, TASK_CB, WS_DIR_EGRESS, 14 * MS + 300, RESP);
	io_task(a, &s1, 7, TASK_CB, WS_DIR_INGRESS, 14 * MS + 600, req("r", 6));
	io_task(a, &s1, 7, TASK_C, WS_DIR_EGRESS, 15 * MS, RESP);
	assert_int_equal(why(a, WS_WHY_TASK_SHARED), 1);
	/* s4 is new, and its records name no task before the answer (reads never do): in
	 * a process whose records have named tasks, a connection's answers are known from
	 * its first record, so C's call is placed */
	io_task(a, &s4, 7, 0, WS_DIR_INGRESS, 17 * MS, req("r", 8));
	io_task(a, &s2, 7, TASK_CB, WS_DIR_INGRESS, 18 * MS, req("r", 10));
	io_task(a, &u3, 7, TASK_C, WS_DIR_EGRESS, 19 * MS, req("b", 8));
	io_task(a, &u3, 7, 0, WS_DIR_INGRESS, 20 * MS, RESP);
	io_task(a, &s4, 7, TASK_C, WS_DIR_EGRESS, 21 * MS, RESP);
	assert_int_equal(won(a, WS_PROV_TASK), 1);
	/* s5's first answer was written outside any task (no state began): whether
	 * anyone answered on it after the call is unknown, so A's call is not placed */
	io_task(a, &s5, 7, 0, WS_DIR_INGRESS, 22 * MS, req("r", 11));
	io_task(a, &s5, 7, 0, WS_DIR_EGRESS, 22 * MS + 500, RESP);
	loop_batch(a, SVC, 7, 23 * MS, 23 * MS + 500, 2, -1);
	io_task(a, &s5, 7, 0, WS_DIR_INGRESS, 24 * MS, req("r", 12));
	io_task(a, &s6, 7, 0, WS_DIR_INGRESS, 24 * MS + 500, req("r", 13));
	io_task(a, &u5, 7, TASK_A, WS_DIR_EGRESS, 25 * MS, req("b", 12));
	io_task(a, &u5, 7, 0, WS_DIR_INGRESS, 26 * MS, RESP);
	io_task(a, &s5, 7, TASK_A, WS_DIR_EGRESS, 27 * MS, RESP);
	assert_int_equal(why(a, WS_WHY_TASK_SHARED), 2);
	/* an answer that does not begin an egress run (pipelined: written right after
	 * another) names no task */
	io_task(a, &s1, 7, TASK_C, WS_DIR_EGRESS, 28 * MS, RESP);
	assert_int_equal(won(a, WS_PROV_TASK), 1);
	finish(a, 60 * MS);
	assert_root(&out, "/b/9");
	assert_root(&out, "/b/2");
	assert_root(&out, "/b/4");
	assert_rule(&out, "/b/9", "root", "answer_early");
	assert_rule(&out, "/b/2", "root", "answer_async");
	assert_rule(&out, "/b/4", "root", "task_shared");
	assert_child(&out, "/b/8", "/r/8");
	assert_rule(&out, "/b/8", "task", NULL);
	assert_root(&out, "/b/12");
	assert_rule(&out, "/b/12", "root", "task_shared");
}

/* A task's call it answers after an asyncio.sleep (a timer) is still its own; a task
 * actor goes once it has nothing waiting. */
static void test_task_rule_across_timers(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001);

	(void)state;
	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 2, -1);
	io_task(a, &s1, 7, TASK_CB, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io_task(a, &s2, 7, TASK_CB, WS_DIR_INGRESS, 4 * MS, req("r", 2));
	loop_batch(a, SVC, 7, 5 * MS, 5 * MS, 1, 0);          /* a non-blocking wait: timers unknown */
	io_task(a, &u1, 7, TASK_A, WS_DIR_EGRESS, 6 * MS, req("b", 2));
	loop_batch(a, SVC, 7, 7 * MS, 9 * MS, 1, 3);
	io_task(a, &u1, 7, 0, WS_DIR_INGRESS, 10 * MS, RESP);
	loop_batch(a, SVC, 7, 11 * MS, 14 * MS, 0, 3);        /* the sleep's timer */
	io_task(a, &s2, 7, TASK_A, WS_DIR_EGRESS, 15 * MS, RESP);
	io_task(a, &s1, 7, TASK_B, WS_DIR_EGRESS, 16 * MS, RESP);
	assert_int_equal(won(a, WS_PROV_TASK), 1);
	assert_null(ws_actor_get(ws_asm_parentage(a)->actors, SVC, 0, TASK_A, 17 * MS, false, NULL));
	finish(a, 60 * MS);
	assert_child(&out, "/b/2", "/r/2");
}

/* ---- the answer rule (pool workers) ---------------------------------------------- */

/* Python's ThreadPoolExecutor behind an I/O thread (tests/integration/test_arch_pool.sh):
 * the loop thread 7 reads /r/1 and /r/2 in one batch and queues them; workers 8 and 9
 * each take one, call the backend, read its response and answer the request. The
 * reader's wakeups and the GIL's hand-overs name no work item (handoff: ambiguous);
 * which request each worker had is told by the one it answers. */
static void test_answer_pool_workers(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);

	(void)state;
	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 2, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &s2, 7, WS_DIR_INGRESS, 4 * MS, req("r", 2));
	task(a, WS_TASK_WAKE, SVC, 7, SVC, 8, 5 * MS);
	task(a, WS_TASK_WAKE, SVC, 7, SVC, 9, 5 * MS + 1000);
	/* worker 9 took /r/1 (the queue's order is not the wakeups' order) */
	io(a, &u2, 9, WS_DIR_EGRESS, 6 * MS, req("b", 1));
	task(a, WS_TASK_WAKE, SVC, 9, SVC, 8, 6 * MS + 500);   /* the GIL */
	io(a, &u1, 8, WS_DIR_EGRESS, 7 * MS, req("b", 2));
	task(a, WS_TASK_WAKE, SVC, 8, SVC, 9, 7 * MS + 500);
	io(a, &u2, 9, WS_DIR_INGRESS, 8 * MS, RESP);
	io(a, &u1, 8, WS_DIR_INGRESS, 9 * MS, RESP);
	io(a, &s2, 8, WS_DIR_EGRESS, 10 * MS, RESP);
	io(a, &s1, 9, WS_DIR_EGRESS, 11 * MS, RESP);
	assert_int_equal(deferred(a), 2);
	assert_int_equal(won(a, WS_PROV_ANSWER), 2);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_child(&out, "/b/2", "/r/2");
	assert_rule(&out, "/b/1", "answer", NULL);
}

/* A worker makes several calls for one request, then answers it; its next job's call
 * comes after that answer and waits for the next one. */
static void test_answer_sequential_calls_and_next_job(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001);

	(void)state;
	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 1, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &s2, 7, WS_DIR_INGRESS, 4 * MS, req("r", 2));
	io(a, &u1, 8, WS_DIR_EGRESS, 5 * MS, req("b", 1));
	io(a, &u1, 8, WS_DIR_INGRESS, 6 * MS, RESP);
	io(a, &u1, 8, WS_DIR_EGRESS, 7 * MS, req("b", 11));
	io(a, &u1, 8, WS_DIR_INGRESS, 8 * MS, RESP);
	io(a, &s1, 8, WS_DIR_EGRESS, 9 * MS, RESP);
	io(a, &u1, 8, WS_DIR_EGRESS, 10 * MS, req("b", 2));
	io(a, &u1, 8, WS_DIR_INGRESS, 11 * MS, RESP);
	io(a, &s2, 8, WS_DIR_EGRESS, 12 * MS, RESP);
	finish(a, 60 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_child(&out, "/b/11", "/r/1");
	assert_child(&out, "/b/2", "/r/2");
}

/* The request a worker answers arrived after its call: the call was for something
 * else (a background job), not for it. */
static void test_answer_request_after_call_is_root(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001);
	struct end u1 = client_end(11, SVC, 50001);

	struct end s0 = server_end(2, SVC, 40002);

	(void)state;
	io(a, &s0, 7, WS_DIR_INGRESS, 2 * MS, req("r", 0));   /* a request is open */
	io(a, &u1, 8, WS_DIR_EGRESS, 3 * MS, req("b", 1));
	io(a, &u1, 8, WS_DIR_INGRESS, 4 * MS, RESP);
	io(a, &s1, 7, WS_DIR_INGRESS, 5 * MS, req("r", 1));
	io(a, &s1, 8, WS_DIR_EGRESS, 6 * MS, RESP);
	assert_int_equal(why(a, WS_WHY_ANSWER_EARLY), 1);
	complete(a, 30 * MS, &s0, NULL);
	finish(a, 60 * MS);
	assert_root(&out, "/b/1");
}

/* The call's response was read by another thread (an async client's I/O thread): the
 * worker did not wait for it, so answering proves nothing about it. */
static void test_answer_call_not_waited_for_is_root(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);

	(void)state;
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &u1, 8, WS_DIR_EGRESS, 4 * MS, req("b", 1));
	io(a, &u1, 9, WS_DIR_INGRESS, 5 * MS, RESP);
	io(a, &u2, 8, WS_DIR_EGRESS, 6 * MS, req("b", 2));   /* no response before the answer */
	io(a, &s1, 8, WS_DIR_EGRESS, 7 * MS, RESP);
	assert_int_equal(why(a, WS_WHY_ANSWER_ASYNC), 2);
	complete(a, 30 * MS, &u2, NULL);
	finish(a, 60 * MS);
	assert_root(&out, "/b/1");
	assert_root(&out, "/b/2");
}

/* A thread that never answers (a background thread, a worker that hands the result
 * back to the I/O thread): its calls wait, then become roots, and their children
 * (the backend's SERVER span, rule 3) follow. */
static void test_answer_never_given_times_out(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001);
	struct end u1 = client_end(11, SVC, 50001);

	(void)state;
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &u1, 8, WS_DIR_EGRESS, 4 * MS, req("b", 1));
	io(a, &u1, 8, WS_DIR_INGRESS, 5 * MS, RESP);
	io(a, &s1, 7, WS_DIR_EGRESS, 6 * MS, RESP);          /* answered by the reader */
	ws_asm_tick(a, 1000 * MS);
	assert_int_equal(out.n, 1);                          /* /r/1: /b/1 still waits */
	ws_asm_tick(a, 3000 * MS);
	assert_int_equal(out.n, 2);
	assert_int_equal(ws_ctx_stats(ws_asm_parentage(a)->ctx)->defer_timeouts, 1);
	finish(a, 4000 * MS);
	assert_root(&out, "/b/1");
	assert_rule(&out, "/b/1", "root", "answer_unseen");
}

/* A thread serving a request of its own never waits for an answer: the thread rule
 * speaks for it. */
static void test_answer_not_for_serving_threads(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s2 = server_end(2, SVC, 40002);
	struct end u2 = client_end(12, SVC, 50002);

	(void)state;
	io(a, &s2, 8, WS_DIR_INGRESS, 8 * MS, req("r", 2));
	io(a, &u2, 8, WS_DIR_EGRESS, 9 * MS, req("b", 2));
	io(a, &u2, 8, WS_DIR_INGRESS, 10 * MS, RESP);
	io(a, &s2, 8, WS_DIR_EGRESS, 11 * MS, RESP);
	assert_int_equal(deferred(a), 0);
	finish(a, 60 * MS);
	assert_child(&out, "/b/2", "/r/2");
}

/* Node with a capped agent, read backwards: the loop read /r/1 and /r/2 in one batch
 * and wrote both calls (ambiguous forwards). A batch that reads only /b/2's response
 * and then writes /r/2's answer says whose /b/2 was. A batch that read a new request
 * before /b/1's response says nothing when the window runs on to the batch's end: that
 * request's handler may have queued work for after the reads. */
static void test_answer_loop_backward(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002), s3 = server_end(3, SVC, 40003);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);

	(void)state;
	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 2, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &s2, 7, WS_DIR_INGRESS, 4 * MS, req("r", 2));
	io(a, &u1, 7, WS_DIR_EGRESS, 5 * MS, req("b", 1));
	io(a, &u2, 7, WS_DIR_EGRESS, 6 * MS, req("b", 2));
	assert_int_equal(said(a, WS_WHY_LOOP_MANY), 2);
	assert_int_equal(deferred(a), 2);
	loop_batch(a, SVC, 7, 7 * MS, 8 * MS, 1, -1);
	io(a, &u2, 7, WS_DIR_INGRESS, 9 * MS, RESP);
	io(a, &s2, 7, WS_DIR_EGRESS, 10 * MS, RESP);
	loop_batch(a, SVC, 7, 11 * MS, 12 * MS, 2, -1);
	io(a, &s3, 7, WS_DIR_INGRESS, 13 * MS, req("r", 3));   /* its handler ran first */
	io(a, &u1, 7, WS_DIR_INGRESS, 14 * MS, RESP);
	io(a, &s1, 7, WS_DIR_EGRESS, 15 * MS, RESP);
	loop_batch(a, SVC, 7, 16 * MS, 17 * MS, 1, -1);   /* the window ran on to the batch's end */
	assert_int_equal(won(a, WS_PROV_ANSWER), 1);
	assert_int_equal(why(a, WS_WHY_ANSWER_NOT_NEXT), 1);
	complete(a, 30 * MS, &s3, NULL);
	finish(a, 60 * MS);
	assert_child(&out, "/b/2", "/r/2");
	assert_root(&out, "/b/1");
}

/* Backwards, the loop's next write must be an answer, before its next timer was due,
 * to a request that arrived before the call. */
static void test_answer_loop_backward_guards(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002), s3 = server_end(3, SVC, 40003);
	struct end s4 = server_end(4, SVC, 40004);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002), u3 = client_end(13, SVC, 50003);
	struct end u9 = client_end(19, SVC, 50009);
	struct end s5 = server_end(5, SVC, 40005), s6 = server_end(6, SVC, 40006);
	struct end u6 = client_end(16, SVC, 50006);
	struct end s7 = server_end(7, SVC, 40007), u7 = client_end(17, SVC, 50007);

	(void)state;
	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 2, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &s2, 7, WS_DIR_INGRESS, 4 * MS, req("r", 2));
	io(a, &s6, 7, WS_DIR_INGRESS, 4 * MS + 500, req("r", 6));
	io(a, &u1, 7, WS_DIR_EGRESS, 5 * MS, req("b", 1));
	io(a, &u2, 7, WS_DIR_EGRESS, 6 * MS, req("b", 2));
	io(a, &u6, 7, WS_DIR_EGRESS, 6 * MS + 500, req("b", 6));
	io(a, &s7, 7, WS_DIR_INGRESS, 6 * MS + 600, req("r", 7));
	io(a, &u7, 7, WS_DIR_EGRESS, 6 * MS + 700, req("b", 7));
	io(a, &s3, 7, WS_DIR_INGRESS, 7 * MS, req("r", 3));
	io(a, &u3, 7, WS_DIR_EGRESS, 8 * MS, req("b", 3));
	/* /b/1's response, then only a call: no answer */
	loop_batch(a, SVC, 7, 9 * MS, 10 * MS, 1, -1);
	io(a, &u1, 7, WS_DIR_INGRESS, 11 * MS, RESP);
	io(a, &u9, 7, WS_DIR_EGRESS, 12 * MS, req("b", 9));
	/* /b/2's response, then a request read before the answer */
	loop_batch(a, SVC, 7, 13 * MS, 14 * MS, 1, -1);
	io(a, &u2, 7, WS_DIR_INGRESS, 15 * MS, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	io(a, &s5, 7, WS_DIR_INGRESS, 16 * MS, req("r", 5));
	io(a, &s2, 7, WS_DIR_EGRESS, 17 * MS, RESP);
	/* a foreign read, then /b/7's response alone, then an answer */
	loop_batch(a, SVC, 7, 18 * MS, 18 * MS + 100000, 1, -1);
	foreign_read(a, 7, 18 * MS + 200000);
	io(a, &u7, 7, WS_DIR_INGRESS, 18 * MS + 300000, RESP);
	io(a, &s7, 7, WS_DIR_EGRESS, 18 * MS + 400000, RESP);
	/* /b/6's response, then an answer past the wait's 5 ms timeout: a timer's, maybe */
	loop_batch(a, SVC, 7, 20 * MS, 21 * MS, 1, 5);
	io(a, &u6, 7, WS_DIR_INGRESS, 22 * MS, RESP);
	io(a, &s6, 7, WS_DIR_EGRESS, 26 * MS, RESP);
	/* /b/3's response, then the answer to /r/4, which came after /b/3 was written */
	loop_batch(a, SVC, 7, 30 * MS, 31 * MS, 1, -1);
	io(a, &s4, 7, WS_DIR_INGRESS, 32 * MS, req("r", 4));
	loop_batch(a, SVC, 7, 33 * MS, 34 * MS, 1, -1);
	io(a, &u3, 7, WS_DIR_INGRESS, 35 * MS, RESP);
	io(a, &s4, 7, WS_DIR_EGRESS, 36 * MS, RESP);
	loop_batch(a, SVC, 7, 37 * MS, 38 * MS, 1, -1);      /* closes the window */
	assert_int_equal(why(a, WS_WHY_ANSWER_NOT_NEXT), 3);
	assert_int_equal(why(a, WS_WHY_LOOP_TIMER_DUE), 1);
	assert_int_equal(why(a, WS_WHY_ANSWER_EARLY), 1);
	assert_int_equal(won(a, WS_PROV_ANSWER), 0);
	complete(a, 50 * MS, &u9, &s1, &s3, &s5, NULL);
	finish(a, 90 * MS);
	assert_root(&out, "/b/1");
	assert_root(&out, "/b/2");
	assert_root(&out, "/b/3");
	assert_root(&out, "/b/6");
	assert_root(&out, "/b/7");
}

/* A call made while the worker was writing its answer (a streamed body) is not for the
 * next request either. */
static void test_answer_call_during_answer_is_root(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002);
	struct end u1 = client_end(11, SVC, 50001);

	(void)state;
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &s2, 7, WS_DIR_INGRESS, 4 * MS, req("r", 2));
	io(a, &s1, 8, WS_DIR_EGRESS, 5 * MS, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
	io(a, &u1, 8, WS_DIR_EGRESS, 6 * MS, req("b", 1));
	io(a, &u1, 8, WS_DIR_INGRESS, 7 * MS, RESP);
	io(a, &s1, 8, WS_DIR_EGRESS, 8 * MS, "ok");
	io(a, &s2, 8, WS_DIR_EGRESS, 9 * MS, RESP);
	assert_int_equal(why(a, WS_WHY_ANSWER_ASYNC), 1);
	finish(a, 60 * MS);
	assert_root(&out, "/b/1");
}

/* Node's capped agent: the response of /b/1 frees its pooled connection, the agent
 * writes the queued /b/2 on it (nextTick) and then /r/1 is answered (a promise): the
 * call in between does not matter. One response answering two requests (callers that
 * waited on one call) is nobody's in particular. An idle loop's window is closed by the
 * tick. */
static void test_answer_loop_window(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002), s3 = server_end(3, SVC, 40003);
	struct end s4 = server_end(4, SVC, 40004);
	struct end u1 = client_end(11, SVC, 50001), u3 = client_end(13, SVC, 50003), u4 = client_end(14, SVC, 50004);
	struct end s5 = server_end(5, SVC, 40005), s6 = server_end(6, SVC, 40006), u5 = client_end(15, SVC, 50005);
	struct end s8 = server_end(8, SVC, 40008);

	(void)state;
	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 2, -1);
	io(a, &s5, 7, WS_DIR_INGRESS, 2 * MS + 500000, req("r", 5));
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &s2, 7, WS_DIR_INGRESS, 4 * MS, req("r", 2));
	io(a, &s3, 7, WS_DIR_INGRESS, 4 * MS + 500000, req("r", 3));
	io(a, &s4, 7, WS_DIR_INGRESS, 4 * MS + 600000, req("r", 4));
	io(a, &u1, 7, WS_DIR_EGRESS, 5 * MS, req("b", 1));
	io(a, &u3, 7, WS_DIR_EGRESS, 6 * MS, req("b", 3));
	io(a, &u4, 7, WS_DIR_EGRESS, 6 * MS + 500000, req("b", 4));
	io(a, &u5, 7, WS_DIR_EGRESS, 6 * MS + 600000, req("b", 5));
	loop_batch(a, SVC, 7, 7 * MS, 8 * MS, 1, -1);
	io(a, &u1, 7, WS_DIR_INGRESS, 9 * MS, RESP);
	io(a, &u1, 7, WS_DIR_EGRESS, 10 * MS, req("b", 2));   /* the queued call */
	io(a, &s1, 7, WS_DIR_EGRESS, 11 * MS, RESP);
	loop_batch(a, SVC, 7, 12 * MS, 13 * MS, 1, -1);
	io(a, &u3, 7, WS_DIR_INGRESS, 14 * MS, RESP);
	io(a, &s3, 7, WS_DIR_EGRESS, 15 * MS, RESP);
	io(a, &s2, 7, WS_DIR_EGRESS, 15 * MS + 500000, RESP);  /* /r/2 waited on it too */
	loop_batch(a, SVC, 7, 16 * MS, 17 * MS, 1, -1);
	io(a, &s6, 7, WS_DIR_INGRESS, 17 * MS + 500000, req("r", 6));
	io(a, &u5, 7, WS_DIR_INGRESS, 17 * MS + 600000, RESP);   /* after another read ... */
	io(a, &s5, 7, WS_DIR_EGRESS, 17 * MS + 700000, RESP);
	io(a, &s8, 7, WS_DIR_INGRESS, 17 * MS + 800000, req("r", 8));   /* ... closed by a read */
	loop_batch(a, SVC, 7, 17 * MS + 900000, 17 * MS + 950000, 1, -1);
	io(a, &u4, 7, WS_DIR_INGRESS, 18 * MS, RESP);
	io(a, &s4, 7, WS_DIR_EGRESS, 19 * MS, RESP);
	assert_int_equal(why(a, WS_WHY_ANSWER_MANY), 1);
	assert_int_equal(won(a, WS_PROV_ANSWER), 2);
	ws_asm_tick(a, 30 * MS);                               /* not idle long enough yet */
	assert_int_equal(won(a, WS_PROV_ANSWER), 2);
	ws_asm_tick(a, 45 * MS);                               /* idle: the tick closes it */
	assert_int_equal(won(a, WS_PROV_ANSWER), 3);
	complete(a, 50 * MS, &u1, &s6, &s8, NULL);
	finish(a, 90 * MS);
	assert_child(&out, "/b/1", "/r/1");
	assert_root(&out, "/b/3");
	assert_child(&out, "/b/4", "/r/4");
	assert_child(&out, "/b/5", "/r/5");
}

/* Backwards after a wait that did not block: when the loop's timers are due is unknown,
 * so a window that runs on to the batch's end (its after-poll work: a timer that
 * answers another request) proves nothing; one closed by a read does. */
static void test_answer_loop_window_timers_unknown(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct end s1 = server_end(1, SVC, 40001), s2 = server_end(2, SVC, 40002), s3 = server_end(3, SVC, 40003);
	struct end u1 = client_end(11, SVC, 50001), u2 = client_end(12, SVC, 50002);

	(void)state;
	loop_batch(a, SVC, 7, 1 * MS, 2 * MS, 2, -1);
	io(a, &s1, 7, WS_DIR_INGRESS, 3 * MS, req("r", 1));
	io(a, &s2, 7, WS_DIR_INGRESS, 4 * MS, req("r", 2));
	io(a, &u1, 7, WS_DIR_EGRESS, 5 * MS, req("b", 1));
	io(a, &u2, 7, WS_DIR_EGRESS, 6 * MS, req("b", 2));
	loop_batch(a, SVC, 7, 7 * MS, 7 * MS, 1, 0);          /* timeout 0 */
	io(a, &u1, 7, WS_DIR_INGRESS, 8 * MS, RESP);
	io(a, &s2, 7, WS_DIR_EGRESS, 9 * MS, RESP);           /* /r/2's timer, maybe */
	loop_batch(a, SVC, 7, 10 * MS, 10 * MS, 1, 0);
	io(a, &u2, 7, WS_DIR_INGRESS, 11 * MS, RESP);
	io(a, &s1, 7, WS_DIR_EGRESS, 12 * MS, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	io(a, &s3, 7, WS_DIR_INGRESS, 13 * MS, req("r", 3));  /* closed by a read */
	assert_int_equal(why(a, WS_WHY_LOOP_TIMER_UNKNOWN), 1);
	assert_int_equal(won(a, WS_PROV_ANSWER), 1);
	complete(a, 30 * MS, &s3, NULL);
	finish(a, 60 * MS);
	assert_root(&out, "/b/1");
	assert_child(&out, "/b/2", "/r/1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_read_then_write),
		cmocka_unit_test(test_loop_two_reads_one_batch_is_ambiguous),
		cmocka_unit_test(test_loop_continues_across_nonblocking_wait),
		cmocka_unit_test(test_loop_batches_on_data_records),
		cmocka_unit_test(test_loop_two_batches_carry_nothing),
		cmocka_unit_test(test_loop_blocking_batch_on_write),
		cmocka_unit_test(test_client_start_at_connect_within_cause),
		cmocka_unit_test(test_loop_busy_rounds_timers_unknown),
		cmocka_unit_test(test_loop_blocking_wait_carries_nothing),
		cmocka_unit_test(test_loop_foreign_read_ends_the_cause),
		cmocka_unit_test(test_loop_timer_batch_has_no_cause),
		cmocka_unit_test(test_loop_write_past_timer_deadline),
		cmocka_unit_test(test_loop_deadline_from_anchor),
		cmocka_unit_test(test_loop_act_after_last_read),
		cmocka_unit_test(test_loop_connect_after_last_read),
		cmocka_unit_test(test_loop_carried_after_mixed_round),
		cmocka_unit_test(test_loop_phases),
		cmocka_unit_test(test_loop_late_reads_confirm_nothing),
		cmocka_unit_test(test_loop_phases_latest_read),
		cmocka_unit_test(test_loop_connect_without_cause),
		cmocka_unit_test(test_loop_response_passes_cause_not_to_pooled_conn),
		cmocka_unit_test(test_answered_request_parents_nothing),
		cmocka_unit_test(test_connect_ties_first_request),
		cmocka_unit_test(test_handoff_single_request),
		cmocka_unit_test(test_own_request_outranks_wakeup),
		cmocka_unit_test(test_handoff_with_two_open_requests_is_ambiguous),
		cmocka_unit_test(test_handoff_busy_worker_not_reassigned),
		cmocka_unit_test(test_task_rule_two_reads_one_round),
		cmocka_unit_test(test_task_rule_guards),
		cmocka_unit_test(test_task_rule_across_timers),
		cmocka_unit_test(test_answer_pool_workers),
		cmocka_unit_test(test_answer_sequential_calls_and_next_job),
		cmocka_unit_test(test_answer_request_after_call_is_root),
		cmocka_unit_test(test_answer_call_not_waited_for_is_root),
		cmocka_unit_test(test_answer_never_given_times_out),
		cmocka_unit_test(test_answer_not_for_serving_threads),
		cmocka_unit_test(test_answer_loop_backward),
		cmocka_unit_test(test_answer_loop_backward_guards),
		cmocka_unit_test(test_answer_loop_window),
		cmocka_unit_test(test_answer_loop_window_timers_unknown),
		cmocka_unit_test(test_answer_call_during_answer_is_root),
		cmocka_unit_test(test_fork_inherits_until_answered),
		cmocka_unit_test(test_go_threads_are_not_evidence),
		cmocka_unit_test(test_go_without_goid_is_root),
		cmocka_unit_test(test_go_actors_do_not_accumulate),
		cmocka_unit_test(test_go_lineage),
		cmocka_unit_test(test_serving_overflow_is_ambiguous),
		cmocka_unit_test(test_traceparent_adoption_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

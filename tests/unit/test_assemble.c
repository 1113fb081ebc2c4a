/* Span assembly end to end on synthetic ring-buffer records: parentage across
 * processes by TCP sequence, same-thread children, traceparent, ambiguity, errors. */
#include "asm_harness.h"

static struct ws_asm *new_asm(struct captured *out)
{
	struct ws_asm_config cfg;

	harness_config(&cfg);
	return ws_asm_new(&cfg, res_for, NULL, capture, out);
}

static const struct ws_span *find(const struct captured *c, int kind, uint32_t pid)
{
	for (int i = 0; i < c->n; i++)
		if (c->spans[i].kind == kind && c->spans[i].res && c->spans[i].res->pid == pid)
			return &c->spans[i];
	return NULL;
}

static const char REQ_USERS[] = "GET /users/12345?token=abc&x=1 HTTP/1.1\r\nHost: api.local:8080\r\n\r\n";
static const char RESP_OK[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
static const char REQ_B[] = "GET /b/7 HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n\r\n";
static const char RESP_500[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";

static void test_server_span_from_remote_client(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock srv = mksock(0x1000, 200, WS_ROLE_SERVER, 8080, 50000, 1);

	feed(a, &srv, 201, WS_DIR_INGRESS, 10, 1 * MS, 2 * MS, REQ_USERS);
	feed(a, &srv, 201, WS_DIR_EGRESS, 90, 3 * MS, 4 * MS, RESP_OK);
	ws_asm_tick(a, 5 * MS);
	assert_int_equal(out.n, 1);
	const struct ws_span *s = &out.spans[0];
	assert_int_equal(s->kind, WS_KIND_SERVER);
	assert_string_equal(s->name, "GET /users/{id}");
	assert_string_equal(attr_str(s, "http.request.method"), "GET");
	assert_string_equal(attr_str(s, "url.path"), "/users/12345");
	assert_non_null(strstr(attr_str(s, "url.query"), "token=REDACTED"));
	assert_null(strstr(attr_str(s, "url.query"), "abc"));
	assert_int_equal(attr_int(s, "http.response.status_code"), 200);
	assert_string_equal(attr_str(s, "client.address"), "10.9.8.7");
	assert_string_equal(attr_str(s, "network.peer.address"), "10.9.8.7");
	assert_int_equal(attr_int(s, "network.peer.port"), 50000);
	assert_string_equal(attr_str(s, "server.address"), "api.local");
	assert_int_equal(attr_int(s, "server.port"), 8080);
	assert_int_equal(s->start_ns, 2 * MS);   /* exit of the first read */
	assert_int_equal(s->end_ns, 3 * MS);     /* entry of the last write */
	assert_int_equal(s->status_code, WS_STATUS_UNSET);
	assert_true(ws_id_is_zero(s->parent_span_id, 8));
	ws_asm_free(a, 10 * MS);
}

/* client(pid 100) -> A(pid 200) -> B(pid 300) on loopback. Records arrive in the worst
 * order: every server read before the client write of the same bytes. */
static void test_chain_by_seq_and_thread(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock cli = mksock(0x1, 100, WS_ROLE_CLIENT, 40000, 8080, 0);
	struct sock asrv = mksock(0x2, 200, WS_ROLE_SERVER, 8080, 40000, 0);
	struct sock acli = mksock(0x3, 200, WS_ROLE_CLIENT, 40001, 9000, 0);
	struct sock bsrv = mksock(0x4, 300, WS_ROLE_SERVER, 9000, 40001, 0);

	feed(a, &asrv, 201, WS_DIR_INGRESS, 1000, 11 * MS, 12 * MS, REQ_USERS);
	feed(a, &bsrv, 301, WS_DIR_INGRESS, 5000, 14 * MS, 15 * MS, REQ_B);
	feed(a, &acli, 201, WS_DIR_EGRESS, 5000, 13 * MS, 14 * MS, REQ_B);
	feed(a, &bsrv, 301, WS_DIR_EGRESS, 7000, 16 * MS, 17 * MS, RESP_500);
	feed(a, &acli, 201, WS_DIR_INGRESS, 7000, 17 * MS, 18 * MS, RESP_500);
	feed(a, &asrv, 201, WS_DIR_EGRESS, 3000, 19 * MS, 20 * MS, RESP_OK);
	ws_asm_tick(a, 25 * MS);
	assert_int_equal(out.n, 0);   /* all wait for the root client's record */
	feed(a, &cli, 101, WS_DIR_EGRESS, 1000, 10 * MS, 11 * MS, REQ_USERS);
	feed(a, &cli, 101, WS_DIR_INGRESS, 3000, 20 * MS, 21 * MS, RESP_OK);
	ws_asm_tick(a, 30 * MS);
	assert_int_equal(out.n, 4);

	const struct ws_span *root = find(&out, WS_KIND_CLIENT, 100);
	const struct ws_span *as = find(&out, WS_KIND_SERVER, 200);
	const struct ws_span *ac = find(&out, WS_KIND_CLIENT, 200);
	const struct ws_span *bs = find(&out, WS_KIND_SERVER, 300);
	assert_non_null(root);
	assert_non_null(as);
	assert_non_null(ac);
	assert_non_null(bs);
	assert_true(ws_id_is_zero(root->parent_span_id, 8));
	assert_memory_equal(as->parent_span_id, root->span_id, 8);
	assert_memory_equal(ac->parent_span_id, as->span_id, 8);
	assert_memory_equal(bs->parent_span_id, ac->span_id, 8);
	assert_memory_equal(as->trace_id, root->trace_id, 16);
	assert_memory_equal(ac->trace_id, root->trace_id, 16);
	assert_memory_equal(bs->trace_id, root->trace_id, 16);
	/* 500: error on both sides; client start is the write's entry */
	assert_int_equal(bs->status_code, WS_STATUS_ERROR);
	assert_int_equal(ac->status_code, WS_STATUS_ERROR);
	assert_int_equal(as->status_code, WS_STATUS_UNSET);
	assert_int_equal(ac->start_ns, 13 * MS);
	assert_int_equal(ac->end_ns, 18 * MS);
	assert_string_equal(attr_str(ac, "url.full"), "http://127.0.0.1:9000/b/7");
	assert_string_equal(attr_str(root, "url.full"), "http://api.local:8080/users/12345?token=REDACTED&x=1");
	ws_asm_free(a, 40 * MS);
}

static void test_traceparent_adopted(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock srv = mksock(0x10, 200, WS_ROLE_SERVER, 8080, 40000, 0);
	const char *req = "GET / HTTP/1.1\r\nHost: x\r\n"
			  "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n";

	feed(a, &srv, 201, WS_DIR_INGRESS, 1, 1 * MS, 2 * MS, req);
	feed(a, &srv, 201, WS_DIR_EGRESS, 1, 3 * MS, 4 * MS, RESP_OK);
	ws_asm_tick(a, 5 * MS);   /* no wait for a local client: the header decided it */
	assert_int_equal(out.n, 1);
	char hex[33];
	ws_hex(hex, out.spans[0].trace_id, 16);
	assert_string_equal(hex, "4bf92f3577b34da6a3ce929d0e0e4736");
	ws_hex(hex, out.spans[0].parent_span_id, 8);
	assert_string_equal(hex, "00f067aa0ba902b7");
	assert_int_equal(out.spans[0].trace_flags, 1);
	ws_asm_free(a, 10 * MS);
}

static void inject_rec(struct ws_asm *a, const struct sock *s, uint32_t tid, uint64_t ts, uint8_t tag)
{
	struct ws_inject_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.type = WS_EV_INJECT;
	e.hdr.size = sizeof(e);
	e.hdr.ts_ns = ts;
	e.pid = s->pid;
	e.tid = tid;
	memset(e.trace_id, tag, 16);
	memset(e.span_id, tag, 8);
	e.offset = 16;
	e.len = WS_INJ_HDR_LEN;
	e.lport = s->t.sport;
	e.rport = s->t.dport;
	assert_int_equal(ws_asm_record(a, &e, sizeof(e)), 0);
}

/* Two requests on one keep-alive connection, each with a traceparent the kernel inserted:
 * the sender's record seq counts every inserted byte so far (its own write's too), its
 * bytes only what it wrote. Both requests parse (no gap) and keep the injected ids. */
static void test_injected_keepalive_stream(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock cli = mksock(0x21, 100, WS_ROLE_CLIENT, 40000, 8080, 0);
	const char *r1 = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *r2 = "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
	uint32_t n1 = (uint32_t)strlen(r1), n2 = (uint32_t)strlen(r2);
	uint32_t rs = (uint32_t)strlen(RESP_OK);
	uint8_t want[16];

	inject_rec(a, &cli, 101, 1 * MS + 500, 0xa1);
	feed(a, &cli, 101, WS_DIR_EGRESS, 1000 + WS_INJ_HDR_LEN, 1 * MS, 2 * MS, r1);
	feed(a, &cli, 101, WS_DIR_INGRESS, 5000, 3 * MS, 4 * MS, RESP_OK);
	inject_rec(a, &cli, 101, 5 * MS + 500, 0xb2);
	feed(a, &cli, 101, WS_DIR_EGRESS, 1000 + n1 + 2 * WS_INJ_HDR_LEN, 5 * MS, 6 * MS, r2);
	feed(a, &cli, 101, WS_DIR_INGRESS, 5000 + rs, 7 * MS, 8 * MS, RESP_OK);
	ws_asm_tick(a, 10 * MS);
	assert_int_equal(out.n, 2);
	const struct ws_span *sa = strcmp(attr_str(&out.spans[0], "url.path"), "/a") == 0 ? &out.spans[0] : &out.spans[1];
	const struct ws_span *sb = sa == &out.spans[0] ? &out.spans[1] : &out.spans[0];
	assert_string_equal(attr_str(sa, "url.path"), "/a");
	assert_string_equal(attr_str(sb, "url.path"), "/b");
	memset(want, 0xa1, 16);
	assert_memory_equal(sa->span_id, want, 8);
	assert_memory_equal(sa->trace_id, want, 16);
	memset(want, 0xb2, 16);
	assert_memory_equal(sb->span_id, want, 8);
	assert_memory_equal(sb->trace_id, want, 16);
	(void)n2;
	ws_asm_free(a, 20 * MS);
}

/* A TLS record (WS_F_TLS plaintext, or WS_F_CIPHER ciphertext of bytes length) */
static void feed_tls(struct ws_asm *a, const struct sock *s, uint32_t tid, uint8_t dir, uint32_t seq,
		     uint16_t flags, uint32_t bytes, uint64_t t, const char *payload)
{
	uint8_t buf[sizeof(struct ws_data_event) + 512];
	struct ws_data_event *e = (void *)buf;
	size_t n = payload ? strlen(payload) : 0;

	memset(e, 0, sizeof(*e));
	e->hdr.type = WS_EV_DATA;
	e->hdr.flags = flags;
	e->hdr.size = (uint32_t)(sizeof(*e) + n);
	e->hdr.ts_ns = t + 1000;
	e->sock_id = s->id;
	e->pid = s->pid;
	e->tid = tid;
	e->enter_ns = t;
	e->exit_ns = t + 1000;
	e->seq = seq;
	e->bytes = payload ? (uint32_t)n : bytes;
	e->captured = (uint32_t)n;
	e->fd = 5;
	e->dir = dir;
	e->role = s->role;
	e->syscall = (flags & WS_F_TLS) ? (dir == WS_DIR_INGRESS ? WS_SYS_SSL_READ : WS_SYS_SSL_WRITE) : WS_SYS_WRITE;
	e->tuple = s->t;
	memcpy(buf + sizeof(*e), payload ? payload : "", n);
	assert_int_equal(ws_asm_record(a, buf, e->hdr.size), 0);
}

/* Two TLS records in one ciphertext read: the library serves the second from its buffer,
 * with no position of its own. It is placed after the first (seq + plaintext + the record
 * overhead the server's own write showed, 29), and its SERVER span links to the CLIENT
 * span that wrote it (rule 3). */
static void test_tls_record_from_buffer_placed(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock cli = mksock(0x31, 100, WS_ROLE_CLIENT, 40000, 8080, 0);
	struct sock srv = mksock(0x32, 200, WS_ROLE_SERVER, 8080, 40000, 0);
	const char *r1 = "GET /one HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *r2 = "GET /two HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *r3 = "GET /three HTTP/1.1\r\nHost: x\r\n\r\n";
	uint32_t n1 = (uint32_t)strlen(r1), n2 = (uint32_t)strlen(r2), n3 = (uint32_t)strlen(r3);
	uint32_t rs = (uint32_t)strlen(RESP_OK), ov = 29;
	uint32_t s1 = 1000, s2 = s1 + n1 + ov, s3 = s2 + n2 + ov, o1 = 7000;

	/* request 1 and its answer: the server's write shows the overhead */
	feed_tls(a, &cli, 101, WS_DIR_EGRESS, s1, WS_F_CIPHER, n1 + ov, 1 * MS, NULL);
	feed_tls(a, &cli, 101, WS_DIR_EGRESS, s1, WS_F_TLS, 0, 1 * MS, r1);
	feed_tls(a, &srv, 201, WS_DIR_INGRESS, s1, WS_F_CIPHER, n1 + ov, 2 * MS, NULL);
	feed_tls(a, &srv, 201, WS_DIR_INGRESS, s1, WS_F_TLS, 0, 2 * MS, r1);
	feed_tls(a, &srv, 201, WS_DIR_EGRESS, o1, WS_F_CIPHER, rs + ov, 3 * MS, NULL);
	feed_tls(a, &srv, 201, WS_DIR_EGRESS, o1, WS_F_TLS, 0, 3 * MS, RESP_OK);
	feed_tls(a, &cli, 101, WS_DIR_INGRESS, o1, WS_F_CIPHER, rs + ov, 4 * MS, NULL);
	feed_tls(a, &cli, 101, WS_DIR_INGRESS, o1, WS_F_TLS, 0, 4 * MS, RESP_OK);
	/* requests 2 and 3 written apart, read in one read; the second record from the buffer */
	feed_tls(a, &cli, 101, WS_DIR_EGRESS, s2, WS_F_CIPHER, n2 + ov, 5 * MS, NULL);
	feed_tls(a, &cli, 101, WS_DIR_EGRESS, s2, WS_F_TLS, 0, 5 * MS, r2);
	feed_tls(a, &cli, 101, WS_DIR_EGRESS, s3, WS_F_CIPHER, n3 + ov, 6 * MS, NULL);
	feed_tls(a, &cli, 101, WS_DIR_EGRESS, s3, WS_F_TLS, 0, 6 * MS, r3);
	feed_tls(a, &srv, 201, WS_DIR_INGRESS, s2, WS_F_CIPHER, n2 + ov + n3 + ov, 7 * MS, NULL);
	feed_tls(a, &srv, 201, WS_DIR_INGRESS, s2, WS_F_TLS, 0, 7 * MS, r2);
	feed_tls(a, &srv, 201, WS_DIR_INGRESS, 0, WS_F_TLS | WS_F_NO_SEQ, 0, 8 * MS, r3);
	uint32_t o2 = o1 + rs + ov, o3 = o2 + rs + ov;
	feed_tls(a, &srv, 201, WS_DIR_EGRESS, o2, WS_F_CIPHER, rs + ov, 9 * MS, NULL);
	feed_tls(a, &srv, 201, WS_DIR_EGRESS, o2, WS_F_TLS, 0, 9 * MS, RESP_OK);
	feed_tls(a, &srv, 201, WS_DIR_EGRESS, o3, WS_F_CIPHER, rs + ov, 10 * MS, NULL);
	feed_tls(a, &srv, 201, WS_DIR_EGRESS, o3, WS_F_TLS, 0, 10 * MS, RESP_OK);
	feed_tls(a, &cli, 101, WS_DIR_INGRESS, o2, WS_F_CIPHER, 2 * (rs + ov), 11 * MS, NULL);
	feed_tls(a, &cli, 101, WS_DIR_INGRESS, o2, WS_F_TLS, 0, 11 * MS, RESP_OK);
	feed_tls(a, &cli, 101, WS_DIR_INGRESS, o3, WS_F_TLS, 0, 12 * MS, RESP_OK);
	ws_asm_tick(a, 20 * MS);
	assert_int_equal(out.n, 6);

	const struct ws_span *c3 = NULL, *s3p = NULL;
	for (int i = 0; i < out.n; i++) {
		const char *p = attr_str(&out.spans[i], "url.path");

		if (p && strcmp(p, "/three") == 0) {
			if (out.spans[i].kind == WS_KIND_CLIENT)
				c3 = &out.spans[i];
			else
				s3p = &out.spans[i];
		}
	}
	assert_non_null(c3);
	assert_non_null(s3p);
	assert_memory_equal(s3p->parent_span_id, c3->span_id, 8);
	assert_memory_equal(s3p->trace_id, c3->trace_id, 16);
	(void)n3;
	ws_asm_free(a, 30 * MS);
}

/* A memory BIO's ciphertext write with its first records' lengths (WS_F_TLS_RECS). */
static void feed_cipher_recs(struct ws_asm *a, const struct sock *s, uint32_t tid, uint32_t seq, uint64_t t,
			     const uint16_t *recs, unsigned k)
{
	uint8_t buf[sizeof(struct ws_data_event) + 2 * WS_TLS_MAX_RECS];
	struct ws_data_event *e = (void *)buf;
	uint32_t bytes = 0;

	memset(buf, 0, sizeof(buf));
	for (unsigned i = 0; i < k; i++)
		bytes += 5 + (recs[i] & (uint16_t)~WS_TLS_REC_NOT_APP);
	e->hdr.type = WS_EV_DATA;
	e->hdr.flags = WS_F_CIPHER | WS_F_TLS_RECS;
	e->hdr.size = (uint32_t)(sizeof(*e) + 2 * k);
	e->hdr.ts_ns = t + 1000;
	e->sock_id = s->id;
	e->pid = s->pid;
	e->tid = tid;
	e->enter_ns = t;
	e->exit_ns = t + 1000;
	e->seq = seq;
	e->bytes = bytes;
	e->captured = 2 * k;
	e->fd = 5;
	e->dir = WS_DIR_EGRESS;
	e->role = s->role;
	e->syscall = WS_SYS_WRITE;
	e->tuple = s->t;
	memcpy(buf + sizeof(*e), recs, 2 * k);
	assert_int_equal(ws_asm_record(a, buf, e->hdr.size), 0);
}

static const struct ws_span *span_by_path(const struct captured *out, uint8_t kind, const char *path)
{
	for (int i = 0; i < out->n; i++) {
		const char *p = attr_str(&out->spans[i], "url.path");

		if (out->spans[i].kind == kind && p && strcmp(p, path) == 0)
			return &out->spans[i];
	}
	return NULL;
}

/* A memory-BIO client (node, grpc, asyncio): SSL_write has no seq, the runtime writes
 * the ciphertext afterwards, and the kernel sends the write's record lengths. Two
 * plaintext writes before one ciphertext write: that write begins with the first one's
 * record, so only /a (first write) gets its position; /b sits after it and gets none
 * (its SERVER span a root, never /a's). Then one plaintext write holding two pipelined
 * requests: /c at the record's start, /d at the record's seq + its offset, both linked.
 * Then a new TLS 1.3 connection's first request written with the handshake's
 * ChangeCipherSpec and Finished (53, marked not application data) in one write: /e is
 * in the third record. A write whose records do not show
 * /f's (no lengths: it began inside a record) gives /f no position. */
static void test_tls_memory_bio_writes(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock cli = mksock(0x41, 100, WS_ROLE_CLIENT, 40000, 8443, 0);
	struct sock srv = mksock(0x42, 200, WS_ROLE_SERVER, 8443, 40000, 0);
	const char *ra = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *rb = "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *rcd = "GET /c HTTP/1.1\r\nHost: x\r\n\r\nGET /d HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *rd = "GET /d HTTP/1.1\r\nHost: x\r\n\r\n";
	uint32_t na = (uint32_t)strlen(ra), nb = (uint32_t)strlen(rb), ncd = (uint32_t)strlen(rcd);
	uint32_t nc = ncd - (uint32_t)strlen(rd), rs = (uint32_t)strlen(RESP_OK), ov = 22;
	uint32_t s1 = 5000, s2 = s1 + na + ov, s3 = s2 + nb + ov, o1 = 9000;

	feed_tls(a, &cli, 101, WS_DIR_EGRESS, 0, WS_F_TLS | WS_F_NO_SEQ, 0, 1 * MS, ra);
	feed_tls(a, &cli, 101, WS_DIR_EGRESS, 0, WS_F_TLS | WS_F_NO_SEQ, 0, 2 * MS, rb);
	uint16_t rab[] = { (uint16_t)(na + ov - 5), (uint16_t)(nb + ov - 5) };
	feed_cipher_recs(a, &cli, 101, s1, 3 * MS, rab, 2);
	feed_tls(a, &srv, 201, WS_DIR_INGRESS, s1, WS_F_TLS, 0, 4 * MS, ra);
	feed_tls(a, &srv, 201, WS_DIR_EGRESS, o1, WS_F_TLS, 0, 5 * MS, RESP_OK);
	feed_tls(a, &srv, 201, WS_DIR_INGRESS, s2, WS_F_TLS, 0, 6 * MS, rb);
	feed_tls(a, &srv, 201, WS_DIR_EGRESS, o1 + rs + ov, WS_F_TLS, 0, 7 * MS, RESP_OK);
	feed_tls(a, &cli, 101, WS_DIR_INGRESS, o1, WS_F_TLS, 0, 8 * MS, RESP_OK);
	feed_tls(a, &cli, 101, WS_DIR_INGRESS, o1 + rs + ov, WS_F_TLS, 0, 9 * MS, RESP_OK);
	/* the pipelined pair: one plaintext write, one record */
	feed_tls(a, &cli, 101, WS_DIR_EGRESS, 0, WS_F_TLS | WS_F_NO_SEQ, 0, 10 * MS, rcd);
	uint16_t rcdl[] = { (uint16_t)(ncd + ov - 5) };
	feed_cipher_recs(a, &cli, 101, s3, 11 * MS, rcdl, 1);
	feed_tls(a, &srv, 201, WS_DIR_INGRESS, s3, WS_F_TLS, 0, 12 * MS, rcd);
	uint32_t o3 = o1 + 2 * (rs + ov);
	feed_tls(a, &srv, 201, WS_DIR_EGRESS, o3, WS_F_TLS, 0, 13 * MS, RESP_OK);
	feed_tls(a, &srv, 201, WS_DIR_EGRESS, o3 + rs + ov, WS_F_TLS, 0, 14 * MS, RESP_OK);
	feed_tls(a, &cli, 101, WS_DIR_INGRESS, o3, WS_F_TLS, 0, 15 * MS, RESP_OK);
	feed_tls(a, &cli, 101, WS_DIR_INGRESS, o3 + rs + ov, WS_F_TLS, 0, 16 * MS, RESP_OK);
	/* a new connection: Finished and the first request in one ciphertext write */
	struct sock cli2 = mksock(0x43, 100, WS_ROLE_CLIENT, 40002, 8443, 0);
	struct sock srv2 = mksock(0x44, 200, WS_ROLE_SERVER, 8443, 40002, 0);
	const char *re = "GET /e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	const char *rf = "GET /f HTTP/1.1\r\nHost: x\r\n\r\n";
	uint32_t ne = (uint32_t)strlen(re), s5 = 20000, o5 = 30000;
	feed_tls(a, &cli2, 102, WS_DIR_EGRESS, 0, WS_F_TLS | WS_F_NO_SEQ, 0, 17 * MS, re);
	uint16_t rfe[] = { 1 | WS_TLS_REC_NOT_APP, 53 | WS_TLS_REC_NOT_APP, (uint16_t)(ne + ov - 5) };
	feed_cipher_recs(a, &cli2, 102, s5, 18 * MS, rfe, 3);
	feed_tls(a, &srv2, 202, WS_DIR_INGRESS, s5 + 6 + 58, WS_F_TLS, 0, 19 * MS, re);
	feed_tls(a, &srv2, 202, WS_DIR_EGRESS, o5, WS_F_TLS, 0, 20 * MS, RESP_OK);
	feed_tls(a, &cli2, 102, WS_DIR_INGRESS, o5, WS_F_TLS, 0, 21 * MS, RESP_OK);
	/* /f: the ciphertext write brings no record lengths */
	feed_tls(a, &cli, 101, WS_DIR_EGRESS, 0, WS_F_TLS | WS_F_NO_SEQ, 0, 22 * MS, rf);
	uint32_t s6 = s3 + ncd + ov, o6 = o3 + 2 * (rs + ov);
	feed_tls(a, &cli, 101, WS_DIR_EGRESS, s6, WS_F_CIPHER, (uint32_t)strlen(rf) + ov, 23 * MS, NULL);
	feed_tls(a, &srv, 201, WS_DIR_INGRESS, s6, WS_F_TLS, 0, 24 * MS, rf);
	feed_tls(a, &srv, 201, WS_DIR_EGRESS, o6, WS_F_TLS, 0, 25 * MS, RESP_OK);
	feed_tls(a, &cli, 101, WS_DIR_INGRESS, o6, WS_F_TLS, 0, 26 * MS, RESP_OK);
	ws_asm_tick(a, 30 * MS);
	ws_asm_tick(a, 500 * MS);   /* /b's and /f's SERVER spans wait for a client's bytes, in vain */
	assert_int_equal(out.n, 12);

	const char *paths[] = { "/a", "/b", "/c", "/d", "/e", "/f" };
	const bool linked[] = { true, false, true, true, true, false };
	for (int i = 0; i < 6; i++) {
		const struct ws_span *c = span_by_path(&out, WS_KIND_CLIENT, paths[i]);
		const struct ws_span *sv = span_by_path(&out, WS_KIND_SERVER, paths[i]);

		assert_non_null(c);
		assert_non_null(sv);
		if (linked[i]) {
			assert_memory_equal(sv->parent_span_id, c->span_id, 8);
			assert_memory_equal(sv->trace_id, c->trace_id, 16);
		} else {
			assert_true(ws_id_is_zero(sv->parent_span_id, 8));
		}
	}
	assert_int_equal(ws_asm_stats(a)->tls_seq_not_first, 1);
	assert_int_equal(ws_asm_stats(a)->tls_seq_no_record, 1);
	assert_int_equal(ws_asm_stats(a)->tls_seq_from_cipher, 4);
	(void)nc;
	ws_asm_free(a, 600 * MS);
}

/* A thread that has read two requests and answered neither writes a client request:
 * which one caused it is unknowable, so it becomes a root, not a guess. */
static void test_ambiguous_thread_gives_root(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock s1 = mksock(0x20, 200, WS_ROLE_SERVER, 8080, 40000, 1);
	struct sock s2 = mksock(0x21, 200, WS_ROLE_SERVER, 8080, 40002, 1);
	struct sock up = mksock(0x22, 200, WS_ROLE_CLIENT, 40003, 9000, 1);

	feed(a, &s1, 201, WS_DIR_INGRESS, 1, 1 * MS, 2 * MS, REQ_USERS);
	feed(a, &s2, 201, WS_DIR_INGRESS, 1, 2 * MS, 3 * MS, REQ_USERS);
	feed(a, &up, 201, WS_DIR_EGRESS, 1, 4 * MS, 5 * MS, REQ_B);
	feed(a, &up, 201, WS_DIR_INGRESS, 1, 6 * MS, 7 * MS, RESP_OK);
	ws_asm_tick(a, 8 * MS);
	const struct ws_span *c = find(&out, WS_KIND_CLIENT, 200);
	assert_non_null(c);
	assert_true(ws_id_is_zero(c->parent_span_id, 8));
	ws_asm_free(a, 10 * MS);
}

static void test_garbage_makes_no_span(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock srv = mksock(0x30, 200, WS_ROLE_SERVER, 8080, 40000, 1);

	feed(a, &srv, 201, WS_DIR_INGRESS, 1, 1 * MS, 2 * MS, "\x16\x03\x01\x02\x00garbage-not-http\r\n\r\n");
	feed(a, &srv, 201, WS_DIR_EGRESS, 1, 3 * MS, 4 * MS, RESP_OK);
	ws_asm_tick(a, 5 * MS);
	assert_int_equal(out.n, 0);
	assert_true(ws_asm_stats(a)->parse_errors >= 1);
	ws_asm_free(a, 10 * MS);
}

static void test_closed_before_response_is_error_span(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock cli = mksock(0x40, 100, WS_ROLE_CLIENT, 40000, 8080, 1);
	uint8_t buf[sizeof(struct ws_data_event)];
	struct ws_data_event *e = (void *)buf;

	feed(a, &cli, 101, WS_DIR_EGRESS, 1, 1 * MS, 2 * MS, REQ_B);
	memset(e, 0, sizeof(*e));
	e->hdr.type = WS_EV_DATA;
	e->hdr.flags = WS_F_EOF;
	e->hdr.size = sizeof(*e);
	e->sock_id = cli.id;
	e->pid = 100;
	e->tid = 101;
	e->enter_ns = 3 * MS;
	e->exit_ns = 9 * MS;
	e->dir = WS_DIR_INGRESS;
	e->role = WS_ROLE_CLIENT;
	e->tuple = cli.t;
	assert_int_equal(ws_asm_record(a, buf, sizeof(buf)), 0);
	ws_asm_tick(a, 10 * MS);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.spans[0].status_code, WS_STATUS_ERROR);
	assert_int_equal(ws_span_find_attr(&out.spans[0], "http.response.status_code"), NULL);
	assert_int_equal(ws_asm_stats(a)->proto[WS_PROTO_HTTP1].no_response, 1);
	ws_asm_free(a, 20 * MS);
}

static void send_eof(struct ws_asm *a, const struct sock *s, uint32_t tid, uint64_t t)
{
	uint8_t buf[sizeof(struct ws_data_event)];
	struct ws_data_event *e = (void *)buf;

	memset(e, 0, sizeof(*e));
	e->hdr.type = WS_EV_DATA;
	e->hdr.flags = WS_F_EOF;
	e->hdr.size = sizeof(*e);
	e->sock_id = s->id;
	e->pid = s->pid;
	e->tid = tid;
	e->enter_ns = t - 1;
	e->exit_ns = t;
	e->dir = WS_DIR_INGRESS;
	e->role = s->role;
	e->tuple = s->t;
	assert_int_equal(ws_asm_record(a, buf, sizeof(buf)), 0);
}

/* The client shuts down its sending side after the request; the server still answers. */
static void test_half_close_server_still_answers(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock srv = mksock(0x50, 200, WS_ROLE_SERVER, 8080, 40000, 1);

	feed(a, &srv, 201, WS_DIR_INGRESS, 1, 1 * MS, 2 * MS, REQ_B);
	send_eof(a, &srv, 201, 3 * MS);
	feed(a, &srv, 201, WS_DIR_EGRESS, 1, 4 * MS, 5 * MS, RESP_OK);
	ws_asm_tick(a, 6 * MS);
	assert_int_equal(out.n, 1);
	assert_int_equal(attr_int(&out.spans[0], "http.response.status_code"), 200);
	ws_asm_free(a, 10 * MS);
}

/* A close-delimited response (HTTP/1.0, no length) ends at the client's EOF read. */
static void test_close_delimited_response_ends_at_eof(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock cli = mksock(0x60, 100, WS_ROLE_CLIENT, 40000, 8080, 1);

	feed(a, &cli, 101, WS_DIR_EGRESS, 1, 1 * MS, 2 * MS, "GET /x HTTP/1.0\r\n\r\n");
	feed(a, &cli, 101, WS_DIR_INGRESS, 1, 3 * MS, 4 * MS, "HTTP/1.0 200 OK\r\n\r\nbody...");
	feed(a, &cli, 101, WS_DIR_INGRESS, 27, 5 * MS, 6 * MS, "more body");
	ws_asm_tick(a, 7 * MS);
	assert_int_equal(out.n, 0);
	send_eof(a, &cli, 101, 8 * MS);
	ws_asm_tick(a, 9 * MS);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.spans[0].start_ns, 1 * MS);
	assert_int_equal(out.spans[0].end_ns, 6 * MS);   /* last byte read, not the EOF */
	ws_asm_free(a, 10 * MS);
}

#define TCP_CLOSE 7

static void sock_open(struct ws_asm *a, const struct sock *s, uint64_t ts)
{
	sock_event(a, s, WS_SOCK_OPEN, s->role == WS_ROLE_SERVER ? WS_SYS_ACCEPT4 :
		   s->role == WS_ROLE_CLIENT ? WS_SYS_CONNECT : WS_SYS_READ, 0, ts);
}

static void sock_close(struct ws_asm *a, const struct sock *s, uint64_t ts)
{
	sock_event(a, s, WS_SOCK_STATE, WS_SYS_STATE, TCP_CLOSE, ts);
}

static int64_t report_value(const struct ws_asm *a, const char *name)
{
	char *buf = NULL, line[128];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int64_t v = -1;

	assert_non_null(f);
	ws_asm_report(a, f);
	fclose(f);
	snprintf(line, sizeof(line), "  %s ", name);
	char *p = strstr(buf, line);
	if (p)
		v = strtoll(p + strlen(line), NULL, 10);
	free(buf);
	return v;
}

static void assert_conns_balance(const struct ws_asm *a)
{
	assert_int_equal(report_value(a, "connections_opened"),
			 report_value(a, "connections_tracked") + report_value(a, "connections_closed") +
			 report_value(a, "connections_evicted") + report_value(a, "connections_expired") +
			 report_value(a, "connections_removed"));
}

/* A health check: connect, then close while the server is not accepting yet. The server
 * accepts it already reset (TCP_CLOSE, local port cleared): no state change ever ends
 * it. The kernel then hands the same struct sock to the next accepted connection, from
 * a client on this host. That is a new connection: its server span must wait for and
 * link to the client span by TCP seq, not wait on the probe's tuple and time out. */
static void test_health_check_sock_reused_by_accept(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock probe = mksock(0x500, 200, WS_ROLE_SERVER, 0, 50001, 0);
	struct sock cli = mksock(0x1, 100, WS_ROLE_CLIENT, 40000, 8080, 0);
	struct sock srv = mksock(0x500, 200, WS_ROLE_SERVER, 8080, 40000, 0);

	sock_open(a, &probe, 1 * MS);
	sock_open(a, &cli, 10 * MS);
	sock_open(a, &srv, 11 * MS);
	feed(a, &cli, 101, WS_DIR_EGRESS, 1000, 12 * MS, 13 * MS, REQ_USERS);
	feed(a, &srv, 201, WS_DIR_INGRESS, 1000, 13 * MS, 14 * MS, REQ_USERS);
	feed(a, &srv, 201, WS_DIR_EGRESS, 3000, 15 * MS, 16 * MS, RESP_OK);
	feed(a, &cli, 101, WS_DIR_INGRESS, 3000, 16 * MS, 17 * MS, RESP_OK);
	ws_asm_tick(a, 20 * MS);
	ws_asm_tick(a, 1000 * MS);        /* past link_wait_ns: a wrong wait has timed out */
	assert_int_equal(out.n, 2);
	const struct ws_span *c = find(&out, WS_KIND_CLIENT, 100);
	const struct ws_span *s = find(&out, WS_KIND_SERVER, 200);
	assert_non_null(c);
	assert_non_null(s);
	assert_memory_equal(s->parent_span_id, c->span_id, 8);
	assert_memory_equal(s->trace_id, c->trace_id, 16);
	assert_int_equal(attr_int(s, "client.port"), 40000);
	assert_int_equal(attr_int(s, "server.port"), 8080);
	assert_int_equal(report_value(a, "parent_root_peer_timeout"), 0);
	assert_int_equal(report_value(a, "parent_tcp_seq"), 1);
	assert_int_equal(report_value(a, "connections_replaced"), 1);
	assert_conns_balance(a);
	ws_asm_free(a, 1000 * MS);
}

/* Same sock id, same role, same tuple: accepted again after TCP_CLOSE, within the close
 * grace. The old connection stopped in the middle of a request's headers; the new one
 * must start with a fresh parser, not append its request to the old bytes. */
static void test_reaccept_same_tuple_fresh_parser(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock srv = mksock(0x600, 200, WS_ROLE_SERVER, 8080, 40000, 1);

	sock_open(a, &srv, 1 * MS);
	feed(a, &srv, 201, WS_DIR_INGRESS, 1, 2 * MS, 3 * MS, "POST /old/1 HTTP/1.1\r\nHost: x\r\nContent-Le");
	sock_close(a, &srv, 4 * MS);
	sock_open(a, &srv, 5 * MS);
	feed(a, &srv, 201, WS_DIR_INGRESS, 7, 6 * MS, 7 * MS, REQ_USERS);
	feed(a, &srv, 201, WS_DIR_EGRESS, 9, 8 * MS, 9 * MS, RESP_OK);
	ws_asm_tick(a, 10 * MS);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.spans[0].name, "GET /users/{id}");
	assert_int_equal(attr_int(&out.spans[0], "http.response.status_code"), 200);
	assert_int_equal(out.spans[0].start_ns, 7 * MS);
	assert_int_equal(out.spans[0].status_code, WS_STATUS_UNSET);
	assert_int_equal(ws_asm_stats(a)->parse_errors, 0);
	ws_asm_tick(a, 500 * MS);
	assert_int_equal(out.n, 1);
	assert_conns_balance(a);
	ws_asm_free(a, 1000 * MS);
}

/* The kernel forgot the socket (its LRU state map) and learns it again on first use:
 * that open (role unknown, a data syscall) names the live connection; the request in
 * progress on it must complete. */
static void test_first_use_open_keeps_live_connection(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock srv = mksock(0x700, 200, WS_ROLE_SERVER, 8080, 40000, 1);
	struct sock again = srv;

	again.role = WS_ROLE_UNKNOWN;
	sock_open(a, &srv, 1 * MS);
	feed(a, &srv, 201, WS_DIR_INGRESS, 1, 2 * MS, 3 * MS, "GET /users/12345 HTTP/1.1\r\nHo");
	sock_open(a, &again, 4 * MS);
	feed(a, &again, 201, WS_DIR_INGRESS, 30, 4 * MS, 5 * MS, "st: api.local\r\n\r\n");
	feed(a, &again, 201, WS_DIR_EGRESS, 9, 6 * MS, 7 * MS, RESP_OK);
	ws_asm_tick(a, 10 * MS);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.spans[0].name, "GET /users/{id}");
	assert_int_equal(attr_int(&out.spans[0], "http.response.status_code"), 200);
	assert_int_equal(report_value(a, "connections_opened"), 1);
	assert_int_equal(report_value(a, "connections_replaced"), 0);
	ws_asm_free(a, 20 * MS);
}

/* TCP_CLOSE with a request still unanswered: after the grace period (late records may
 * still come) the request ends as an error span, not silently. */
static void test_tcp_close_finishes_pending_after_grace(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	struct sock srv = mksock(0x800, 200, WS_ROLE_SERVER, 8080, 40000, 1);

	sock_open(a, &srv, 1 * MS);
	feed(a, &srv, 201, WS_DIR_INGRESS, 1, 2 * MS, 3 * MS, REQ_USERS);
	sock_close(a, &srv, 10 * MS);
	ws_asm_tick(a, 109 * MS);         /* grace is 100 ms */
	assert_int_equal(out.n, 0);
	assert_int_equal(report_value(a, "connections_tracked"), 1);
	ws_asm_tick(a, 110 * MS);
	assert_int_equal(out.n, 1);
	const struct ws_span *s = &out.spans[0];
	assert_int_equal(s->kind, WS_KIND_SERVER);
	assert_int_equal(s->status_code, WS_STATUS_ERROR);
	assert_string_equal(s->status_message, "connection closed before the response completed");
	assert_string_equal(attr_str(s, "error.type"), "connection_closed");
	assert_null(ws_span_find_attr(s, "http.response.status_code"));
	assert_int_equal(s->start_ns, 3 * MS);
	assert_int_equal(s->end_ns, 110 * MS);
	assert_int_equal(ws_asm_stats(a)->proto[WS_PROTO_HTTP1].no_response, 1);
	assert_int_equal(report_value(a, "connections_closed"), 1);
	assert_int_equal(report_value(a, "connections_tracked"), 0);
	assert_conns_balance(a);
	ws_asm_free(a, 200 * MS);
}

static void test_malformed_records_counted(void **state)
{
	struct captured out = { .n = 0 };
	struct ws_asm *a = new_asm(&out);
	uint8_t buf[sizeof(struct ws_data_event) + 8];
	struct ws_data_event *e = (void *)buf;

	memset(buf, 0, sizeof(buf));
	assert_int_equal(ws_asm_record(a, buf, 3), -22);           /* shorter than a header */
	e->hdr.type = 99;
	e->hdr.size = sizeof(buf);
	assert_int_equal(ws_asm_record(a, buf, sizeof(buf)), -22); /* unknown type */
	e->hdr.type = WS_EV_DATA;
	e->bytes = 4;
	e->captured = 100;                                          /* captured > bytes */
	assert_int_equal(ws_asm_record(a, buf, sizeof(buf)), -22);
	e->bytes = 1000;
	e->captured = 100;                                          /* beyond the record */
	assert_int_equal(ws_asm_record(a, buf, sizeof(buf)), -22);
	assert_int_equal(ws_asm_stats(a)->records_malformed, 4);
	ws_asm_free(a, 0);
}

static void test_addr_str(void **state)
{
	uint8_t v4[16], v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	char buf[64];

	addr4(v4, 192, 168, 1, 20);
	ws_addr_str(v4, buf, sizeof(buf));
	assert_string_equal(buf, "192.168.1.20");
	ws_addr_str(v6, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_span_from_remote_client),
		cmocka_unit_test(test_chain_by_seq_and_thread),
		cmocka_unit_test(test_traceparent_adopted),
		cmocka_unit_test(test_ambiguous_thread_gives_root),
		cmocka_unit_test(test_garbage_makes_no_span),
		cmocka_unit_test(test_closed_before_response_is_error_span),
		cmocka_unit_test(test_half_close_server_still_answers),
		cmocka_unit_test(test_close_delimited_response_ends_at_eof),
		cmocka_unit_test(test_health_check_sock_reused_by_accept),
		cmocka_unit_test(test_reaccept_same_tuple_fresh_parser),
		cmocka_unit_test(test_first_use_open_keeps_live_connection),
		cmocka_unit_test(test_tcp_close_finishes_pending_after_grace),
		cmocka_unit_test(test_malformed_records_counted),
		cmocka_unit_test(test_addr_str),
		cmocka_unit_test(test_injected_keepalive_stream),
		cmocka_unit_test(test_tls_record_from_buffer_placed),
		cmocka_unit_test(test_tls_memory_bio_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The parser registry (proto.h) and the helpers every parser shares. Adding a protocol:
 * its ops here, in the order detection tries them (most specific byte patterns first;
 * HTTP/1 last among the text protocols because its detection is the loosest).
 */
#include "proto.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "../../headers/wirespan_abi.h"
#include "../span.h"

/* Each parser's ops (defined in its own file). */
extern const struct ws_proto_ops ws_proto_dns;
extern const struct ws_proto_ops ws_proto_http1;
extern const struct ws_proto_ops ws_proto_http2;
extern const struct ws_proto_ops ws_proto_mysql;
extern const struct ws_proto_ops ws_proto_postgres;
extern const struct ws_proto_ops ws_proto_redis;

static const struct ws_proto_ops *const registry[] = {
	&ws_proto_postgres,   /* binary: a startup/SSL request, or a Q/P message with printable SQL */
	&ws_proto_mysql,      /* binary: the server handshake v10, or a COM_QUERY with seq 0 */
	&ws_proto_http2,      /* the connection preface only */
	&ws_proto_dns,        /* binary: a header with QDCOUNT 1 and a question parsing exactly */
	&ws_proto_redis,      /* text: *N\r\n$M\r\n, inline commands by known words only */
	&ws_proto_http1,      /* last of the text protocols: its detection is the loosest */
	NULL,   /* end */
};

size_t ws_proto_count(void)
{
	return sizeof(registry) / sizeof(registry[0]) - 1;
}

const struct ws_proto_ops *ws_proto_at(size_t i)
{
	return i < ws_proto_count() ? registry[i] : NULL;
}

const struct ws_proto_ops *ws_proto_by_id(unsigned id)
{
	for (size_t i = 0; i < ws_proto_count(); i++)
		if (registry[i]->id == id)
			return registry[i];
	return NULL;
}

void ws_msg_times_add(struct ws_msg_times *t, const struct ws_chunk *ch, uint32_t off)
{
	if (!t->first_enter_ns && !t->first_exit_ns) {
		t->first_enter_ns = ch->enter_ns;
		t->first_exit_ns = ch->exit_ns;
		t->first_tid = ch->tid;
		/* TLS plaintext: the seq is the ciphertext's record's (ws_tls_offset_seq_ok). */
		t->has_seq = ch->has_seq && !ch->datagram && ws_tls_offset_seq_ok(ch, off);
		t->seq = ch->seq + off;
	}
	t->last_enter_ns = ch->enter_ns;
	t->last_exit_ns = ch->exit_ns;
	t->last_tid = ch->tid;
}

static char *put_octet(char *o, uint8_t v)
{
	if (v >= 100)
		*o++ = (char)('0' + v / 100);
	if (v >= 10)
		*o++ = (char)('0' + v / 10 % 10);
	*o++ = (char)('0' + v % 10);
	return o;
}

void ws_proto_addr_str(const uint8_t a[16], char *out, size_t len)
{
	static const uint8_t v4[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (memcmp(a, v4, 12) == 0 && len >= INET_ADDRSTRLEN) {
		/* dotted quad by hand: inet_ntop formats IPv4 with sprintf, and this runs
		 * for every span (twice for most) */
		char *o = out;

		for (int k = 12; k < 16; k++) {
			o = put_octet(o, a[k]);
			*o++ = '.';
		}
		o[-1] = '\0';
	} else if (memcmp(a, v4, 12) == 0) {
		inet_ntop(AF_INET, a + 12, out, (socklen_t)len);
	} else {
		inet_ntop(AF_INET6, a, out, (socklen_t)len);
	}
}

void ws_proto_set_peer_attrs(const struct ws_span_info *si, struct ws_span *s)
{
	char peer[INET6_ADDRSTRLEN];

	if (!si || !si->tuple)
		return;
	ws_proto_addr_str(si->tuple->daddr, peer, sizeof(peer));
	ws_span_set_str(s, "network.peer.address", peer);
	ws_span_set_int(s, "network.peer.port", si->tuple->dport);
	if (si->role == WS_PROLE_SERVER) {
		ws_span_set_str(s, "client.address", peer);
		ws_span_set_int(s, "client.port", si->tuple->dport);
		ws_span_set_int(s, "server.port", si->tuple->sport);
	} else {
		ws_span_set_str(s, "server.address", peer);
		ws_span_set_int(s, "server.port", si->tuple->dport);
	}
}

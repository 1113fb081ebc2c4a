/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * DNS over UDP (RFC 1035) and TCP (RFC 1035 4.2.2, RFC 7766) behind the protocol
 * interface (proto.h): ws_proto_dns.
 *
 * A query becomes a WS_X_REQUEST when it is seen; its answer, paired by message ID
 * and question (name, type, class) and never by arrival order, makes the exchange.
 * One parser state serves a UDP socket (each chunk one datagram, possibly to and from
 * several servers) or a TCP connection (2-byte length prefixed messages, pipelined).
 * A query unanswered for DNS_TIMEOUT_NS by chunk times fails with DNS_ERR_TIMEOUT.
 * docs/proto-dns.md describes every case.
 */
#ifndef WS_PROTO_DNS_H
#define WS_PROTO_DNS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"
#include "dns_wire.h"

#define DNS_MAX_PENDING 64                 /* queries awaiting their answer, per socket */
#define DNS_TIMEOUT_NS 5000000000ull       /* RFC 1123 6.1.3.3 / resolv.conf default */
#define DNS_TCP_HEAD_MAX 2048              /* bytes of a TCP message kept for parsing */

/* Reasons (x->err, counters proto_dns_error_<name>). */
enum dns_error {
	DNS_ERR_NONE = 0,
	DNS_ERR_NOT_DNS,             /* the connection's first message is not DNS: parsing stops */
	DNS_ERR_SHORT,               /* a message shorter than the 12-byte header */
	DNS_ERR_BAD_NAME,            /* label > 63, name > 255, looping or forward pointer */
	DNS_ERR_BAD_LENGTH,          /* a section runs past the message's end */
	DNS_ERR_UNCAPTURED,          /* a message's header (or TCP length) was not captured */
	DNS_ERR_GAP,                 /* TCP bytes lost: framing resynchronised */
	DNS_ERR_WRONG_DIRECTION,     /* a query where answers flow, or the reverse */
	DNS_ERR_ANSWER_WITHOUT_QUERY,
	DNS_ERR_TOO_MANY_PENDING,    /* more than DNS_MAX_PENDING queries awaiting answers */
	DNS_ERR_TIMEOUT,             /* no answer within DNS_TIMEOUT_NS */
	DNS_ERR_NO_MEMORY,
	DNS_ERR_CLOSED,              /* the socket closed before the answer (not a parse error) */
	DNS_ERR__MAX,
};
const char *dns_error_name(unsigned err);

enum dns_transport {
	DNS_TRANSPORT_UNKNOWN = 0,
	DNS_TRANSPORT_UDP = 1,
	DNS_TRANSPORT_TCP = 2,
};

/* x->detail of every record that has_request: the query, and the answer once known. */
struct dns_record {
	struct dns_question q;       /* q.name empty when the question was not captured */
	uint16_t id;
	uint16_t retransmits;        /* the same query (ID and question) sent again while pending */
	uint8_t opcode;
	uint8_t transport;           /* enum dns_transport */
	bool has_question;
	bool has_answer;             /* WS_X_EXCHANGE */
	/* the answer's */
	uint16_t rcode;              /* with the EDNS extended bits when the OPT record was seen */
	uint16_t ancount;
	bool tc;
	bool aa;
	uint8_t _pad[2];
};

extern const struct ws_proto_ops ws_proto_dns;

#endif /* WS_PROTO_DNS_H */

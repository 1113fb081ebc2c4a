/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * DNS message wire format (RFC 1035 section 4, RFC 6891 for the OPT record): one
 * message, as far as its bytes were captured, into the few fields wirespan keeps.
 *
 * Pure and bounded: names are read with a hop limit and compression pointers that
 * must point strictly before the label run they end (so they can never loop), labels
 * of at most 63 bytes, names of at most 255 wire bytes. A message may be partially
 * captured (avail < len): what lies past avail is reported as not seen, never guessed.
 */
#ifndef WS_PROTO_DNS_WIRE_H
#define WS_PROTO_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN 12
#define DNS_LABEL_MAX 63
#define DNS_NAME_WIRE_MAX 255   /* RFC 1035 2.3.4: octets of a name, length bytes included */
#define DNS_NAME_TEXT_MAX 256   /* text kept for a name: at most 255 characters + NUL */
#define DNS_PTR_HOPS_MAX 64     /* compression pointers followed for one name */

/* Query types and classes used by the parser and its span names. */
enum {
	DNS_TYPE_OPT = 41,
	DNS_CLASS_IN = 1,
};

/* Why a message could not be parsed. */
enum dns_wire_err {
	DNS_WIRE_OK = 0,
	DNS_WIRE_SHORT,       /* the message is shorter than its 12-byte header */
	DNS_WIRE_UNCAPTURED,  /* the header lies beyond the captured bytes */
	DNS_WIRE_BAD_NAME,    /* label > 63, name > 255, bad or forward pointer, reserved label type */
	DNS_WIRE_BAD_LENGTH,  /* a section runs past the end of the message */
};

struct dns_question {
	char name[DNS_NAME_TEXT_MAX];  /* presentation form, escaped (see dns_name_text) */
	uint16_t type;
	uint16_t cls;
	bool name_cut;                 /* the text was longer than DNS_NAME_TEXT_MAX - 1 */
	uint8_t _pad[3];
};

struct dns_msg {
	uint16_t id;
	uint16_t flags;                /* the header's second 16 bits, as sent */
	uint16_t qdcount, ancount, nscount, arcount;
	uint8_t qr;                    /* 0 query, 1 response */
	uint8_t opcode;
	uint16_t rcode;                /* header RCODE, with the OPT record's upper 8 bits
					* when the OPT record was seen (RFC 6891 6.1.3) */
	bool aa, tc, rd, ra;
	bool has_question;             /* the first question was parsed (qdcount >= 1) */
	bool question_cut;             /* qdcount >= 1 but the question was not captured */
	bool rrs_complete;             /* every resource record was walked */
	bool has_opt;                  /* an OPT record was seen in the additional section */
	uint16_t an_qtype;             /* answers of the question's type (when rrs_complete) */
	uint16_t _pad;
	struct dns_question q;
	uint32_t end;                  /* offset just after the last section walked */
};

/*
 * Parse one message of len bytes whose first avail bytes are at p (avail <= len).
 * The header must be captured; the first question and the resource records are read
 * as far as the captured bytes go (has_question / question_cut / rrs_complete say how
 * far). Only the first question is kept. Returns DNS_WIRE_OK or a dns_wire_err.
 */
int dns_parse(const uint8_t *p, uint32_t avail, uint32_t len, struct dns_msg *m);

/*
 * Read the name at off. On success *next is the offset after it in the message (a
 * compressed name ends with its pointer) and, when out != NULL, out holds the name in
 * presentation form: labels joined by '.', no trailing dot, "." for the root, with
 * the OpenTelemetry escapes for dns.question.name (bytes below 32 or above 126 as
 * \DDD, \t \r \n, backslash and quote escaped, and a '.' inside a label as "\.").
 * Case is kept as sent. Returns DNS_WIRE_OK, DNS_WIRE_BAD_NAME, DNS_WIRE_BAD_LENGTH
 * (runs past len) or DNS_WIRE_UNCAPTURED (runs past avail but not past len).
 */
int dns_name_read(const uint8_t *p, uint32_t avail, uint32_t len, uint32_t off, uint32_t *next,
		  char *out, size_t outcap, bool *cut);

/* Text names: "A", "AAAA", ... ("TYPE65280" form of RFC 3597 section 5 for the
 * rest); rcode names per the IANA registry ("NOERROR", "NXDOMAIN", ...; the decimal
 * number for unassigned values); opcode names ("QUERY", "NOTIFY", "UPDATE", ...).
 * The buffer forms write to buf (at least 12 bytes) and return it. */
const char *dns_type_name(uint16_t type, char *buf, size_t n);
const char *dns_rcode_name(uint16_t rcode, char *buf, size_t n);
const char *dns_opcode_name(uint8_t opcode);

/* ASCII case-insensitive equality of two questions (RFC 4343): name, type, class. */
bool dns_question_equal(const struct dns_question *a, const struct dns_question *b);

#endif /* WS_PROTO_DNS_WIRE_H */

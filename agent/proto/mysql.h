/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * MySQL / MariaDB client/server protocol parser (classic protocol, protocol version 10),
 * behind the protocol interface of proto.h: ws_proto_mysql.
 *
 * Packets are framed by a 3-byte little-endian length and a sequence id; a payload of
 * 0xffffff bytes continues in the next packet (one "message"). The server speaks first
 * (Initial Handshake v10), the client answers (HandshakeResponse41 or SSLRequest), then
 * authentication, then commands: each command (sequence id 0) is one exchange unless it
 * has no reply (COM_QUIT, COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA). Requests pair with
 * replies in order (pairing.h), so pipelining clients (MariaDB Connector/J, node
 * mariadb) are followed while framing holds. docs/proto-mysql.md describes every case.
 */
#ifndef WS_PROTO_MYSQL_H
#define WS_PROTO_MYSQL_H

#include "proto.h"

#define MYSQL_QUERY_MAX 2048     /* query bytes kept per request (db.query.text source) */
#define MYSQL_TEXT_OUT_MAX 1024  /* sanitised db.query.text, at most (span arena is 1536) */
#define MYSQL_NS_MAX 129         /* db.namespace kept (64 characters, utf8mb4 up to 256 bytes) */
#define MYSQL_STMT_MAX 64        /* prepared statements remembered per connection */
#define MYSQL_PENDING_MAX 32     /* requests awaiting their reply (pipelining) */
#define MYSQL_RESP_PREFIX 64     /* bytes of a response message kept to classify it */
#define MYSQL_HS_PREFIX 1024     /* bytes of a handshake message kept */

/* Why an exchange, or the connection's parsing, was abandoned (counted by the centre as
 * proto_mysql_error_<name>). */
enum mysql_error {
	MYSQL_ERR_NONE = 0,
	MYSQL_ERR_NOT_MYSQL,         /* the first server message is not a v10 handshake */
	MYSQL_ERR_TLS,               /* SSLRequest: TLS follows, parsing given up */
	MYSQL_ERR_COMPRESSED,        /* compression negotiated, parsing given up */
	MYSQL_ERR_REPLICATION,       /* binlog dump / clone stream, parsing given up */
	MYSQL_ERR_BAD_PACKET,        /* a message too short or malformed for its kind */
	MYSQL_ERR_BAD_SEQUENCE,      /* sequence id out of order: framing no longer trusted */
	MYSQL_ERR_UNCAPTURED,        /* a request header fell in uncaptured bytes */
	MYSQL_ERR_GAP,               /* bytes missing (kernel lost records) */
	MYSQL_ERR_END_INFERRED,      /* (on an exchange) response framing lost: ended at the
				      * client's next command or at close, fields may be missing */
	MYSQL_ERR_FRAMING_LOST,      /* a pipelined request behind one whose reply was lost */
	MYSQL_ERR_RESPONSE_WITHOUT_REQUEST,
	MYSQL_ERR_TOO_MANY_PENDING,  /* more than MYSQL_PENDING_MAX requests awaiting replies */
	MYSQL_ERR_STMT_MAP_FULL,     /* more than MYSQL_STMT_MAX prepared statements: not kept */
	MYSQL_ERR_UNKNOWN_COMMAND,   /* command byte not in the protocol: its reply is skipped */
	MYSQL_ERR_NO_MEMORY,
	MYSQL_ERR_CLOSED,            /* the connection ended before the reply (not a parse error) */
	MYSQL_ERR__MAX,
};
const char *mysql_error_name(unsigned err);

extern const struct ws_proto_ops ws_proto_mysql;

#endif /* WS_PROTO_MYSQL_H */

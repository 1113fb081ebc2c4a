/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Redis (RESP2 and RESP3) exchange parser behind the protocol interface (proto.h):
 * `ws_proto_redis`. docs/proto-redis.md describes the model, the attributes and every
 * error reason.
 *
 * Requests are arrays of bulk strings (or inline command lines); replies are any RESP2
 * or RESP3 value, nested aggregates included (bounded by RESP_DEPTH_MAX). Requests and
 * replies pair in order through the shared FIFO (pairing.h); RESP3 push messages and
 * RESP2 pub/sub messages are not replies and pair with nothing.
 *
 * Argument values are never kept: of a request only the command name, the subcommand
 * of a container command (CLIENT SETNAME, CONFIG GET), SELECT's database index and the
 * mode word of CLIENT REPLY are looked at; of a reply only its type, the first word of
 * an error, a status word of at most 8 bytes (to recognise OK / QUEUED / RESET) and,
 * for pub/sub, the message kind word and the subscription count.
 */
#ifndef WS_PROTO_REDIS_H
#define WS_PROTO_REDIS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

#define RESP_DEPTH_MAX 16       /* nested aggregates in one reply */
#define RESP_MAX_PENDING 512    /* requests awaiting their reply (pipelining) */
#define RESP_OP_MAX 64          /* "CLIENT" SP subcommand, NUL */
#define RESP_WORD_MAX 32        /* a command, subcommand or error-code word */
#define RESP_INLINE_MAX 65536   /* an inline command line (the server's own limit) */
#define RESP_COUNT_MAX 0x7fffffffu  /* elements of one aggregate */

/* Why an exchange (or the connection's parsing) was abandoned: counted by the centre
 * as proto_redis_error_<name>. */
enum resp_err {
	RESP_ERR_NONE = 0,
	RESP_ERR_NOT_RESP,            /* the first bytes are not RESP: parsing abandoned */
	RESP_ERR_BAD_REQUEST,         /* malformed request (framing or inline line) */
	RESP_ERR_BAD_REPLY,           /* malformed reply */
	RESP_ERR_TOO_DEEP,            /* aggregates nested deeper than RESP_DEPTH_MAX */
	RESP_ERR_UNCAPTURED,          /* framing is in bytes that were not captured */
	RESP_ERR_GAP,                 /* bytes missing (sequence jump, lost events) */
	RESP_ERR_REPLY_WITHOUT_REQUEST,
	RESP_ERR_TOO_MANY_PENDING,    /* more than RESP_MAX_PENDING pipelined requests */
	RESP_ERR_NO_MEMORY,
	RESP_ERR_MONITOR,             /* MONITOR: the reply stream is other clients' commands */
	RESP_ERR_REPLICATION,         /* SYNC / PSYNC: a replication stream follows */
	RESP_ERR_CLOSED,              /* the connection ended before the reply */
	RESP_ERR__MAX,
};
const char *resp_error_name(unsigned err);

/* What a command does to the connection's state, or how its replies pair. */
enum resp_cmd {
	RESP_CMD_OTHER = 0,
	RESP_CMD_SUBSCRIBE,           /* the six pub/sub (un)subscribe commands: their value */
	RESP_CMD_PSUBSCRIBE,          /* is the kind word of their confirmations */
	RESP_CMD_SSUBSCRIBE,
	RESP_CMD_UNSUBSCRIBE,
	RESP_CMD_PUNSUBSCRIBE,
	RESP_CMD_SUNSUBSCRIBE,
	RESP_CMD_SELECT,
	RESP_CMD_MULTI,
	RESP_CMD_EXEC,
	RESP_CMD_DISCARD,
	RESP_CMD_RESET,
	RESP_CMD_MONITOR,
	RESP_CMD_SYNC,                /* SYNC and PSYNC */
	RESP_CMD_CLIENT_REPLY,
	RESP_CMD_HELLO,
};

/* One request as far as it was seen (x->detail->req). */
struct redis_req {
	char op[RESP_OP_MAX];         /* db.operation.name ("GET", "CONFIG GET"), "" unknown */
	int32_t select_db;            /* SELECT's index, -1 when not SELECT or not a number */
	uint32_t nargs;               /* arguments including the command (0: unknown) */
	uint8_t cmd;                  /* enum resp_cmd */
	uint8_t reply_mode;           /* CLIENT REPLY: 1 ON, 2 OFF, 3 SKIP, 0 unknown */
	bool inline_cmd;              /* an inline command line, not a RESP array */
	bool truncated;               /* part of the request was not captured */
	bool uncaptured;              /* none of it was captured: only its position is known */
	bool no_reply;                /* CLIENT REPLY OFF/SKIP: the server sends no reply */
	uint8_t _pad[2];
};

/* One reply as far as it was seen (x->detail->rep, on WS_X_EXCHANGE with a response). */
struct redis_reply {
	uint8_t type;                 /* RESP type byte of the reply value ('+', '*', '%', ...),
				       * after any attribute; 0 when not captured */
	bool error;                   /* '-' simple error or '!' blob error */
	bool truncated;               /* part of the reply was not captured */
	bool null;                    /* RESP2 null bulk/array or RESP3 '_' */
	char err_code[RESP_WORD_MAX]; /* the error's first word ("ERR", "WRONGTYPE") when it is
				       * an upper-case code, else "" */
};

/* x->detail of every record this parser emits. */
struct redis_detail {
	const struct redis_req *req;  /* NULL on a WS_X_ERROR without request */
	const struct redis_reply *rep;/* NULL unless x->has_response */
	int32_t db;                   /* the connection's database index (db.namespace): at
				       * WS_X_REQUEST as known then, at WS_X_EXCHANGE after the
				       * reply (a SELECT's own exchange has the new index) */
	uint32_t _pad;
};

extern const struct ws_proto_ops ws_proto_redis;

#endif /* WS_PROTO_REDIS_H */

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * PostgreSQL frontend/backend protocol v3 parser behind the protocol interface
 * (proto.h): `ws_proto_postgres`. docs/proto-postgresql.md describes the model.
 *
 * One exchange per simple Query ('Q', ended by ReadyForQuery) and one per Execute of
 * the extended protocol (ended by CommandComplete, EmptyQueryResponse, PortalSuspended
 * or ErrorResponse; or, when an earlier message of its Sync batch failed, by the
 * batch's ReadyForQuery as "pipeline aborted"). Statement texts are kept sanitised,
 * per connection, from Parse to every Execute of a portal bound to them.
 */
#ifndef WS_PROTO_POSTGRES_H
#define WS_PROTO_POSTGRES_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

extern const struct ws_proto_ops ws_proto_postgres;

/* Error reasons (x->err, counters proto_postgresql_error_<name>). */
enum ws_pg_err {
	WS_PG_ERR_NONE = 0,
	WS_PG_ERR_CLOSED,           /* the connection ended before the reply */
	WS_PG_ERR_FRAMING_LOST,     /* a message header was not captured or bytes went missing */
	WS_PG_ERR_BAD_MESSAGE,      /* unknown message type or impossible length */
	WS_PG_ERR_QUEUE_FULL,       /* more Executes awaiting replies than PG_PENDING_MAX */
	WS_PG_ERR_UNANSWERED,       /* the Sync batch ended without the Execute's completion */
	WS_PG_ERR_TLS,              /* SSLRequest accepted: the rest is encrypted */
	WS_PG_ERR_GSSENC,           /* GSSENCRequest accepted: the rest is encrypted */
	WS_PG_ERR_UNSUPPORTED,      /* a protocol version other than 3 */
	WS_PG_ERR_NOMEM,            /* out of memory for a request's record */
	WS_PG_ERR_EVICTED,          /* a prepared statement or portal was forgotten (table full) */
	WS_PG_ERR__COUNT,
};

#define WS_PG_TEXT_MAX 1024        /* sanitised query text kept (bytes, with the NUL) */
#define WS_PG_SUMMARY_MAX 128
#define WS_PG_OP_MAX 24
#define WS_PG_NAME_MAX 64          /* database name kept */

/* The record's detail (x->detail) for the span callbacks. Strings are NUL terminated,
 * "" when unknown. */
struct ws_pg_detail {
	const char *database;       /* db.namespace: startup "database", else "user" */
	const char *query;          /* sanitised text ("" when the statement is unknown) */
	const char *operation;      /* from the text */
	const char *summary;
	const char *tag_op;         /* operation word of the CommandComplete tag (response) */
	const char *sqlstate;       /* ErrorResponse field C (response) */
	int64_t rows;               /* SELECT/FETCH row count (response), when has_rows */
	bool has_rows;
	bool error;                 /* ErrorResponse answered it */
	bool aborted;               /* not run: an earlier message of its batch failed */
	uint8_t _pad[5];
};

#endif /* WS_PROTO_POSTGRES_H */

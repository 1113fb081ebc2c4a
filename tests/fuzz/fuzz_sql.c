/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libFuzzer target: the SQL sanitiser and summary (agent/proto/sql.h).
 *
 * Input layout:
 *   byte 0: bit 0 dialect (0 PostgreSQL, 1 MySQL); bit 1 mode (0 raw, 1 built)
 *   raw:   the rest is the query text.
 *   built: the rest is a program that builds a query from tokens whose literals are
 *          known: op bytes (op % 8) and their operands, see build(). Tokens are
 *          joined by a space or a comment with fuzzer-chosen content.
 *
 * Contract checks (beyond no crash/leak/UB):
 *   - outputs are NUL terminated, the returned length is strlen, within the bound;
 *   - built mode: the output is exactly the template with one '?' per literal and one
 *     space per separator: no byte of a string, number or comment survives;
 *   - any input: the output is idempotent (sanitising it again changes nothing), it
 *     holds no quote that opens a string literal and no digit that starts a number
 *     (scanned here independently of the lexer), and the summary's operation is an
 *     uppercase keyword.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/proto/sql.h"

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz_sql: check failed: %s (line %d)\n", #cond, __LINE__); \
			abort();                                                      \
		}                                                                     \
	} while (0)

#define QMAX 8192
#define OUTMAX (2 * QMAX)

static char query[QMAX], want[QMAX], out[OUTMAX], again[OUTMAX];
static size_t qn, wn;
static bool overflow;

static bool word_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

/* Independent of the lexer: outside quoted identifiers no quote opens a string, and
 * every digit belongs to a word or a placeholder that does not start with a digit. */
static void check_no_literal(const char *s, size_t n, enum ws_sql_dialect d)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];

		if ((c == '"' && d == WS_SQL_POSTGRES) || (c == '`' && d == WS_SQL_MYSQL)) {
			for (i++; i < n; i++) {
				if ((uint8_t)s[i] == c) {
					if (i + 1 < n && (uint8_t)s[i + 1] == c)
						i++;
					else
						break;
				}
			}
			continue;
		}
		CHECK(c != '\'');
		if (d == WS_SQL_MYSQL) {
			CHECK(c != '"');
			CHECK(c != '#');
		}
		CHECK(c >= 0x20 && c != 0x7f);
		if (c >= '0' && c <= '9') {
			size_t k = i;

			while (k > 0 && word_char((uint8_t)s[k - 1]))
				k--;
			CHECK(!(s[k] >= '0' && s[k] <= '9'));
		}
	}
}

static void check_all(const char *q, size_t n, enum ws_sql_dialect d)
{
	char op[24], sum[80];
	size_t on, an;

	on = ws_sql_sanitize(q, n, d, out, sizeof(out));
	CHECK(on < sizeof(out));
	CHECK(memchr(out, '\0', sizeof(out)) != NULL);
	CHECK(strlen(out) == on);
	check_no_literal(out, on, d);
	/* the output of a sanitiser that let no literal through is its own output */
	an = ws_sql_sanitize(out, on, d, again, sizeof(again));
	CHECK(an == on && memcmp(out, again, on) == 0);

	/* a small bound: still terminated, still no literal */
	{
		char small[9];
		size_t sn = ws_sql_sanitize(q, n, d, small, sizeof(small));

		CHECK(sn < sizeof(small) && strlen(small) == sn);
		CHECK(sn <= on);
		check_no_literal(small, sn, d);
	}

	memset(op, 0x55, sizeof(op));
	memset(sum, 0x55, sizeof(sum));
	ws_sql_summary(q, n, d, op, sizeof(op), sum, sizeof(sum));
	CHECK(memchr(op, '\0', sizeof(op)) != NULL);
	CHECK(memchr(sum, '\0', sizeof(sum)) != NULL);
	for (const char *p = op; *p; p++)
		CHECK((*p >= 'A' && *p <= 'Z') || *p == '_');
	CHECK(strncmp(sum, op, strlen(op)) == 0);
	check_no_literal(sum, strlen(sum), d);
}

static void emit(char *buf, size_t *n, const char *s, size_t len)
{
	if (*n + len >= QMAX) {
		overflow = true;
		return;
	}
	memcpy(buf + *n, s, len);
	*n += len;
}

static void q_s(const char *s)
{
	emit(query, &qn, s, strlen(s));
}

static void q_c(char c)
{
	emit(query, &qn, &c, 1);
}

static void w_s(const char *s)
{
	emit(want, &wn, s, strlen(s));
}

/* Template tokens: no digits, nothing that starts a literal or a comment. */
static const char *const words[] = {
	"SELECT", "FROM", "WHERE", "AND", "IN", "users", "x", "e", "E", "N", "U", "b",
	"café", "表", "public.t", "a$b", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "date",
};
static const char *const puncts[] = {
	"(", ")", ",", "=", "<", ">", "*", ".", ";", "+", "-", "||", "::", "?", "&", "[", "]", "%",
};

/* Take one operand byte (0 at the end). */
static uint8_t take(const uint8_t **p, const uint8_t *end)
{
	return *p < end ? *(*p)++ : 0;
}

static void build(const uint8_t *p, const uint8_t *end, enum ws_sql_dialect d)
{
	bool first = true;

	qn = wn = 0;
	overflow = false;
	while (p < end && !overflow) {
		uint8_t opb = take(&p, end), sel = take(&p, end);
		unsigned op = opb % 8;

		if (op == 7) {
			/* a comment as the separator before the next token */
			uint8_t len = take(&p, end) % 32;
			unsigned style = sel % 3;

			q_s(style == 0 ? " /*" : style == 1 || d == WS_SQL_POSTGRES ? " -- " : " #");
			for (uint8_t k = 0; k < len; k++) {
				char c = (char)take(&p, end);

				if (style == 0 && (c == '*' || c == '/'))
					c = '.';
				if (style != 0 && c == '\n')
					c = '.';
				q_c(c);
			}
			q_s(style == 0 ? "*/ " : "\n");
			continue;
		}
		if (!first) {
			q_c(' ');
			w_s(" ");
		}
		first = false;
		if (op <= 1) {
			const char *w = words[sel % (sizeof(words) / sizeof(words[0]))];

			q_s(w);
			w_s(w);
		} else if (op == 2) {
			const char *w = puncts[sel % (sizeof(puncts) / sizeof(puncts[0]))];

			q_s(w);
			w_s(w);
		} else if (op == 3) {
			/* quoted identifier of the dialect (kept as written) */
			const char *qi = d == WS_SQL_MYSQL ? "`Na`" : "\"N'a\"";

			q_s(qi);
			w_s(qi);
		} else if (op == 4) {
			/* a number: digits in one of the literal shapes */
			uint8_t a = take(&p, end), b = take(&p, end);
			char num[48];

			switch (sel % 6) {
			case 0: snprintf(num, sizeof(num), "%u", a); break;
			case 1: snprintf(num, sizeof(num), "%u.%u", a, b); break;
			case 2: snprintf(num, sizeof(num), ".%u", b); break;
			case 3: snprintf(num, sizeof(num), "%ue%s%u", a, b & 1 ? "-" : "", b); break;
			case 4: snprintf(num, sizeof(num), "0x%X%x", a, b); break;
			default: snprintf(num, sizeof(num), "%u%u%u", a, b, a ^ b); break;
			}
			q_s(num);
			w_s("?");
		} else {
			/* a string with fuzzer bytes, escaped as the dialect wants */
			uint8_t len = take(&p, end) % 48;
			unsigned style = sel % 4;
			uint8_t quote = '\'';
			bool bs = d == WS_SQL_MYSQL;

			if (d == WS_SQL_POSTGRES && style == 1) {
				q_s("E'");
				bs = true;
			} else if (d == WS_SQL_POSTGRES && style == 2) {
				q_s("$q$");
				quote = 0;
			} else if (d == WS_SQL_MYSQL && style == 1) {
				q_c('"');
				quote = '"';
			} else if (d == WS_SQL_MYSQL && style == 2) {
				q_s("_utf8mb4'");
			} else {
				q_s(style == 3 ? "N'" : "'");
			}
			for (uint8_t k = 0; k < len; k++) {
				uint8_t c = take(&p, end);

				if (quote == 0) {
					q_c(c == '$' ? 'S' : (char)c);
					continue;
				}
				if (c == quote)
					q_c((char)c);       /* doubled */
				else if (bs && c == '\\')
					q_c('\\');
				q_c((char)c);
			}
			q_s(quote == 0 ? "$q$" : quote == '"' ? "\"" : "'");
			w_s("?");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum ws_sql_dialect d;

	if (size < 1 || size > QMAX)
		return 0;
	d = (data[0] & 1) ? WS_SQL_MYSQL : WS_SQL_POSTGRES;
	if (!(data[0] & 2)) {
		check_all((const char *)data + 1, size - 1, d);
		return 0;
	}
	build(data + 1, data + size, d);
	if (overflow)
		return 0;
	want[wn] = '\0';
	check_all(query, qn, d);
	ws_sql_sanitize(query, qn, d, out, sizeof(out));
	if (strcmp(out, want) != 0) {
		fprintf(stderr, "fuzz_sql: query [%.*s]\n  got  [%s]\n  want [%s]\n", (int)qn, query, out, want);
		CHECK(!"built query sanitised as the template");
	}
	return 0;
}

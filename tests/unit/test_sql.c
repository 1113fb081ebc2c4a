/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Tests of the SQL sanitiser and summary (agent/proto/sql.h), both dialects. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "agent/proto/sql.h"

#define PG WS_SQL_POSTGRES
#define MY WS_SQL_MYSQL

struct san_case {
	enum ws_sql_dialect d;
	const char *in;
	const char *want;
};

static const struct san_case san_cases[] = {
	/* the basics */
	{ PG, "SELECT * FROM users WHERE id = 42", "SELECT * FROM users WHERE id = ?" },
	{ PG, "  SELECT\t\n a ,b\r\nFROM  t  ", "SELECT a ,b FROM t" },
	{ PG, "", "" },
	{ PG, "   ", "" },
	{ PG, "INSERT INTO t (a, b) VALUES ('x', 3.5)", "INSERT INTO t (a, b) VALUES (?, ?)" },
	{ PG, "SELECT * FROM t WHERE id IN (1,2,3)", "SELECT * FROM t WHERE id IN (?,?,?)" },
	{ MY, "SELECT * FROM t WHERE id IN (1, 2, 3)", "SELECT * FROM t WHERE id IN (?, ?, ?)" },
	/* numbers */
	{ PG, "SELECT 1e10, .5, 1.5e-3, 0xFF, 1_000, 12abc", "SELECT ?, ?, ?, ?, ?, ?" },
	{ PG, "SELECT a-1, a - 1, (a)-1", "SELECT a-?, a - ?, (a)-?" },
	{ PG, "WHERE x = -5 AND y=-2.5 AND z IN (-1,+2)", "WHERE x = ? AND y=? AND z IN (?,?)" },
	{ PG, "SELECT -5", "SELECT ?" },
	{ PG, "SELECT t1.col2 FROM s3.t4", "SELECT t1.col2 FROM s3.t4" },
	{ PG, "SELECT x FROM t WHERE a.b=.5", "SELECT x FROM t WHERE a.b=?" },
	{ MY, "SELECT 0x1F, 0b0101, X'FF', x'ff', b'01'", "SELECT ?, ?, ?, ?, ?" },
	{ PG, "SELECT X'FF', B'0101', x'ff'", "SELECT ?, ?, ?" },
	/* strings */
	{ PG, "SELECT 'it''s'", "SELECT ?" },
	{ PG, "SELECT 'a\\', 'b'", "SELECT ?, ?" },   /* standard_conforming_strings: \ is literal */
	{ PG, "SELECT E'\\'', 1", "SELECT ?, ?" },
	{ PG, "SELECT e'x\\'y''z' || 'q'", "SELECT ? || ?" },
	{ PG, "SELECT N'abc', U&'d\\0061t', U&\"d\\0061t\"", "SELECT ?, ?, U&\"d\\0061t\"" },
	{ PG, "SELECT date '2020-01-01', interval '1 day'", "SELECT date ?, interval ?" },
	{ PG, "SELECT 'a' 'b'", "SELECT ? ?" },
	{ MY, "SELECT 'it\\'s', 'a''b', \"x\\\"y\", \"q\"\"r\"", "SELECT ?, ?, ?, ?" },
	{ MY, "SELECT _utf8mb4'abc', N'x', _latin1\"y\"", "SELECT ?, ?, ?" },
	{ MY, "SELECT `we'ird` FROM `t``x`", "SELECT `we'ird` FROM `t``x`" },
	{ PG, "SELECT \"we'ird\" FROM \"T\"\"x\"", "SELECT \"we'ird\" FROM \"T\"\"x\"" },
	{ PG, "SELECT `a`", "SELECT `a`" },
	/* dollar quotes and placeholders */
	{ PG, "SELECT $$it's$$, $1, $tag$a $$ b$tag$", "SELECT ?, $1, ?" },
	{ PG, "SELECT $o$ x $i$ 'q' $i$ y $o$ + 1", "SELECT ? + ?" },
	{ PG, "SELECT $a$unterminated 42", "SELECT ?" },
	{ PG, "SELECT a$b, $1::int, x ?| y", "SELECT a$b, $1::int, x ?| y" },
	{ MY, "SELECT ? FROM t WHERE a=? AND b = :name", "SELECT ? FROM t WHERE a=? AND b = :name" },
	{ MY, "SELECT $1, a$b", "SELECT $1, a$b" },
	/* comments */
	{ PG, "SELECT /* it's 42 */ a -- 'x' 7\nFROM t", "SELECT a FROM t" },
	{ PG, "SELECT/**/a/* /* nested 'x' */ 5 */FROM t", "SELECT a FROM t" },
	{ MY, "SELECT/* /* 'x' */ a # it's 9\nFROM t", "SELECT a FROM t" },
	{ MY, "SELECT 1--1", "SELECT ?- ?" },
	{ MY, "SELECT a--/**/", "SELECT a- -" },
	{ MY, "SELECT a--x", "SELECT a- -x" },
	{ MY, "SELECT 1 -- 'x\nFROM t", "SELECT ? FROM t" },
	{ PG, "SELECT 1--1", "SELECT ?" },
	{ MY, "SELECT /*!40101 'x' */ a", "SELECT a" },
	{ PG, "SELECT a /* unterminated 'x' 5", "SELECT a" },
	{ PG, "/* lead */ SELECT 1 -- trail", "SELECT ?" },
	/* unterminated literals end the text */
	{ PG, "SELECT 'abc", "SELECT ?" },
	{ PG, "SELECT 'abc'' FROM t", "SELECT ?" },
	{ PG, "SELECT E'abc\\' FROM t", "SELECT ?" },
	{ MY, "SELECT 'abc\\' FROM t", "SELECT ?" },
	{ MY, "SELECT \"abc", "SELECT ?" },
	{ PG, "SELECT \"abc", "SELECT ?" },
	{ MY, "SELECT `abc", "SELECT ?" },
	/* Unicode: identifiers kept, literals gone */
	{ PG, "SELECT \"naïve\", café FROM 表 WHERE n = 'héllo' AND m = '日本'", "SELECT \"naïve\", café FROM 表 WHERE n = ? AND m = ?" },
	/* control bytes never reach the output */
	{ PG, "SELECT\x01" "a\x7f,\"b\x02\"", "SELECT a ,\"b \"" },
	{ PG, "SELECT true, false, null FROM t", "SELECT true, false, null FROM t" },
};

static void test_sanitize_table(void **state)
{
	char out[512];

	for (size_t k = 0; k < sizeof(san_cases) / sizeof(san_cases[0]); k++) {
		const struct san_case *c = &san_cases[k];
		size_t n = ws_sql_sanitize(c->in, strlen(c->in), c->d, out, sizeof(out));

		if (strcmp(out, c->want) != 0)
			fail_msg("case %zu (%s): %s -> [%s], want [%s]", k, c->d == PG ? "pg" : "my", c->in, out, c->want);
		assert_int_equal(n, strlen(out));
		/* idempotent: nothing in the output is a literal any more */
		{
			char again[512];

			ws_sql_sanitize(out, n, c->d, again, sizeof(again));
			if (strcmp(out, again) != 0)
				fail_msg("case %zu not idempotent: [%s] -> [%s]", k, out, again);
		}
	}
}

static void test_sanitize_not_nul_terminated(void **state)
{
	/* the input is a length, not a C string: bytes after it are not read */
	static const char buf[] = "SELECT 12345";
	char out[64];

	assert_int_equal(ws_sql_sanitize(buf, 9, PG, out, sizeof(out)), 8);
	assert_string_equal(out, "SELECT ?");
	/* embedded NUL is whitespace */
	assert_int_equal(ws_sql_sanitize("SELECT\0a", 8, PG, out, sizeof(out)), 8);
	assert_string_equal(out, "SELECT a");
}

static void test_sanitize_truncation(void **state)
{
	char out[16];
	size_t n;

	memset(out, 'Z', sizeof(out));
	n = ws_sql_sanitize("SELECT abcdefghijklmnop", 23, PG, out, 10);
	assert_int_equal(n, 9);
	assert_string_equal(out, "SELECT ab");
	assert_int_equal(out[11], 'Z');
	/* never a cut UTF-8 sequence: "é" is 2 bytes, 9 bytes fit */
	n = ws_sql_sanitize("SELECT aé", strlen("SELECT aé"), PG, out, 10);
	assert_int_equal(n, 8);
	assert_string_equal(out, "SELECT a");
	n = ws_sql_sanitize("SELECT 日", strlen("SELECT 日"), PG, out, 10);
	assert_int_equal(n, 7);
	assert_string_equal(out, "SELECT ");
	/* outlen 1: just the NUL; 0: nothing written */
	assert_int_equal(ws_sql_sanitize("SELECT 1", 8, PG, out, 1), 0);
	assert_string_equal(out, "");
	out[0] = 'Z';
	assert_int_equal(ws_sql_sanitize("SELECT 1", 8, PG, out, 0), 0);
	assert_int_equal(out[0], 'Z');
	assert_int_equal(ws_sql_sanitize(NULL, 8, PG, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* a literal cut by the output bound is still a '?' or nothing */
	n = ws_sql_sanitize("SELECT 'secret'", 15, PG, out, 9);
	assert_string_equal(out, "SELECT ?");
}

struct sum_case {
	enum ws_sql_dialect d;
	const char *in;
	const char *op;
	const char *summary;
};

static const struct sum_case sum_cases[] = {
	{ PG, "SELECT * FROM users WHERE id = $1", "SELECT", "SELECT users" },
	{ PG, "select * from users", "SELECT", "SELECT users" },
	{ PG, "INSERT INTO orders (a) VALUES (1)", "INSERT", "INSERT orders" },
	{ PG, "UPDATE t SET a = 1", "UPDATE", "UPDATE t" },
	{ PG, "UPDATE ONLY t SET a = 1", "UPDATE", "UPDATE t" },
	{ PG, "DELETE FROM t WHERE x = 'y'", "DELETE", "DELETE t" },
	{ PG, "DELETE FROM ONLY t", "DELETE", "DELETE t" },
	{ MY, "DELETE LOW_PRIORITY QUICK IGNORE FROM t", "DELETE", "DELETE t" },
	{ MY, "INSERT IGNORE INTO t VALUES (1)", "INSERT", "INSERT t" },
	{ MY, "INSERT t VALUES (1)", "INSERT", "INSERT t" },
	{ MY, "REPLACE INTO t VALUES (1)", "REPLACE", "REPLACE t" },
	{ PG, "SELECT a FROM users u JOIN orders o ON o.u = u.id", "SELECT", "SELECT users" },
	{ PG, "SELECT a FROM public.users, x", "SELECT", "SELECT public.users" },
	{ PG, "SELECT a FROM \"My Schema\".\"Users\"", "SELECT", "SELECT \"My Schema\".\"Users\"" },
	{ MY, "SELECT a FROM `db`.`t`", "SELECT", "SELECT `db`.`t`" },
	{ PG, "SELECT a FROM users WHERE id IN (SELECT uid FROM orders)", "SELECT", "SELECT users" },
	{ PG, "SELECT (SELECT max(x) FROM inner_t) AS m FROM outer_t", "SELECT", "SELECT outer_t" },
	{ PG, "SELECT * FROM (SELECT * FROM t) AS s", "SELECT", "SELECT t" },
	{ PG, "SELECT EXTRACT(YEAR FROM ts) FROM events", "SELECT", "SELECT events" },
	{ PG, "SELECT extract(year from now())", "SELECT", "SELECT" },
	{ PG, "SELECT * FROM unnest($1)", "SELECT", "SELECT" },
	{ PG, "SELECT 1", "SELECT", "SELECT" },
	{ PG, "SELECT now()", "SELECT", "SELECT" },
	{ PG, "WITH x AS (SELECT * FROM a), y AS (DELETE FROM b RETURNING *) SELECT * FROM x", "SELECT", "SELECT x" },
	{ PG, "WITH RECURSIVE r(n) AS (VALUES (1) UNION ALL SELECT n+1 FROM r) SELECT n FROM r", "SELECT", "SELECT r" },
	{ PG, "WITH v AS (SELECT 1) INSERT INTO t SELECT * FROM v", "INSERT", "INSERT t" },
	{ PG, "(SELECT a FROM t1) UNION (SELECT a FROM t2)", "SELECT", "SELECT t1" },
	{ PG, "/* app=x */ select 1 from dual", "SELECT", "SELECT dual" },
	{ PG, "BEGIN", "BEGIN", "BEGIN" },
	{ PG, "commit;", "COMMIT", "COMMIT" },
	{ PG, "SET search_path TO 'x'", "SET", "SET" },
	{ PG, "CALL do_it(1, 'x')", "CALL", "CALL do_it" },
	{ PG, "TRUNCATE TABLE ONLY t", "TRUNCATE", "TRUNCATE t" },
	{ PG, "COPY t FROM STDIN", "COPY", "COPY t" },
	{ PG, "SELECT * FROM 'lit'", "SELECT", "SELECT" },
	{ PG, "'x' SELECT", "", "" },
	{ PG, "42", "", "" },
	{ PG, "", "", "" },
	{ PG, "SELECT * FROM t WHERE a = 'unterminated FROM", "SELECT", "SELECT t" },
	{ PG, "SELECT 'FROM x' FROM y", "SELECT", "SELECT y" },
	{ PG, "SELECT a FROM t; DELETE FROM u", "SELECT", "SELECT t" },
	{ PG, "SELECT 1; SELECT * FROM u", "SELECT", "SELECT" },
	{ MY, "SELECT a FROM t # FROM secret\n", "SELECT", "SELECT t" },
	{ PG, "SELECT * FROM café", "SELECT", "SELECT café" },
};

static void test_summary_table(void **state)
{
	char op[32], sum[128];

	for (size_t k = 0; k < sizeof(sum_cases) / sizeof(sum_cases[0]); k++) {
		const struct sum_case *c = &sum_cases[k];

		memset(op, 'Z', sizeof(op));
		memset(sum, 'Z', sizeof(sum));
		ws_sql_summary(c->in, strlen(c->in), c->d, op, sizeof(op), sum, sizeof(sum));
		if (strcmp(op, c->op) != 0 || strcmp(sum, c->summary) != 0)
			fail_msg("case %zu: %s -> [%s] [%s], want [%s] [%s]", k, c->in, op, sum, c->op, c->summary);
	}
}

static void test_summary_bounds(void **state)
{
	char op[4], sum[10];

	ws_sql_summary("SELECT * FROM averyveryverylongtable", 37, PG, op, sizeof(op), sum, sizeof(sum));
	assert_string_equal(op, "SEL");
	assert_string_equal(sum, "SELECT av");
	/* NULL outputs are allowed */
	ws_sql_summary("SELECT 1", 8, PG, NULL, 0, sum, sizeof(sum));
	assert_string_equal(sum, "SELECT");
	ws_sql_summary(NULL, 5, PG, op, sizeof(op), NULL, 0);
	assert_string_equal(op, "");
	/* deep nesting is bounded */
	{
		char q[400];
		size_t n = 0;

		n += (size_t)snprintf(q + n, sizeof(q) - n, "SELECT ");
		for (int k = 0; k < 60; k++)
			q[n++] = '(';
		n += (size_t)snprintf(q + n, sizeof(q) - n, "SELECT a FROM deep");
		for (int k = 0; k < 60; k++)
			q[n++] = ')';
		n += (size_t)snprintf(q + n, sizeof(q) - n, " FROM top");
		ws_sql_summary(q, n, PG, NULL, 0, sum, sizeof(sum));
		assert_string_equal(sum, "SELECT to");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize_table),
		cmocka_unit_test(test_sanitize_not_nul_terminated),
		cmocka_unit_test(test_sanitize_truncation),
		cmocka_unit_test(test_summary_table),
		cmocka_unit_test(test_summary_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

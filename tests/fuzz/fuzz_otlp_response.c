/* Fuzz what the OTLP exporter parses from a collector's reply: Retry-After headers
 * (delay-seconds and three HTTP-date forms) and ExportTraceServiceResponse bodies in
 * protobuf and JSON. A collector (or anything listening on its port) is not trusted. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/otlp_proto.h"
#include "exporter/otlp_queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_otlp_partial p;
	char *s = malloc(size + 1);
	uint64_t delay;
	int64_t t;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (ws_otlp_parse_retry_after(s, 1795000000, &delay) == 0 && delay > (uint64_t)1 << 62)
		abort();   /* a parsed delay must be a sane number of ms */
	(void)ws_otlp_parse_http_date(s, &t);
	memset(&p, 0x55, sizeof(p));
	if (ws_otlp_proto_decode_response(data, size, &p) == 0 &&
	    memchr(p.error_message, '\0', sizeof(p.error_message)) == NULL)
		abort();
	memset(&p, 0x55, sizeof(p));
	if (ws_otlp_json_decode_response(s, size, &p) == 0 &&
	    memchr(p.error_message, '\0', sizeof(p.error_message)) == NULL)
		abort();
	free(s);
	return 0;
}

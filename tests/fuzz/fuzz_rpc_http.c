/* fuzz_rpc_http.c: libFuzzer target for the RPC's HTTP side: the Authorization header (Basic,
 * base64), the Host header's DNS rebinding check and the request path's route, each on the
 * input as a header value or URI. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "rpc.h"
#include "rpc_private.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Header values and URIs reach us as C strings (evhttp stops at a NUL). */
	char *s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';

	static char *const whitelist[] = { "*.example.org", "seedbox", "[a-c]*.lan" };
	(void)rpc_host_allowed(s, whitelist, 3);

	/* Only the exact credentials match; the input itself never does unless it encodes them. */
	bool ok = rpc_basic_auth_matches(s, "downpour", "0123456789abcdef");
	if (ok) {
		size_t n;
		const char *b = s + 6;
		while (*b == ' ')
			b++;
		unsigned char *plain = rpc_base64_decode(b, strlen(b), &n);
		if (plain == NULL || n != 25 || memcmp(plain, "downpour:0123456789abcdef", 25) != 0)
			abort();
		free(plain);
	}
	/* The real credentials, encoded, always match. */
	static const char cred[] = "downpour:0123456789abcdef";
	char *b64 = rpc_base64_encode((const unsigned char *)cred, sizeof cred - 1);
	char *hdr = xasprintf("Basic %s", b64);
	if (!rpc_basic_auth_matches(hdr, "downpour", "0123456789abcdef"))
		abort();
	free(hdr);
	free(b64);

	const char *rest;
	enum rpc_route r = rpc_route_of(s, &rest);
	if (r == RPC_ROUTE_WEB) {
		if (rest == NULL || rest < s || rest > s + size)
			abort();
		free(rpc_web_path(rest));
	} else if (rest != NULL) {
		abort();
	}
	free(s);
	return 0;
}

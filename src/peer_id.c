/* peer_id.c: generating our peer id and naming remote clients from theirs (Azureus-style,
 * Shadow-style, Mainline-style, aria2; anything else shown as hex). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "log.h"
#include "peer_id.h"

enum peer_id_fmt {
	PID_THREE,       /* -XXabc?- : a.b.c */
	PID_FOUR,        /* -XXabcd- : a.b.c.d */
	PID_THREE_TAG,   /* -XXabcd- : a.b.c, plus .d when d is not 0 */
	PID_TRANSMISSION,
	PID_TWO_TWO,     /* -XXabcd- : ab.cd as numbers (BitComet-like "1.80") */
	PID_RAW          /* -XXabcd- : the four characters as they are */
};

struct peer_id_client {
	char code[3];
	const char *name;
	enum peer_id_fmt fmt;
};

/* Azureus-style two-letter codes (from the BEP 20 lists and what real swarms send). */
static const struct peer_id_client peer_id_azureus[] = {
	{ "7T", "aTorrent", PID_THREE },
	{ "AG", "Ares", PID_FOUR },
	{ "AR", "Arctic", PID_FOUR },
	{ "AT", "Artemis", PID_FOUR },
	{ "AZ", "Azureus/Vuze", PID_FOUR },
	{ "BB", "BitBuddy", PID_RAW },
	{ "BC", "BitComet", PID_TWO_TWO },
	{ "BE", "BitTorrent SDK", PID_FOUR },
	{ "BF", "Bitflu", PID_RAW },
	{ "BI", "BiglyBT", PID_FOUR },
	{ "BT", "BitTorrent", PID_THREE },
	{ "BW", "BitWombat", PID_FOUR },
	{ "DE", "Deluge", PID_THREE_TAG },
	{ "DP", "Propagate Data Client", PID_FOUR },
	{ "DW", "downpour", PID_THREE_TAG },
	{ "FD", "Free Download Manager", PID_THREE },
	{ "FW", "FrostWire", PID_THREE },
	{ "FX", "Freebox BitTorrent", PID_FOUR },
	{ "HL", "Halite", PID_THREE },
	{ "KG", "KGet", PID_THREE },
	{ "KT", "KTorrent", PID_THREE },
	{ "LT", "libtorrent (Rasterbar)", PID_THREE_TAG },
	{ "LW", "LimeWire", PID_RAW },
	{ "MG", "MediaGet", PID_FOUR },
	{ "PI", "PicoTorrent", PID_THREE },
	{ "PT", "Popcorn Time", PID_FOUR },
	{ "qB", "qBittorrent", PID_THREE_TAG },
	{ "QD", "QQDownload", PID_FOUR },
	{ "RT", "Retriever", PID_FOUR },
	{ "SD", "Thunder (XunLei)", PID_FOUR },
	{ "ST", "SymTorrent", PID_FOUR },
	{ "TB", "Torch", PID_FOUR },
	{ "TL", "Tribler", PID_FOUR },
	{ "TR", "Transmission", PID_TRANSMISSION },
	{ "TT", "TuoTu", PID_FOUR },
	{ "UM", "\xc2\xb5Torrent Mac", PID_THREE },
	{ "UT", "\xc2\xb5Torrent", PID_THREE },
	{ "UW", "\xc2\xb5Torrent Web", PID_THREE },
	{ "WD", "WebTorrent Desktop", PID_FOUR },
	{ "WW", "WebTorrent", PID_FOUR },
	{ "XL", "Xunlei", PID_FOUR },
	{ "ZT", "ZipTorrent", PID_FOUR },
	{ "lt", "libTorrent (Rakshasa)", PID_THREE },
};

/* Shadow-style single letters. */
static const struct {
	char letter;
	const char *name;
} peer_id_shadow[] = {
	{ 'A', "ABC" },
	{ 'O', "Osprey Permaseed" },
	{ 'Q', "BTQueue" },
	{ 'R', "Tribler" },
	{ 'S', "Shadow" },
	{ 'T', "BitTornado" },
	{ 'U', "UPnP NAT Bit Torrent" },
};

/* A version character: 0-9, then A-Z for 10-35, a-z for 36-61; -1 for anything else. */
static int
peer_id_digit(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 36;
	return -1;
}

static bool
peer_id_is_alnum(uint8_t c)
{
	return peer_id_digit(c) >= 0;
}

static bool
peer_id_is_num(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool
peer_id_azureus_version(const struct peer_id_client *c, const uint8_t *v, char *out,
    size_t outlen)
{
	int d[4];
	for (int i = 0; i < 4; i++)
		d[i] = peer_id_digit(v[i]);

	switch (c->fmt) {
	case PID_RAW:
		snprintf(out, outlen, "%s %c%c%c%c", c->name, v[0], v[1], v[2], v[3]);
		return true;
	case PID_TWO_TWO:
		if (!peer_id_is_num(v[0]) || !peer_id_is_num(v[1]) || !peer_id_is_num(v[2]) ||
		    !peer_id_is_num(v[3]))
			return false;
		snprintf(out, outlen, "%s %d.%d%d", c->name, d[0] * 10 + d[1], d[2], d[3]);
		return true;
	case PID_TRANSMISSION:
		/* -TR0006- is 0.6, -TR0072- is 0.72, -TR111Z- is 1.11+, -TR400B- is 4.0.0 beta. */
		if (memcmp(v, "000", 3) == 0 && peer_id_is_num(v[3]))
			snprintf(out, outlen, "%s 0.%c", c->name, v[3]);
		else if (memcmp(v, "00", 2) == 0 && peer_id_is_num(v[2]) && peer_id_is_num(v[3]))
			snprintf(out, outlen, "%s 0.%c%c", c->name, v[2], v[3]);
		else if (peer_id_is_num(v[0]) && v[0] <= '3' && peer_id_is_num(v[1]) &&
		    peer_id_is_num(v[2]))
			snprintf(out, outlen, "%s %c.%c%c%s", c->name, v[0], v[1], v[2],
			    v[3] == 'Z' || v[3] == 'X' ? "+" : "");
		else if (d[0] >= 0 && d[1] >= 0 && d[2] >= 0)
			snprintf(out, outlen, "%s %d.%d.%d%s", c->name, d[0], d[1], d[2],
			    v[3] == 'Z' || v[3] == 'X' ? " (dev)" : v[3] == 'B' ? " (beta)" : "");
		else
			return false;
		return true;
	case PID_THREE:
		if (d[0] < 0 || d[1] < 0 || d[2] < 0)
			return false;
		snprintf(out, outlen, "%s %d.%d.%d", c->name, d[0], d[1], d[2]);
		return true;
	case PID_THREE_TAG:
		if (d[0] < 0 || d[1] < 0 || d[2] < 0)
			return false;
		if (d[3] > 0 && d[3] < 10)
			snprintf(out, outlen, "%s %d.%d.%d.%d", c->name, d[0], d[1], d[2], d[3]);
		else
			snprintf(out, outlen, "%s %d.%d.%d", c->name, d[0], d[1], d[2]);
		return true;
	case PID_FOUR:
		if (d[0] < 0 || d[1] < 0 || d[2] < 0 || d[3] < 0)
			return false;
		snprintf(out, outlen, "%s %d.%d.%d.%d", c->name, d[0], d[1], d[2], d[3]);
		return true;
	}
	return false;
}

static bool
peer_id_name_azureus(const uint8_t *id, char *out, size_t outlen)
{
	if (id[0] != '-' || id[7] != '-')
		return false;
	for (int i = 1; i < 7; i++)
		if (!peer_id_is_alnum(id[i]))
			return false;
	for (size_t i = 0; i < DP_ARRAY_LEN(peer_id_azureus); i++) {
		const struct peer_id_client *c = &peer_id_azureus[i];
		if (id[1] == (uint8_t)c->code[0] && id[2] == (uint8_t)c->code[1])
			return peer_id_azureus_version(c, id + 3, out, outlen);
	}
	/* Well-formed but not in our table: show the code and the version characters. */
	snprintf(out, outlen, "%c%c %c%c%c%c", id[1], id[2], id[3], id[4], id[5], id[6]);
	return true;
}

static bool
peer_id_name_shadow(const uint8_t *id, char *out, size_t outlen)
{
	const char *name = NULL;
	for (size_t i = 0; i < DP_ARRAY_LEN(peer_id_shadow); i++)
		if (id[0] == (uint8_t)peer_id_shadow[i].letter)
			name = peer_id_shadow[i].name;
	if (name == NULL)
		return false;
	/* Up to five version characters padded with '-', and "---" after them. */
	int n = 0;
	while (n < 5 && peer_id_is_alnum(id[1 + n]))
		n++;
	if (n < 2)
		return false;
	for (int i = 1 + n; i < 9; i++)
		if (id[i] != '-')
			return false;
	char ver[32];
	size_t o = 0;
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(ver + o, sizeof ver - o, i ? ".%d" : "%d",
		    peer_id_digit(id[1 + i]));
	snprintf(out, outlen, "%s %s", name, ver);
	return true;
}

/* Dash-separated decimal numbers after a prefix, as Mainline ("M7-2-1--") and aria2
 * ("A2-1-36-0-") write them. */
static bool
peer_id_name_dashed(const uint8_t *id, size_t start, const char *name, char *out,
    size_t outlen)
{
	char ver[32];
	size_t o = 0;
	int groups = 0;
	size_t i = start;

	while (i < PEER_ID_LEN && groups < 4 && peer_id_is_num(id[i])) {
		size_t digits = 0;
		if (o + 5 >= sizeof ver)
			return false;
		if (groups > 0)
			ver[o++] = '.';
		while (i < PEER_ID_LEN && peer_id_is_num(id[i]) && digits < 3) {
			ver[o++] = (char)id[i++];
			digits++;
		}
		if (i >= PEER_ID_LEN || id[i] != '-')
			return false;
		i++;
		groups++;
	}
	if (groups < 2)
		return false;
	ver[o] = '\0';
	snprintf(out, outlen, "%s %s", name, ver);
	return true;
}

void
peer_id_client_name(const uint8_t id[PEER_ID_LEN], char *out, size_t outlen)
{
	if (outlen == 0)
		return;
	if (peer_id_name_azureus(id, out, outlen))
		return;
	if (id[0] == 'A' && id[1] == '2' && id[2] == '-' &&
	    peer_id_name_dashed(id, 3, "aria2", out, outlen))
		return;
	if (id[0] == 'M' && peer_id_is_num(id[1]) &&
	    peer_id_name_dashed(id, 1, "BitTorrent", out, outlen))
		return;
	if (id[0] == 'Q' && peer_id_is_num(id[1]) &&
	    peer_id_name_dashed(id, 1, "Queen Bee", out, outlen))
		return;
	if (peer_id_name_shadow(id, out, outlen))
		return;
	char hex[2 * PEER_ID_LEN + 1];
	dp_hex_encode(id, PEER_ID_LEN, hex);
	snprintf(out, outlen, "%s", hex);
}

void
peer_id_generate(uint8_t out[PEER_ID_LEN])
{
	static const char alphabet[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uint8_t rnd[PEER_ID_LEN];
	size_t plen = sizeof PEER_ID_PREFIX - 1;

	if (RAND_bytes(rnd, sizeof rnd) != 1) {
		/* Uniqueness, not secrecy, is what a peer id needs: time and pid will do. */
		log_warn("peer id: OpenSSL RAND_bytes failed, deriving the id from time and pid");
		uint64_t seed = dp_now_us() ^ ((uint64_t)getpid() << 32);
		for (size_t i = 0; i < sizeof rnd; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			rnd[i] = (uint8_t)(seed >> 56);
		}
	}
	memcpy(out, PEER_ID_PREFIX, plen);
	for (size_t i = plen; i < PEER_ID_LEN; i++)
		out[i] = (uint8_t)alphabet[rnd[i] % (sizeof alphabet - 1)];
}

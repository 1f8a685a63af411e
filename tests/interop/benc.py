"""benc.py: a minimal bencoder for test scripts that write odd or hostile .torrent files by hand.

Import it with sys.path.insert(0, <tests/interop>); not executable on its own.
"""
import hashlib


def be(x):
    """Bencodes ints, str/bytes, lists and dicts (keys sorted, as BEP 3 wants)."""
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:" % len(x) + x
    if isinstance(x, list):
        return b"l" + b"".join(be(i) for i in x) + b"e"
    return b"d" + b"".join(be(k) + be(x[k]) for k in sorted(x)) + b"e"


def pieces(data, piece_length):
    """The v1 'pieces' string of data."""
    return b"".join(hashlib.sha1(data[i:i + piece_length]).digest()
                    for i in range(0, len(data), piece_length))

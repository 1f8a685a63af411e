"""benc.py: a minimal bencoder and decoder for test scripts that write odd or hostile .torrent
files and peer messages by hand.

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


def bdecode(b, i=0):
    """Decodes the value at b[i:]; returns (value, index after it). No validation: test input."""
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c in (b"l", b"d"):
        i += 1
        out = [] if c == b"l" else {}
        while b[i:i + 1] != b"e":
            if c == b"l":
                v, i = bdecode(b, i)
                out.append(v)
            else:
                k, i = bdecode(b, i)
                v, i = bdecode(b, i)
                out[k] = v
        return out, i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n], j + 1 + n

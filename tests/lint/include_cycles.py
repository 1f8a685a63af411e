#!/usr/bin/python3
"""include_cycles.py: the layering check over the `#include "..."` lines of src/ and ui/.

Fails (exit 1), naming what is wrong, when
  - modules form an include cycle (X.c, X.h and X_private.h are one module), unless the cycle's modules are
    all listed together on one line of include_cycles.allow (known cycles, being removed: that
    file must shrink to empty; a line nothing matches any more is reported as stale);
  - a front end (ui/, src/rpc*, src/monitor_server*, src/cmd_*, src/main.c) includes an
    engine-internal header, or defines the macro that lets it in. A header is internal when it
    refuses outsiders the way Transmission's peer-msgs.h does: `#ifndef MACRO` then `#error`.

Usage: include_cycles.py [TOP]   (TOP: the source tree; default $srcdir or this file's ../..)
"""
import os
import re
import sys

SOURCE_DIRS = ("src", "ui")
# Front ends reach the engine through engine.h only (DESIGN.md, "The engine's header is the
# only door"). Patterns are fnmatch-style over paths relative to the top.
FRONT_ENDS = ("ui/*", "src/rpc*", "src/monitor_server*", "src/cmd_*", "src/main.c",
              "src/commands.h")

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
IFNDEF_RE = re.compile(r'^\s*#\s*(?:ifndef\s+(\w+)|if\s+!\s*defined\s*\(?\s*(\w+)\s*\)?\s*$)')
IF_RE = re.compile(r'^\s*#\s*if')
ENDIF_RE = re.compile(r'^\s*#\s*endif\b')
ERROR_RE = re.compile(r'^\s*#\s*error\b')
DEFINE_RE = re.compile(r'^\s*#\s*define\s+(\w+)')


def read_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def module_of(rel):
    """src/peer.c and src/peer.h are the module src/peer; a module's private header shared by
    its files (src/rpc_private.h beside rpc.c, rpc_methods.c) belongs to it too."""
    stem = os.path.splitext(rel)[0]
    if rel.endswith("_private.h"):
        stem = stem[:-len("_private")]
    return stem


def resolve(top, includer, name):
    """Where the compiler finds "name": the includer's folder, then -I src, then -I ui."""
    for d in (os.path.dirname(includer),) + SOURCE_DIRS:
        rel = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(os.path.join(top, rel)):
            return rel
    return None   # config.h (generated), or a header outside src/ and ui/


def internal_guard(lines):
    """The macro of a `#ifndef MACRO ... #error` refusal, or None."""
    stack = []
    for line in lines:
        m = IFNDEF_RE.match(line)
        if m:
            stack.append(m.group(1) or m.group(2))
        elif IF_RE.match(line):
            stack.append(None)
        elif ENDIF_RE.match(line):
            if stack:
                stack.pop()
        elif ERROR_RE.match(line) and stack and stack[-1] is not None:
            return stack[-1]
    return None


def fnmatch_any(rel, patterns):
    import fnmatch
    return any(fnmatch.fnmatch(rel, p) for p in patterns)


def strongly_connected(graph):
    """Tarjan's algorithm, iterative; returns the components of more than one module."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    n = stack.pop()
                    on_stack.discard(n)
                    comp.append(n)
                    if n == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def shortest_cycle(graph, comp):
    """One cycle through the component's first module, shortest first, for the message."""
    members = set(comp)
    start = comp[0]
    prev = {start: None}
    queue = [start]
    for node in queue:
        for nxt in sorted(graph[node]):
            if nxt not in members:
                continue
            if nxt == start:
                path = [node]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return [start] + list(reversed(path[:-1])) + [start]
            if nxt not in prev:
                prev[nxt] = node
                queue.append(nxt)
    return comp


def load_allow(path):
    allowed = []
    if os.path.isfile(path):
        for line in read_lines(path):
            line = line.split("#", 1)[0].split()
            if line:
                allowed.append(frozenset(line))
    return allowed


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    top = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("srcdir") or \
        os.path.join(here, "..", "..")
    top = os.path.abspath(top)
    files = []
    for d in SOURCE_DIRS:
        for name in sorted(os.listdir(os.path.join(top, d))):
            if name.endswith((".c", ".h")):
                files.append(os.path.join(d, name))
    if not files:
        print("include_cycles: no sources under %s" % top, file=sys.stderr)
        return 2

    graph = {}                      # module -> modules it includes
    edges = {}                      # (module, module) -> the first include line that made it
    includes = {}                   # file -> resolved includes
    guards = {}                     # internal header -> its guard macro
    for rel in files:
        lines = read_lines(os.path.join(top, rel))
        includes[rel] = []
        mod = module_of(rel)
        graph.setdefault(mod, set())
        for n, line in enumerate(lines, 1):
            m = INCLUDE_RE.match(line)
            if not m:
                continue
            target = resolve(top, rel, m.group(1))
            if target is None:
                continue
            includes[rel].append((n, target))
            tmod = module_of(target)
            if tmod != mod:
                graph[mod].add(tmod)
                edges.setdefault((mod, tmod), "%s:%d" % (rel, n))
        if rel.endswith(".h"):
            g = internal_guard(lines)
            if g is not None:
                guards[rel] = g

    problems = 0
    allow_path = os.path.join(here, "include_cycles.allow")
    allowed = load_allow(allow_path)
    used = set()
    for comp in strongly_connected(graph):
        cycle = shortest_cycle(graph, comp)
        via = ", ".join(edges[(a, b)] for a, b in zip(cycle, cycle[1:]))
        covering = [i for i, a in enumerate(allowed) if set(comp) <= a]
        if covering:
            used.update(covering)
            print("known cycle (include_cycles.allow): %s" % " -> ".join(cycle))
            if len(comp) > len(cycle) - 1:
                print("    component: %s" % " ".join(comp))
        else:
            problems += 1
            print("CYCLE: %s  (%s)" % (" -> ".join(cycle), via))
            if len(comp) > len(cycle) - 1:
                print("    modules in the cycle: %s" % " ".join(comp))
            for i, a in enumerate(allowed):
                if a & set(comp):
                    used.add(i)
                    print("    a known cycle grew: new in it: %s" %
                          " ".join(sorted(set(comp) - a)))
    in_cycles = set()
    for comp in strongly_connected(graph):
        in_cycles.update(comp)
    for i, a in enumerate(allowed):
        if i not in used:
            print("stale line in include_cycles.allow (no such cycle now): %s" %
                  " ".join(sorted(a)))
        elif a - in_cycles:
            print("include_cycles.allow can shrink: in no cycle now: %s" %
                  " ".join(sorted(a - in_cycles)))

    guard_macros = set(guards.values())
    for rel in files:
        if not fnmatch_any(rel, FRONT_ENDS):
            continue
        for n, target in includes[rel]:
            if target in guards:
                problems += 1
                print("INTERNAL: %s:%d includes %s (engine-internal: guarded by %s); front "
                      "ends use engine.h" % (rel, n, target, guards[target]))
        for n, line in enumerate(read_lines(os.path.join(top, rel)), 1):
            m = DEFINE_RE.match(line)
            if m and m.group(1) in guard_macros:
                problems += 1
                print("INTERNAL: %s:%d defines %s, the engine-internal headers' guard" %
                      (rel, n, m.group(1)))

    print("include_cycles: %d modules, %d internal headers%s, %d problem%s" %
          (len(graph), len(guards),
           " (guard %s)" % ", ".join(sorted(guard_macros)) if guard_macros else "",
           problems, "" if problems == 1 else "s"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

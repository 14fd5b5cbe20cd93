#!/usr/bin/env python3
"""Fails when the #include "..." graph between the project's files has a circle.

A file's module is its path without .c/.h (common/util.c and common/util.h are common/util);
module a depends on b when a.c or a.h includes b.h. A circle of two or more modules
(a.c includes b.h and b.c includes a.h) is reported with its members; exit 1."""
import os
import re
import sys

INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SKIP = {'_build', '.git', 'node_modules'}


def graph(root):
    edges = {}
    for d, subdirs, files in os.walk(root):
        subdirs[:] = [s for s in subdirs if s not in SKIP and not s.startswith('_build')]
        for f in files:
            if not f.endswith(('.c', '.h')):
                continue
            path = os.path.relpath(os.path.join(d, f), root)
            mod = path[:-2]
            with open(os.path.join(root, path), encoding='utf-8', errors='replace') as fh:
                for inc in INC.findall(fh.read()):
                    if inc.endswith('.h') and os.path.exists(os.path.join(root, inc)):
                        if inc[:-2] != mod:
                            edges.setdefault(mod, set()).add(inc[:-2])
    return edges


def circles(edges):
    """Strongly connected components of two or more modules (Tarjan, iterative)."""
    index, low, on, stack, out, n = {}, {}, set(), [], [], [0]
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = n[0]; n[0] += 1; stack.append(start); on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = n[0]; n[0] += 1; stack.append(w); on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..')
    found = circles(graph(root))
    for comp in found:
        print('check-includes: circle between ' + ' <-> '.join(comp), file=sys.stderr)
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())

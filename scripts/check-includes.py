#!/usr/bin/env python3
"""Fails when the project's files depend on each other in a circle; exit 1.

Two graphs, each without a circle:
- modules: a file's module is its path without .c/.h (common/util.c and common/util.h are
  common/util); module a depends on b when a.c or a.h includes b.h. A circle (a.c includes
  b.h and b.c includes a.h) is reported with its members. An internal header X_int.h and
  the files that include it (they borrow X's insides) are part of module X.
- files: a.c depends on b.c when a.c uses (names) a function that a header a.c includes
  (directly or through another header) declares and b.c defines. This finds the circles that one header hides when it declares
  the functions of several files (ccli.h for ccli.c and ccli_rp.c, each calling the other).
  A function defined in several files (platform_posix.c and platform_win.c) links to each,
  except from a file that defines it too.
Only the program's folders count (tests, fuzz targets and benchmarks call the code, never
the other way)."""
import os
import re
import sys

INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SKIP = {'_build', '.git', 'node_modules'}
NOT_CODE = ('tests', 'fuzz', 'bench')  # top folders that only call the code


def graph(root):
    incs = {}
    for d, subdirs, files in os.walk(root):
        subdirs[:] = [s for s in subdirs if s not in SKIP and not s.startswith('_build')]
        for f in files:
            if not f.endswith(('.c', '.h')):
                continue
            path = os.path.relpath(os.path.join(d, f), root)
            if path.split(os.sep)[0] in NOT_CODE:
                continue  # a test that borrows X_int.h is not part of module X
            with open(os.path.join(root, path), encoding='utf-8', errors='replace') as fh:
                incs[path] = [i for i in INC.findall(fh.read())
                              if i.endswith('.h') and os.path.exists(os.path.join(root, i))]
    owner = internal_owners(incs)
    edges = {}
    for path, found in incs.items():
        mod = owner.get(path[:-2], path[:-2])
        for inc in found:
            dep = owner.get(inc[:-2], inc[:-2])
            if dep != mod:
                edges.setdefault(mod, set()).add(dep)
    return edges


def internal_owners(incs):
    """{module: the module it is part of}: X_int.h is the internal side of module X, and a
    module whose files include X_int.h borrows X's insides, so it is part of X (the central
    store split by concern over one handle: cstore_*.c, cmeters.c). Circles inside X are
    the files graph's to find."""
    owner = {}
    for path, found in incs.items():
        for inc in found:
            if inc[:-2].endswith('_int'):
                whole = inc[:-len('_int.h')]
                owner[inc[:-2]] = whole
                if path[:-2] != whole:
                    owner[path[:-2]] = whole
    return owner


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


def strip(text):
    """The text without comments, string and character literals, and preprocessor lines."""
    text = re.sub(r'/\*.*?\*/|//[^\n]*', ' ', text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\\n])*"|\'(\\.|[^\'\\\n])*\'', '""', text)
    return re.sub(r'^\s*#.*?(?<!\\)$', '', text, flags=re.M | re.S)


NAME = re.compile(r'\b([A-Za-z_]\w*)\s*\($')


def top_level(text):
    """(prefix, name, ends_with) of each top-level function-like declaration or definition:
    ends_with is '{' for a definition, ';' for a declaration."""
    out, depth, start, i = [], 0, 0, 0
    paren = 0
    while i < len(text):
        ch = text[i]
        if ch == '(':
            paren += 1
        elif ch == ')':
            paren -= 1
        elif ch == '{':
            if depth == 0 and paren == 0:
                out.append((text[start:i], '{'))
            depth += 1
        elif ch == '}':
            depth -= 1
            if depth == 0:
                start = i + 1
        elif ch == ';' and depth == 0 and paren == 0:
            out.append((text[start:i], ';'))
            start = i + 1
        i += 1
    found = []
    for chunk, end in out:
        head = chunk.split('(')[0] + '(' if '(' in chunk else ''
        m = NAME.search(head)
        if not m or '(*' in chunk.replace(' ', '')[:len(head) + 2]:
            continue
        prefix = head[:m.start()]
        if re.search(r'\b(typedef|static|return|sizeof)\b', prefix) or '=' in prefix:
            continue
        found.append((m.group(1), end))
    return found


def visible(path, texts):
    """The project's headers path includes, directly or through other headers."""
    seen, todo = set(), [path]
    while todo:
        for inc in INC.findall(texts.get(todo.pop(), ('', ''))[0]):
            if inc in texts and inc not in seen:
                seen.add(inc)
                todo.append(inc)
    return seen


def file_graph(root):
    """The files graph (see above): {a.c: {b.c: function}}."""
    sources, texts = [], {}
    for d, subdirs, files in os.walk(root):
        subdirs[:] = [s for s in subdirs if s not in SKIP and not s.startswith('_build')]
        rel = os.path.relpath(d, root)
        if rel.split(os.sep)[0] in NOT_CODE:
            continue
        for f in files:
            if f.endswith(('.c', '.h')):
                path = os.path.normpath(os.path.join(rel, f))
                with open(os.path.join(root, path), encoding='utf-8', errors='replace') as fh:
                    raw = fh.read()
                texts[path] = (raw, strip(raw))
                sources.append(path)
    declared, defined = {}, {}
    for path in sources:
        for name, end in top_level(texts[path][1]):
            if path.endswith('.h') and end == ';':
                declared.setdefault(path, set()).add(name)
            elif path.endswith('.c') and end == '{':
                defined.setdefault(name, set()).add(path)
    edges = {}
    for path in sources:
        if not path.endswith('.c'):
            continue
        raw, text = texts[path]
        used = set(re.findall(r'\b[A-Za-z_]\w*\b', text))
        for inc in visible(path, texts):
            for name in declared.get(inc, set()) & used:
                if path in defined.get(name, ()):
                    continue  # its own (one of several implementations: POSIX, Windows)
                for other in defined.get(name, ()):
                    if other != path:
                        edges.setdefault(path, {})[other] = name
    return edges


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..')
    found = circles(graph(root))
    for comp in found:
        print('check-includes: circle between ' + ' <-> '.join(comp), file=sys.stderr)
    files = file_graph(root)
    fcircles = circles({a: set(b) for a, b in files.items()})
    for comp in fcircles:
        why = ', '.join('%s uses %s of %s' % (a, files[a][b], b)
                        for a in comp for b in sorted(files.get(a, {})) if b in comp)
        print('check-includes: circle between files ' + ' <-> '.join(comp) + ' (' + why + ')',
              file=sys.stderr)
    return 1 if found or fcircles else 0


if __name__ == '__main__':
    sys.exit(main())

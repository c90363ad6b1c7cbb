#!/usr/bin/env python3
"""Finds file-level import circles in every crate of the workspace.

Usage: scripts/check-imports.py [--root DIR] [--edges]

Each crate root (src/lib.rs, src/main.rs, src/bin/*.rs, examples/*.rs and the [lib],
[[bin]] and [[example]] paths of its Cargo.toml) is walked through its `mod` declarations,
so every .rs file gets a module path. Then every reference from one file to another
module of the same crate becomes an edge:

  * `use crate::..`, `use super::..`, `use self::..` and `use child::..` (a module the
    current one declares), use trees with braces, `self` and globs included;
  * path expressions such as `crate::a::b::f(..)`, `super::X`, or `alias::f(..)` where
    `alias` is a module bound by a `use` or declared by `mod`.

A path resolves to the deepest existing module file; when it names an item that a module
re-exports (`pub use child::Item;`, also globs), it follows the re-export to the file that
defines the item. A re-export itself is not an edge: `mod.rs` re-exporting its children
while the children use `super::Shared` is the usual layout, not a circle. A plain
(private) `use`, a `pub use` whose name the file's own code also uses, and a path
expression are edges.

Left out: `#[cfg(test)]` items (test modules and what they declare), files under a
`tests/` directory of a crate (integration tests, test module trees), and the fuzz
workspace's `target/`.

Prints every strongly connected component with more than one file, with the references
that make it up, and exits 1 if there is any (0 if none, 2 on a usage error). Python 3.11+,
standard library only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from dataclasses import dataclass, field

# The workspace's crates besides the root [workspace] members: fuzz is its own workspace.
EXTRA_CRATES = ["fuzz"]

# ---------------------------------------------------------------------------------------
# Lexing: identifiers, `::`, and single punctuation characters; comments, strings, chars,
# lifetimes and numbers are dropped. Each token carries its line number.
# ---------------------------------------------------------------------------------------


@dataclass
class Tok:
    text: str
    line: int


def _skip_block_comment(src: str, i: int, line: int) -> tuple[int, int]:
    depth = 1
    i += 2
    n = len(src)
    while i < n and depth:
        if src.startswith("/*", i):
            depth += 1
            i += 2
        elif src.startswith("*/", i):
            depth -= 1
            i += 2
        else:
            if src[i] == "\n":
                line += 1
            i += 1
    return i, line


def _skip_string(src: str, i: int, line: int) -> tuple[int, int]:
    """i at the opening quote of a (byte) string."""
    i += 1
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            if i + 1 < n and src[i + 1] == "\n":
                line += 1
            i += 2
            continue
        if c == "\n":
            line += 1
        i += 1
        if c == '"':
            break
    return i, line


def _skip_raw_string(src: str, i: int, line: int) -> tuple[int, int] | None:
    """i at the `r` of r"..", r#".."#; None if it is not a raw string."""
    j = i + 1
    hashes = 0
    while j < len(src) and src[j] == "#":
        hashes += 1
        j += 1
    if j >= len(src) or src[j] != '"':
        return None
    end = src.find('"' + "#" * hashes, j + 1)
    if end < 0:
        end = len(src)
    line += src.count("\n", i, end)
    return end + 1 + hashes, line


def lex(src: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n, line = 0, len(src), 1
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            i, line = _skip_block_comment(src, i, line)
        elif c == '"':
            i, line = _skip_string(src, i, line)
        elif c in "rb" and (
            src.startswith('r"', i)
            or src.startswith("r#", i)
            or src.startswith('br"', i)
            or src.startswith("br#", i)
        ):
            start = i + 1 if c == "b" else i
            raw = _skip_raw_string(src, start, line)
            if raw is None:  # r#ident
                j = i + 2
                while j < n and (src[j].isalnum() or src[j] == "_"):
                    j += 1
                toks.append(Tok(src[i + 2 : j], line))
                i = j
            else:
                i, line = raw
        elif c == "b" and src.startswith('b"', i):
            i, line = _skip_string(src, i + 1, line)
        elif c == "b" and src.startswith("b'", i):
            i = _skip_char(src, i + 1)
        elif c == "'":
            i = _skip_char(src, i)
        elif c.isalpha() or c == "_":
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] == "_"):
                j += 1
            toks.append(Tok(src[i:j], line))
            i = j
        elif c.isdigit():
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] == "_"):
                j += 1
            i = j
        elif src.startswith("::", i):
            toks.append(Tok("::", line))
            i += 2
        else:
            toks.append(Tok(c, line))
            i += 1
    return toks


def _skip_char(src: str, i: int) -> int:
    """i at a `'`: a char literal ('x', '\\n', '\\u{..}') or a lifetime ('a)."""
    n = len(src)
    if i + 1 < n and src[i + 1] == "\\":
        j = src.find("'", i + 2)
        return n if j < 0 else j + 1
    if i + 2 < n and src[i + 2] == "'":
        return i + 3
    # A lifetime or label: skip the quote, the identifier is lexed (and harmless).
    return i + 1


# ---------------------------------------------------------------------------------------
# The module tree.
# ---------------------------------------------------------------------------------------

ModPath = tuple[str, ...]


@dataclass
class Module:
    path: ModPath
    file: str
    children: dict[str, ModPath] = field(default_factory=dict)
    items: set[str] = field(default_factory=set)
    # name -> (module the `pub use` is written in, its path segments)
    reexports: dict[str, tuple[ModPath, list[str]]] = field(default_factory=dict)
    glob_reexports: list[tuple[ModPath, list[str]]] = field(default_factory=list)
    # every `use` binding (public or not), for path expressions starting with it
    aliases: dict[str, tuple[ModPath, list[str]]] = field(default_factory=dict)
    # identifiers the module's own code mentions (outside `use` declarations)
    mentions: set[str] = field(default_factory=set)
    # `pub use` paths by the name they bind: an edge only if the module mentions the name
    public_uses: list[tuple[str, int, list[str]]] = field(default_factory=list)


@dataclass
class Ref:
    """A reference from a module to a path, to resolve once every module is known."""

    module: ModPath
    file: str
    line: int
    segs: list[str]
    kind: str  # "use" or "path"


@dataclass
class Crate:
    name: str
    root_file: str
    modules: dict[ModPath, Module] = field(default_factory=dict)
    refs: list[Ref] = field(default_factory=list)


ITEM_KEYWORDS = {"fn", "struct", "enum", "trait", "type", "const", "static", "union"}
OPEN = {"(": ")", "[": "]", "{": "}"}
CLOSE = {")", "]", "}"}


def is_ident(t: str) -> bool:
    return t[:1].isalpha() or t[:1] == "_"


def attr_is_test(toks: list[Tok], start: int, end: int) -> bool:
    """`#[cfg(...)]` between start and end mentions `test`, not under `not(..)`."""
    body = [t.text for t in toks[start:end]]
    if not body or body[0] != "cfg":
        return False
    for k, t in enumerate(body):
        if t == "test":
            # cfg(not(test)): look back for an unclosed `not (`
            depth = 0
            negated = False
            for b in range(k - 1, -1, -1):
                if body[b] == ")":
                    depth += 1
                elif body[b] == "(":
                    if depth == 0:
                        if b > 0 and body[b - 1] == "not":
                            negated = True
                        break
                    depth -= 1
            if not negated:
                return True
    return False


def skip_group(toks: list[Tok], i: int) -> int:
    """i at an opening bracket; returns the index after its match."""
    depth = 0
    n = len(toks)
    while i < n:
        t = toks[i].text
        if t in OPEN:
            depth += 1
        elif t in CLOSE:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def skip_item(toks: list[Tok], i: int) -> int:
    """Skips one item (or statement) from i: to a `;` or a closing `}` at depth 0."""
    n = len(toks)
    while i < n:
        t = toks[i].text
        if t == "#" and i + 1 < n and toks[i + 1].text == "[":
            i = skip_group(toks, i + 1)
            continue
        if t == ";":
            return i + 1
        if t in CLOSE:  # end of the enclosing block: stop without consuming it
            return i
        if t == "{":
            i = skip_group(toks, i)
            # `struct X { .. }`, `fn f() { .. }`, `mod m { .. }`, `impl .. { .. }` end here;
            # `let x = S { .. };` goes on to its `;`.
            if i < n and toks[i].text == ";":
                return i + 1
            return i
        if t in ("(", "["):
            i = skip_group(toks, i)
            continue
        i += 1
    return n


def parse_use_tree(toks: list[Tok], i: int) -> tuple[list[list[str]], int]:
    """i after `use`; returns the paths it imports and the index after its `;`. A glob
    ends in "*"; a renaming keeps "name as alias" as its last segment ("self as alias"
    for `a::{self as b}`)."""
    paths: list[list[str]] = []
    n = len(toks)

    def tree(i: int, prefix: list[str]) -> int:
        segs = list(prefix)
        while i < n:
            t = toks[i].text
            if t == "::":
                i += 1
            elif t == "{":
                i += 1
                while i < n and toks[i].text not in ("}", ";"):
                    i = tree(i, segs)
                    if i < n and toks[i].text == ",":
                        i += 1
                return i + 1
            elif t == "*":
                paths.append(segs + ["*"])
                return i + 1
            elif is_ident(t):
                if t == "self" and segs == prefix and prefix:  # `a::{self, b}`
                    t = "self"
                    i += 1
                    if i + 1 < n and toks[i].text == "as":
                        paths.append(segs + [f"self as {toks[i + 1].text}"])
                        return i + 2
                    paths.append(list(segs))
                    return i
                segs.append(t)
                i += 1
                if i + 1 < n and toks[i].text == "as":
                    segs[-1] = f"{t} as {toks[i + 1].text}"
                    paths.append(segs)
                    return i + 2
                if i < n and toks[i].text == "::":
                    continue
                paths.append(segs)
                return i
            else:
                return i
        return i

    i = tree(i, [])
    while i < n and toks[i].text != ";":
        i += 1
    return paths, i + 1


def child_file(parent_file: str, parent_is_dir_owner: bool, inline: list[str], name: str) -> str | None:
    """Where `mod name;` lives when declared in parent_file (inside inline modules)."""
    d = os.path.dirname(parent_file)
    if not parent_is_dir_owner:
        d = os.path.join(d, os.path.splitext(os.path.basename(parent_file))[0])
    d = os.path.join(d, *inline)
    for cand in (os.path.join(d, name + ".rs"), os.path.join(d, name, "mod.rs")):
        if os.path.isfile(cand):
            return cand
    return None


def dir_owner(path: str, is_root: bool) -> bool:
    return is_root or os.path.basename(path) == "mod.rs"


def in_tests_dir(crate_dir: str, path: str) -> bool:
    rel = os.path.relpath(path, crate_dir)
    return "tests" in rel.split(os.sep)[:-1]


def load_crate(name: str, crate_dir: str, root_file: str) -> Crate:
    crate = Crate(name, root_file)
    todo: list[tuple[str, ModPath, bool]] = [(root_file, (), True)]
    seen: set[str] = set()
    while todo:
        path, mpath, is_root = todo.pop()
        if path in seen or in_tests_dir(crate_dir, path):
            continue
        seen.add(path)
        with open(path, encoding="utf-8") as f:
            toks = lex(f.read())
        parse_file(crate, crate_dir, path, mpath, dir_owner(path, is_root), toks, todo)
    used_reexports(crate)
    return crate


def parse_file(crate, crate_dir, path, mpath, owns_dir, toks, todo) -> None:
    mod = crate.modules.setdefault(mpath, Module(mpath, path))
    mod.file = path
    # stack of (module path, inline module names inside the file, brace depth of its body)
    stack: list[tuple[ModPath, list[str], int]] = [(mpath, [], 0)]
    depth = 0
    i, n = 0, len(toks)
    pending_path_attr: str | None = None
    # enum bodies (brace depth, paren depth): their variant names are not mentions
    enums: list[tuple[int, int]] = []
    pending_enum = False
    pdepth = 0
    while i < n:
        cur, inline, _ = stack[-1]
        cmod = crate.modules[cur]
        t = toks[i].text
        if t == "#" and i + 1 < n and toks[i + 1].text in ("[", "!"):
            j = i + 1 if toks[i + 1].text == "[" else i + 2
            end = skip_group(toks, j)
            if attr_is_test(toks, j + 1, end - 1):
                i = skip_item(toks, end)
                continue
            body = [x.text for x in toks[j + 1 : end - 1]]
            if body[:2] == ["path", "="]:
                pending_path_attr = "?"  # the string itself is dropped by the lexer
            i = end
            continue
        if t == "{":
            depth += 1
            if pending_enum:
                enums.append((depth, pdepth))
                pending_enum = False
            i += 1
            continue
        if t == "}":
            if depth == stack[-1][2] and len(stack) > 1:
                stack.pop()
            if enums and enums[-1][0] == depth:
                enums.pop()
            depth -= 1
            i += 1
            continue
        if t in ("(", "["):
            pdepth += 1
        elif t in (")", "]"):
            pdepth -= 1
        elif t == ";":
            pending_enum = False
        elif t == "enum" and i + 1 < n and is_ident(toks[i + 1].text):
            pending_enum = True
        if t == "mod" and i + 1 < n and is_ident(toks[i + 1].text) and (
            i == 0 or toks[i - 1].text not in ("::",)
        ):
            name = toks[i + 1].text
            nxt = toks[i + 2].text if i + 2 < n else ""
            child = cur + (name,)
            cmod.children[name] = child
            if nxt == ";":
                file = None
                if pending_path_attr is None:
                    file = child_file(path, owns_dir, inline, name)
                if file is not None:
                    todo.append((file, child, False))
                else:
                    crate.modules.setdefault(child, Module(child, path))
                pending_path_attr = None
                i += 3
                continue
            if nxt == "{":
                crate.modules.setdefault(child, Module(child, path))
                depth += 1
                stack.append((child, inline + [name], depth))
                i += 3
                continue
        pending_path_attr = None
        if t == "use" and (i == 0 or toks[i - 1].text != "::"):
            public = i > 0 and (
                toks[i - 1].text == "pub"
                or (toks[i - 1].text == ")" and _pub_restricted(toks, i - 1))
            )
            paths, i = parse_use_tree(toks, i + 1)
            for segs in paths:
                record_use(crate, cmod, path, toks, segs, public, line=_line_of(toks, i - 1))
            continue
        if t in ITEM_KEYWORDS and i + 1 < n and is_ident(toks[i + 1].text):
            if depth == stack[-1][2]:
                cmod.items.add(toks[i + 1].text)
        if t == "macro_rules" and i + 2 < n and toks[i + 1].text == "!":
            cmod.items.add(toks[i + 2].text)
        if is_ident(t):
            variant = (
                enums
                and enums[-1] == (depth, pdepth)
                and i > 0
                and toks[i - 1].text in ("{", ",", "]")
            )
            if not variant:
                cmod.mentions.add(t)
        if is_ident(t) and (i == 0 or toks[i - 1].text != "::") and i + 1 < n and toks[i + 1].text == "::":
            segs, j = read_path(toks, i)
            crate.refs.append(Ref(cur, path, toks[i].line, segs, "path"))
            i = j
            continue
        i += 1


def _pub_restricted(toks: list[Tok], close: int) -> bool:
    """toks[close] is `)`: is it the end of `pub(crate)` / `pub(super)` / `pub(in ..)`?"""
    j = close
    while j >= 0 and toks[j].text != "(":
        j -= 1
    return j > 0 and toks[j - 1].text == "pub"


def _line_of(toks: list[Tok], i: int) -> int:
    return toks[max(0, min(i, len(toks) - 1))].line


def read_path(toks: list[Tok], i: int) -> tuple[list[str], int]:
    segs = [toks[i].text]
    i += 1
    n = len(toks)
    while i + 1 < n and toks[i].text == "::":
        nxt = toks[i + 1].text
        if nxt == "<":  # turbofish: the path to here is what counts
            break
        if not is_ident(nxt):
            break
        segs.append(nxt)
        i += 2
    return segs, i


def record_use(crate, cmod, path, toks, segs, public, line) -> None:
    if not segs:
        return
    last = segs[-1]
    alias = None
    if " as " in last:
        base, alias = last.split(" as ")
        segs = segs[:-1] + ([] if base == "self" else [base])
    if not segs:
        return
    if segs[-1] == "*":
        target = segs[:-1]
        if public:
            cmod.glob_reexports.append((cmod.path, target))
        else:
            crate.refs.append(Ref(cmod.path, path, line, target, "use"))
        return
    bound = alias or segs[-1]
    if bound == "_":
        bound = None
    if bound and bound not in ("crate", "super", "self"):
        cmod.aliases[bound] = (cmod.path, segs)
        if public:
            cmod.reexports[bound] = (cmod.path, segs)
            cmod.public_uses.append((bound, line, segs))
    if not public:
        crate.refs.append(Ref(cmod.path, path, line, segs, "use"))


def used_reexports(crate: Crate) -> None:
    """A `pub use` whose name the module's own code also uses is an edge as well."""
    for mod in crate.modules.values():
        for bound, line, segs in mod.public_uses:
            if bound in mod.mentions:
                crate.refs.append(Ref(mod.path, mod.file, line, segs, "pub use (used)"))


# ---------------------------------------------------------------------------------------
# Resolution.
# ---------------------------------------------------------------------------------------


class Resolver:
    def __init__(self, crate: Crate):
        self.c = crate

    def start(self, ctx: ModPath, segs: list[str], guard) -> tuple[ModPath, list[str]] | None:
        """The module a path starts from and its remaining segments; None if external."""
        first, rest = segs[0], segs[1:]
        if first == "crate":
            return (), rest
        if first == "self":
            return ctx, rest
        if first == "super":
            m = ctx
            while segs and segs[0] == "super":
                if not m:
                    return None
                m = m[:-1]
                segs = segs[1:]
            return m, segs
        mod = self.c.modules.get(ctx)
        if mod is None:
            return None
        if first in mod.children:
            return mod.children[first], rest
        if first in mod.aliases:
            actx, asegs = mod.aliases[first]
            key = ("alias", actx, first)
            if key in guard:
                return None
            r = self.resolve(actx, asegs, guard | {key})
            if r is None or r[1]:  # an item, not a module: path ends there
                return None if r is None else (r[0], ["<item>"])
            return r[0], rest
        return None

    def resolve(self, ctx: ModPath, segs: list[str], guard=frozenset()):
        """-> (module path, leftover segments) of where the path lands: leftover is
        empty when the path names a module, else starts with the item's name."""
        s = self.start(ctx, segs, guard)
        if s is None:
            return None
        m, rest = s
        while rest:
            mod = self.c.modules.get(m)
            if mod is None:
                return m, rest
            name = rest[0]
            if name in mod.children:
                m = mod.children[name]
                rest = rest[1:]
                continue
            if name in mod.items:
                return m, rest
            if name in mod.reexports:
                rctx, rsegs = mod.reexports[name]
                key = ("re", m, name)
                if key not in guard:
                    r = self.resolve(rctx, rsegs, guard | {key})
                    if r is not None:
                        if r[1]:
                            return r
                        m, rest = r[0], rest[1:]
                        continue
                return m, rest
            for gctx, gsegs in mod.glob_reexports:
                key = ("glob", m, tuple(gsegs), name)
                if key in guard:
                    continue
                g = self.resolve(gctx, gsegs, guard | {key})
                if g is None or g[1]:
                    continue
                gm = self.c.modules.get(g[0])
                if gm and (name in gm.children or name in gm.items or name in gm.reexports):
                    guard = guard | {key}
                    m = g[0]
                    break
            else:
                return m, rest
            continue
        return m, []

    def file_of(self, ctx: ModPath, segs: list[str]) -> str | None:
        r = self.resolve(ctx, segs)
        if r is None:
            return None
        mod = self.c.modules.get(r[0])
        return mod.file if mod else None


# ---------------------------------------------------------------------------------------
# Crates, edges, strongly connected components.
# ---------------------------------------------------------------------------------------


def crate_roots(crate_dir: str) -> list[tuple[str, str]]:
    with open(os.path.join(crate_dir, "Cargo.toml"), "rb") as f:
        manifest = tomllib.load(f)
    roots: list[tuple[str, str]] = []
    pkg = manifest.get("package", {}).get("name", os.path.basename(crate_dir))

    def add(label: str, rel: str) -> None:
        p = os.path.normpath(os.path.join(crate_dir, rel))
        if os.path.isfile(p) and all(p != r for _, r in roots):
            roots.append((label, p))

    lib = manifest.get("lib", {})
    add(f"{pkg} (lib)", lib.get("path", "src/lib.rs"))
    add(f"{pkg} (bin)", "src/main.rs")
    for kind, dirname in (("bin", "src/bin"), ("example", "examples")):
        for t in manifest.get(kind, []):
            if "path" in t:
                add(f"{pkg} ({kind} {t.get('name', '')})", t["path"])
        d = os.path.join(crate_dir, dirname)
        if os.path.isdir(d):
            for e in sorted(os.listdir(d)):
                if e.endswith(".rs"):
                    add(f"{pkg} ({kind} {e[:-3]})", os.path.join(dirname, e))
                elif os.path.isfile(os.path.join(d, e, "main.rs")):
                    add(f"{pkg} ({kind} {e})", os.path.join(dirname, e, "main.rs"))
    return roots


def workspace_crates(root: str) -> list[str]:
    with open(os.path.join(root, "Cargo.toml"), "rb") as f:
        ws = tomllib.load(f).get("workspace", {})
    dirs = [os.path.join(root, m) for m in ws.get("members", [])]
    dirs += [os.path.join(root, e) for e in EXTRA_CRATES]
    return [d for d in dirs if os.path.isfile(os.path.join(d, "Cargo.toml"))]


def tarjan(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # iterative, so deep graphs do not hit the recursion limit
        work = [(v, iter(sorted(edges.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                out.append(sorted(comp))

    for v in nodes:
        if v not in index:
            visit(v)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--edges", action="store_true", help="print every edge found")
    args = ap.parse_args()
    root = os.path.abspath(args.root)

    edges: dict[str, set[str]] = {}
    why: dict[tuple[str, str], list[str]] = {}
    files: set[str] = set()
    ncrates = 0
    for crate_dir in workspace_crates(root):
        for label, root_file in crate_roots(crate_dir):
            ncrates += 1
            crate = load_crate(label, crate_dir, root_file)
            files.update(m.file for m in crate.modules.values())
            res = Resolver(crate)
            for r in crate.refs:
                target = res.file_of(r.module, r.segs)
                if target is None or target == r.file:
                    continue
                edges.setdefault(r.file, set()).add(target)
                src = "::".join(r.segs)
                why.setdefault((r.file, target), []).append(
                    f"{os.path.relpath(r.file, root)}:{r.line} {r.kind} {src}"
                )

    rel = lambda p: os.path.relpath(p, root)  # noqa: E731
    if args.edges:
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f"{rel(a)} -> {rel(b)}")
    comps = [c for c in tarjan(sorted(files), edges) if len(c) > 1]
    for k, comp in enumerate(comps, 1):
        members = set(comp)
        print(f"circle {k}: {len(comp)} files")
        for f in comp:
            print(f"  {rel(f)}")
        for a in comp:
            for b in sorted(edges.get(a, ())):
                if b in members:
                    first = why[(a, b)][0]
                    more = len(why[(a, b)]) - 1
                    extra = f" (+{more} more)" if more else ""
                    print(f"    {rel(a)} -> {rel(b)}: {first}{extra}")
    if comps:
        print(f"check-imports: {len(comps)} import circle(s) among {len(files)} files in {ncrates} crate roots")
        return 1
    print(f"check-imports: no import circles among {len(files)} files in {ncrates} crate roots")
    return 0


if __name__ == "__main__":
    sys.exit(main())

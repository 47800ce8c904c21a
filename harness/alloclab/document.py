"""A report as data, rendered once per format: Markdown, self-contained HTML, terminal text.

Every report the tools write (a run's report, a comparison, a claims table) is built as a
Document of blocks and handed to render_markdown / render_html; a Table alone can also be
rendered as fixed-width text for a terminal (render_text). Inline text is a small subset of
Markdown: `code` and **bold**; the HTML renderer escapes everything else.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Cell:
    text: str
    note: str = ""        # a second line (HTML) or " · note" (Markdown, text)
    strong: bool = False  # the cell that stands out (a winner)
    mark: str = ""        # a sign after the text, e.g. ★
    css: str = ""         # HTML class
    tooltip: str = ""     # HTML title
    swatch: str = ""      # HTML: a colour square before the text


CellLike = Union[Cell, str]


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str
    css: str = ""


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    css: str = ""


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class KeyValues:
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[CellLike, ...], ...]
    numeric: tuple[bool, ...] = ()         # right-aligned columns
    css: str = ""
    row_css: tuple[str, ...] = ()
    groups: tuple[tuple[str, int], ...] = ()  # a header row above: (label, columns spanned)


@dataclass(frozen=True)
class Figure:
    title: str
    image: str   # PNG, relative to the document
    link: str    # SVG


@dataclass(frozen=True)
class Details:
    summary: str
    blocks: tuple[Block, ...]


Block = Union[Heading, Paragraph, Bullets, Code, KeyValues, Table, Figure, Details]


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str = ""
    blocks: tuple[Block, ...] = ()
    footer: str = ""
    css: str = field(default="", repr=False)


def _cell(c: CellLike) -> Cell:
    return c if isinstance(c, Cell) else Cell(str(c))


# ----------------------------------------------------------------------------- Markdown

def md_text(text: str) -> str:
    """Inline text for Markdown: raw HTML is not let through (outside `code` spans)."""
    parts = str(text).split("`")
    return "`".join(p if i % 2 else p.replace("<", "&lt;") for i, p in enumerate(parts))


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in the text, so the text cannot close it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _md_cell(c: CellLike) -> str:
    c = _cell(c)
    text = md_text(c.text) + (f" · {md_text(c.note)}" if c.note else "")
    if c.strong:
        text = f"**{text}**"
    return (text + (f" {c.mark}" if c.mark else "")).replace("|", "\\|").replace("\n", " ")


def _md_table(t: Table) -> list[str]:
    header = list(t.header)
    if t.groups:
        expanded = [label for label, span in t.groups for _ in range(span)]
        offset = len(header) - len(expanded)
        header = header[:offset] + [f"{g} {h}" for g, h in zip(expanded, header[offset:])]
    numeric = list(t.numeric) + [False] * (len(header) - len(t.numeric))
    return (["| " + " | ".join(h.replace("|", "\\|") for h in header) + " |",
             "|" + "".join(" ---: |" if n else " --- |" for n in numeric)]
            + ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t.rows] + [""])


def _md_block(b: Block) -> list[str]:
    if isinstance(b, Heading):
        return ["#" * b.level + " " + md_text(b.text), ""]
    if isinstance(b, Paragraph):
        return [md_text(b.text), ""]
    if isinstance(b, Bullets):
        return [f"- {md_text(item)}" for item in b.items] + [""]
    if isinstance(b, Code):
        fence = _fence(b.text)
        return [fence + "sh", b.text.strip(), fence, ""]
    if isinstance(b, KeyValues):
        return _md_table(Table(("", ""), tuple((k, v) for k, v in b.pairs)))
    if isinstance(b, Table):
        return _md_table(b)
    if isinstance(b, Figure):
        return [f"![{b.title}]({b.image})", "", f"[{b.title} (SVG)]({b.link})", ""]
    return [f"{b.summary}:", ""] + [line for inner in b.blocks for line in _md_block(inner)]


def render_markdown(doc: Document) -> str:
    lines = [f"# {md_text(doc.title)}", ""]
    if doc.subtitle:
        lines += [md_text(doc.subtitle), ""]
    for b in doc.blocks:
        lines += _md_block(b)
    if doc.footer:
        lines += [md_text(doc.footer), ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- HTML

def inline_html(text: str) -> str:
    """Escapes text; `x` becomes <code>x</code> and **x** <b>x</b>."""
    parts = str(text).split("`")
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<code>{html.escape(part)}</code>")
        else:
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(part)))
    return "".join(out)


def _attr(name: str, value: str) -> str:
    return f' {name}="{html.escape(value, quote=True)}"' if value else ""


def _html_cell(c: CellLike, numeric: bool) -> str:
    c = _cell(c)
    css = " ".join(x for x in (c.css, "num" if numeric else "") if x)
    swatch = f'<span class="swatch" style="background:{html.escape(c.swatch)}"></span>' if c.swatch else ""
    body = swatch + inline_html(c.text) + (f" {html.escape(c.mark)}" if c.mark else "")
    if c.strong:
        body = f"<b>{body}</b>"
    if c.note:
        body += f'<span class="note">{inline_html(c.note)}</span>'
    return f"<td{_attr('class', css)}{_attr('title', c.tooltip)}>{body}</td>"


def _html_table(t: Table) -> list[str]:
    out = [f"<table{_attr('class', t.css)}>"]
    numeric = list(t.numeric) + [False] * (len(t.header) - len(t.numeric))
    if t.groups:
        lead = len(t.header) - sum(span for _, span in t.groups)
        out.append("<tr>" + "".join(f'<th rowspan="2">{inline_html(h)}</th>' for h in t.header[:lead])
                   + "".join(f'<th colspan="{span}">{inline_html(g)}</th>' for g, span in t.groups) + "</tr>")
        out.append("<tr>" + "".join(f"<th>{inline_html(h)}</th>" for h in t.header[lead:]) + "</tr>")
    else:
        out.append("<tr>" + "".join(f"<th>{inline_html(h)}</th>" for h in t.header) + "</tr>")
    for i, row in enumerate(t.rows):
        css = t.row_css[i] if i < len(t.row_css) else ""
        out.append(f"<tr{_attr('class', css)}>" + "".join(_html_cell(c, n) for c, n in zip(row, numeric)) + "</tr>")
    out.append("</table>")
    return out


def _html_block(b: Block) -> list[str]:
    if isinstance(b, Heading):
        return [f"<h{b.level}>{inline_html(b.text)}</h{b.level}>"]
    if isinstance(b, Paragraph):
        return [f"<p{_attr('class', b.css)}>{inline_html(b.text)}</p>"]
    if isinstance(b, Bullets):
        return [f"<ul{_attr('class', b.css)}>"] + [f"<li>{inline_html(i)}</li>" for i in b.items] + ["</ul>"]
    if isinstance(b, Code):
        return [f"<pre>{html.escape(b.text.strip())}</pre>"]
    if isinstance(b, KeyValues):
        return (['<dl class="machine">'] + [f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in b.pairs]
                + ["</dl>"])
    if isinstance(b, Table):
        return _html_table(b)
    if isinstance(b, Figure):
        link, image, title = (html.escape(x, quote=True) for x in (b.link, b.image, b.title))
        return [f'<figure><a href="{link}"><img src="{image}" alt="{title}"></a>'
                f'<figcaption>{title} — <a href="{link}">SVG</a></figcaption></figure>']
    return ([f"<details><summary>{inline_html(b.summary)}</summary>"]
            + [line for inner in b.blocks for line in _html_block(inner)] + ["</details>"])


def render_html(doc: Document) -> str:
    h = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         f"<title>{html.escape(doc.title)}</title>", f"<style>{doc.css}</style>", "</head>", "<body>",
         f"<h1>{html.escape(doc.title)}</h1>"]
    if doc.subtitle:
        h.append(f'<p class="sub">{inline_html(doc.subtitle)}</p>')
    for b in doc.blocks:
        h += _html_block(b)
    if doc.footer:
        h.append(f"<footer>{inline_html(doc.footer)}</footer>")
    h += ["</body>", "</html>", ""]
    return "\n".join(h)


# ----------------------------------------------------------------------------- terminal

def render_text(t: Table, title: str = "") -> str:
    """A table in fixed-width columns: the first left-aligned, the others right-aligned."""
    def text(c: CellLike) -> str:
        c = _cell(c)
        return c.text + c.mark
    grid = [list(t.header)] + [[text(c) for c in row] for row in t.rows]
    widths = [max(len(r[i]) for r in grid) for i in range(len(t.header))]
    lines = [title] if title else []
    for r in grid:
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths)))
                     .rstrip())
    return "\n".join(lines)


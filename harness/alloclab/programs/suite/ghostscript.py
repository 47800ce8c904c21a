"""ghostscript: the Ghostscript PostScript interpreter (Debian package ghostscript)
rendering a generated PostScript document to raw PPM pages.

Workload: generated here. Each page holds a literal array of shapes (cubic Bezier paths,
filled in colour and stroked) and of words shown in the standard fonts (Helvetica,
Times-Roman, Courier; some as charpath outlines), so the interpreter parses and allocates
arrays and strings, fills paths, and builds glyph caches. The program also works in
PostScript VM: it sums the shapes' coordinates, converts numbers to strings (cvs) and
counts distinct words in a growing dictionary, and prints one line Python predicts.
Ghostscript's allocator takes large chunks from malloc and sub-allocates; its band buffers,
path and clip lists, font caches and the PPM writer use malloc directly.
Stresses: medium and large blocks, chunk allocation and release across pages, the garbage
collector's reclaims. Does not test: threads (rendering in one thread, -dNumRenderingThreads
unset), image decoding, PDF, anti-aliasing.

Check: the printed line, and every page file present with the right PPM header and size
and not blank.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from alloclab.programs.catalog import Drive, Invocation, Program
from alloclab.programs.suite._common import differs, read_text, sized

WIDTH, HEIGHT = 612, 792   # US letter at 72 dpi: one PostScript point per pixel
MODULUS = 1_000_000_007    # the PS program keeps its sum below 2^31
FONTS = ("Helvetica", "Times-Roman", "Courier", "Helvetica-Bold")
SHAPES, WORDS = 400, 250   # per page


class Ghostscript(Program):
    name = "ghostscript"
    description = "gs: generated PostScript pages (paths, fills, fonts, VM work) to PPM"
    origin = "Debian ghostscript; PostScript document generated here"
    not_tested = "threads, images, PDF, anti-aliasing"
    packages = ("ghostscript",)
    executables = ("gs",)

    def prepare(self, inputs: Path, scale: float, seed: int) -> None:
        rng = random.Random(seed)
        vocabulary = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz")
                              for _ in range(rng.randrange(2, 12))) for _ in range(400)]
        pages = sized(40, scale)
        total, distinct = 0, set()
        ps = ["%!PS-Adobe-3.0", f"<< /PageSize [{WIDTH} {HEIGHT}] >> setpagedevice",
              "/total 0 def /words 64 dict def",
              # shape: [x0 y0 x1 y1 x2 y2 x3 y3 r g b w] -> closed Bezier, filled, stroked
              "/shape { aload pop /w exch def 3 { 255 div 3 1 roll } repeat setrgbcolor",
              "  8 copy 7 { add } repeat total add MODULUS mod /total exch def",
              "  newpath moveto curveto closepath gsave fill grestore",
              "  w setlinewidth 0 setgray stroke } bind def",
              # word: [(text) /Font size x y angle outline] -> shown or outlined; counted
              "/word { aload pop /o exch def /a exch def /y exch def /x exch def",
              "  /s exch def /f exch def /t exch def words t 1 put",
              "  t length total add MODULUS mod /total exch def",
              "  f findfont s scalefont setfont gsave x y translate a rotate 0 0 moveto",
              "  o 1 eq { t true charpath 0.5 setlinewidth stroke } { t show } ifelse",
              "  grestore } bind def",
              # numbers through strings: the digit count of each shape's line width code
              "/digits { 12 string cvs length total add MODULUS mod /total exch def } bind def"]
        ps = [line.replace("MODULUS", str(MODULUS)) for line in ps]
        for page in range(pages):
            shapes = []
            for _ in range(SHAPES):
                pts = [rng.randrange(WIDTH) if i % 2 == 0 else rng.randrange(HEIGHT)
                       for i in range(8)]
                rgb = [rng.randrange(256) for _ in range(3)]
                w = rng.randrange(1, 6)
                total = (total + sum(pts)) % MODULUS
                total = (total + len(str(w * 1000 + page))) % MODULUS
                shapes.append("[" + " ".join(map(str, pts + rgb + [w])) + "]")
            words = []
            for _ in range(WORDS):
                text = rng.choice(vocabulary)
                distinct.add(text)
                total = (total + len(text)) % MODULUS
                words.append(f"[({text}) /{rng.choice(FONTS)} {rng.randrange(6, 40)} "
                             f"{rng.randrange(WIDTH)} {rng.randrange(HEIGHT)} "
                             f"{rng.randrange(360)} {int(rng.random() < 0.3)}]")
            ps += [f"%%Page: {page + 1} {page + 1}",
                   "/shapes [" + "\n".join(shapes) + "] def",
                   "/texts [" + "\n".join(words) + "] def",
                   "shapes { shape } forall texts { word } forall",
                   f"shapes {{ 11 get 1000 mul {page} add digits }} forall",
                   "showpage"]
        ps += ["(RESULT ) print total =only ( ) print words length =", "%%EOF"]
        (inputs / "doc.ps").write_text("\n".join(ps) + "\n")
        (inputs / "expected.txt").write_text(f"{pages}\nRESULT {total} {len(distinct)}\n")

    def command(self, run: Invocation) -> list[str]:
        return ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=ppmraw", "-r72",
                f"-sOutputFile={run.work / 'page-%03d.ppm'}", str(run.inputs / "doc.ps")]

    def check(self, run: Invocation, stdout: str, drive: Drive | None) -> str | None:
        expected = (read_text(run.inputs / "expected.txt") or "").splitlines()
        if len(expected) != 2 or not expected[0].isdecimal():
            return "inputs/expected.txt is missing or unreadable"
        if stdout.strip() != expected[1]:
            return differs("printed", expected[1], stdout.strip() or "(no output)")
        pages = int(expected[0])
        files = sorted(p.name for p in run.work.glob("page-*.ppm"))
        if len(files) != pages or files != [f"page-{n:03d}.ppm" for n in range(1, pages + 1)]:
            return differs("page files", f"page-001..{pages:03d}.ppm", " ".join(files))
        for name in files:
            reason = ppm_reason(run.work / name)
            if reason:
                return f"{name}: {reason}"
        return None


def ppm_reason(path: Path) -> str | None:
    """Why a page is not a WIDTH x HEIGHT raw PPM with some ink on it (None when it is)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        return f"unreadable ({e.strerror})"
    header = re.match(rb"P6\s+(?:#[^\n]*\n\s*)*(\d+)\s+(\d+)\s+(\d+)\s", data)
    if header is None:
        return differs("header", "P6 <width> <height> 255", data[:20])
    size = tuple(int(x) for x in header.groups())
    if size != (WIDTH, HEIGHT, 255):
        return differs("width height maxval", (WIDTH, HEIGHT, 255), size)
    if len(data) - header.end() != WIDTH * HEIGHT * 3:
        return differs("pixel bytes", WIDTH * HEIGHT * 3, len(data) - header.end())
    if data.count(b"\xff", header.end()) == WIDTH * HEIGHT * 3:
        return "blank page"
    return None

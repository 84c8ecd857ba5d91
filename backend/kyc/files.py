"""Judge an uploaded identity document by its content and clean it before it is stored.

JPEG, PNG or PDF, told apart by their first bytes (never by name or by the browser's content type); at most
KYC_MAX_FILE_BYTES. Images: the dimensions are read from the header and checked against KYC_MAX_IMAGE_PIXELS
before any pixel is decoded (a decompression bomb is a tiny file with huge dimensions), then the image is
decoded in full (a truncated or damaged file fails here), turned upright by its EXIF orientation and re-encoded
with Pillow from the pixels alone, so EXIF (GPS position, camera serial), XMP and comments are gone. PDFs cannot
be re-encoded with Pillow: they are kept as sent, but refused when they carry active content (JavaScript, forms
that submit or XFA, links and launch or remote go-to actions, embedded files, media), and reviewers get them with a
sandboxing Content-Security-Policy. The check reads names with their `#xx` escapes undone (`/J#61vaScript` is
`/JavaScript`), everywhere except the streams' data (pixels and fonts, where any byte pattern occurs), and inside
object streams, which hold whole objects (inflated, up to PDF_INFLATE_LIMIT bytes in all). A stream's data starts only
where the keyword `stream` follows a dictionary's closing `>>` outside comments and strings (a `%stream` comment
starts nothing: viewers ignore comments), and data that holds an object header (`4 0 obj`) is read all the same.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
import zlib
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from backend.kyc.errors import BadDocument
from backend.kyc.models import DocumentKind
from backend.settings import get_settings

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
_MAGIC = ((b"\xff\xd8\xff", JPEG), (b"\x89PNG\r\n\x1a\n", PNG), (b"%PDF-", PDF))
_PILLOW_FORMAT = {JPEG: "JPEG", PNG: "PNG"}
# Active content a PDF viewer may run or open; an identity document never needs it.
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|OpenAction|AA|Launch|GoToR|GoToE|URI|SubmitForm|ImportData|XFA"
                         rb"|EmbeddedFiles?|FileAttachment|RichMedia|Rendition|Movie|Sound)\b")
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# What the stream finder stops at: a comment, a literal or hex string, a dictionary's brackets, the keyword `stream`.
_PDF_TOKEN = re.compile(rb"%|\(|<<|>>|<|(?<![A-Za-z])stream(?![A-Za-z])")
_PDF_STRING_TOKEN = re.compile(rb"[()\\]")
_PDF_LINE_END = re.compile(rb"[\r\n]")
_PDF_STREAM_EOL = re.compile(rb"\r?\n")
_PDF_OBJECT_HEADER = re.compile(rb"(?<![0-9])[0-9]+\s+[0-9]+\s+obj(?![A-Za-z])")
_PDF_OBJECT_STREAM = re.compile(rb"/Type\s*/ObjStm\b")
_PDF_FILTER = re.compile(rb"/Filter\b")
PDF_INFLATE_LIMIT = 64 * 1024 * 1024  # inflated bytes read in all: a compressed bomb is refused, not expanded
ACCEPTED = "a JPEG, PNG or PDF file"
_EXTENSIONS = {"jpg": JPEG, "jpeg": JPEG, "jpe": JPEG, "png": PNG, "pdf": PDF}
_NAMES = {JPEG: "a JPEG image", PNG: "a PNG image", PDF: "a PDF"}


@dataclass(frozen=True)
class CleanFile:
    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str


def sniff(data: bytes) -> str | None:
    """The content type by magic bytes, or None."""
    for magic, content_type in _MAGIC:
        if data.startswith(magic):
            return content_type
    return None


def clean_document(data: bytes, kind: DocumentKind | str, *, label: str = "The file", filename: str = "") -> CleanFile:
    """Check and clean one upload; raises BadDocument with a message for the person uploading it.

    The content decides what a file is; a name whose extension claims something else (a PDF named .jpg) is refused
    too, since a file that lies about itself is not one we want to show a reviewer."""
    settings = get_settings()
    field = DocumentKind(kind).value
    limit = settings.kyc_max_file_bytes

    def refuse(message: str) -> BadDocument:
        return BadDocument(message, fields={field: message})

    if not data:
        raise refuse(f"{label} is empty. Choose {ACCEPTED}.")
    if len(data) > limit:
        raise refuse(f"{label} is larger than {limit // (1024 * 1024)} MB. Send a smaller photo or scan.")
    content_type = sniff(data)
    if content_type is None:
        raise refuse(f"{label} is not {ACCEPTED} (judged by its content, not its name).")
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    claimed = _EXTENSIONS.get(extension)
    if claimed is not None and claimed != content_type:
        raise refuse(f"{label} is {_NAMES[content_type]} but its name ends in .{extension}. Choose the original "
                     "file, without renaming it.")
    if content_type == PDF:
        if field == DocumentKind.SELFIE:
            raise refuse("The selfie must be a photo (JPEG or PNG), not a PDF.")
        return _clean_pdf(data, refuse, label)
    return _clean_image(data, content_type, settings.kyc_max_image_pixels, refuse, label)


def _clean_pdf(data: bytes, refuse, label: str) -> CleanFile:  # type: ignore[no-untyped-def]
    if b"%%EOF" not in data[-2048:]:
        raise refuse(f"{label} is a damaged or incomplete PDF. Export or scan it again.")
    if any(_PDF_ACTIVE.search(part) for part in _pdf_parts(data, refuse, label)):
        raise refuse(f"{label} is a PDF with scripts or attachments, which we do not accept. Send a plain scan.")
    return CleanFile(data, PDF, 0, 0, hashlib.sha256(data).hexdigest())


def _unescape(names: bytes) -> bytes:
    return _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), names)


def _pdf_parts(data: bytes, refuse, label: str) -> list[bytes]:  # type: ignore[no-untyped-def]
    """Where a PDF's objects are, names unescaped: the file outside its streams' data, then each object stream
    (/Type/ObjStm), inflated when it has a /Filter. Other streams are pixels, fonts or drawing, never read as objects,
    and any byte pattern occurs in them (a scan's JPEG data reads "/JS " now and then)."""
    budget = PDF_INFLATE_LIMIT
    view = memoryview(data)
    outside: list[bytes] = []
    objects: list[bytes] = []
    object_streams = 0
    pos = 0
    for header, start, end in _pdf_streams(data):
        outside.append(data[pos:start])
        pos = end
        header = _unescape(header)
        if not _PDF_OBJECT_STREAM.search(header):
            continue
        object_streams += 1
        if not _PDF_FILTER.search(header):
            objects.append(_unescape(data[start:end]))
            continue
        try:
            part = zlib.decompressobj().decompress(view[start:end], budget + 1)
        except zlib.error:
            raise refuse(f"{label} is a damaged PDF. Export or scan it again.") from None
        budget -= len(part)
        if budget < 0:
            raise refuse(f"{label} is a PDF that inflates to too much. Export or scan it again.")
        objects.append(_unescape(part))
    outside.append(data[pos:])
    text = _unescape(b"".join(outside))
    if len(_PDF_OBJECT_STREAM.findall(text)) > object_streams:
        # An object stream whose data we did not find (a stray bracket or parenthesis before it): its compressed
        # objects would go unread.
        raise refuse(f"{label} is a damaged PDF. Export or scan it again.")
    return [text, *objects]


def _pdf_streams(data: bytes):  # type: ignore[no-untyped-def]
    """Each stream as (its dictionary, where its data starts, where it ends: at the next `endstream`).

    Walks the file as a reader does: a comment runs to the end of its line and a literal string to its balancing
    parenthesis (escapes honoured), so the words `stream` and `>>` inside either count for nothing. A viewer that
    follows the cross-reference table can still land on an object inside what looks like stream data (a stray
    `>>stream` or a /Length shorter than the data), so data holding an object header is not skipped but walked."""
    pos, opened = 0, []
    closed: tuple[int, int] | None = None  # the last top-level dictionary: where `<<` starts, where `>>` ends
    next_end = next_header = -1  # the next `endstream` and object header found so far: each file is searched once
    while (token := _PDF_TOKEN.search(data, pos)) is not None:
        word, pos = token.group(), token.end()
        if word == b"%":
            line_end = _PDF_LINE_END.search(data, pos)
            pos = len(data) if line_end is None else line_end.end()
        elif word == b"(":
            pos = _pdf_string_end(data, pos)
        elif word == b"<":
            close = data.find(b">", pos)
            pos = len(data) if close < 0 else close + 1
        elif word == b"<<":
            opened.append(token.start())
        elif word == b">>":
            if opened:
                start = opened.pop()
                if not opened:
                    closed = (start, pos)
        elif closed is not None and not opened and not data[closed[1]:token.start()].strip():
            eol = _PDF_STREAM_EOL.match(data, pos)
            if eol is None:
                continue
            if next_end < eol.end():
                found = data.find(b"endstream", eol.end())
                next_end = len(data) if found < 0 else found
            if next_header < eol.end():
                header = _PDF_OBJECT_HEADER.search(data, eol.end())
                next_header = len(data) if header is None else header.start()
            end = next_end
            if next_header < end:
                continue
            yield data[closed[0]:closed[1]], eol.end(), end
            pos, closed = end, None


def _pdf_string_end(data: bytes, pos: int) -> int:
    """Where the literal string opened just before `pos` ends (the end of the file when it never does)."""
    depth = 1
    while (token := _PDF_STRING_TOKEN.search(data, pos)) is not None:
        pos = token.end()
        if token.group() == b"\\":
            pos += 1
        elif token.group() == b"(":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return pos
    return len(data)


def _clean_image(data: bytes, content_type: str, max_pixels: int, refuse, label: str) -> CleanFile:  # type: ignore[no-untyped-def]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
            if image.format != _PILLOW_FORMAT[content_type]:
                raise refuse(f"{label} is not {ACCEPTED}.")
            width, height = image.size
            if width * height > max_pixels or width <= 0 or height <= 0:
                raise refuse(f"{label} has more pixels than we accept ({width} x {height}; at most "
                             f"{max_pixels // 1_000_000} megapixels). Send a smaller photo.")
            image.load()  # decodes every pixel: a truncated or damaged file fails here
            image = ImageOps.exif_transpose(image)
    except BadDocument:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise refuse(f"{label} has more pixels than we accept. Send a smaller photo.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise refuse(f"{label} is damaged or incomplete and cannot be read ({_reason(exc)}). "
                     "Take the photo again.") from None
    # Re-encode from the pixels only: no EXIF, GPS, XMP, ICC or comments survive.
    out = io.BytesIO()
    if content_type == JPEG:
        pixels = image.convert("RGB")
        bare = Image.frombytes("RGB", pixels.size, pixels.tobytes())
        bare.save(out, "JPEG", quality=90, optimize=True)
    else:
        mode = "RGBA" if image.mode in ("RGBA", "LA", "P", "PA") else "RGB"
        pixels = image.convert(mode)
        bare = Image.frombytes(mode, pixels.size, pixels.tobytes())
        bare.save(out, "PNG", optimize=True)
    cleaned = out.getvalue()
    return CleanFile(cleaned, content_type, bare.width, bare.height, hashlib.sha256(cleaned).hexdigest())


def _reason(exc: Exception) -> str:
    text = str(exc).strip().rstrip(".")
    return text[:80] if text else type(exc).__name__

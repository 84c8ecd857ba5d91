"""Judge an uploaded identity document by its content and clean it before it is stored.

JPEG, PNG or PDF, told apart by their first bytes (never by name or by the browser's content type); at most
KYC_MAX_FILE_BYTES. Images: the dimensions are read from the header and checked against KYC_MAX_IMAGE_PIXELS
before any pixel is decoded (a decompression bomb is a tiny file with huge dimensions), then the image is
decoded in full (a truncated or damaged file fails here), turned upright by its EXIF orientation and re-encoded
with Pillow from the pixels alone, so EXIF (GPS position, camera serial), XMP and comments are gone. PDFs cannot
be re-encoded with Pillow: they are kept as sent, but refused when they carry active content (JavaScript,
launch actions, embedded files), and reviewers get them with a sandboxing Content-Security-Policy. The check reads
names with their `#xx` escapes undone (`/J#61vaScript` is `/JavaScript`), outside the streams' data (pixels and fonts,
where any byte pattern occurs) and inside object streams, which hold whole objects (inflated, up to
PDF_INFLATE_LIMIT bytes in all).
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
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|OpenAction|AA)\b")
_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_STREAM = re.compile(rb"(?<!end)stream\r?\n")
_PDF_OBJECT_STREAM = re.compile(rb"/Type\s*/ObjStm\b")
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
    if any(_PDF_ACTIVE.search(_PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), part))
           for part in _pdf_parts(data, refuse, label)):
        raise refuse(f"{label} is a PDF with scripts or attachments, which we do not accept. Send a plain scan.")
    return CleanFile(data, PDF, 0, 0, hashlib.sha256(data).hexdigest())


def _pdf_parts(data: bytes, refuse, label: str):  # type: ignore[no-untyped-def]
    """Where a PDF's objects are: the file outside its streams' data, then each object stream (/Type/ObjStm), inflated
    when Flate-compressed. Other streams are pixels, fonts or drawing, never read as objects, and any byte pattern
    occurs in them (a scan's JPEG data reads "/JS " now and then)."""
    budget = PDF_INFLATE_LIMIT
    view = memoryview(data)
    outside: list[bytes] = []
    objects: list[bytes] = []
    pos = 0
    for match in _PDF_STREAM.finditer(data):
        if match.start() < pos:
            continue  # inside the data of the stream before
        end = data.find(b"endstream", match.end())
        end = len(data) if end < 0 else end
        window = data[max(pos, match.start() - 2048):match.start()]  # the stream's dictionary, after the last object
        header = window[max(window.rfind(b"endobj"), window.rfind(b"endstream")) + 1:]
        outside.append(data[pos:match.end()])
        pos = end
        if not _PDF_OBJECT_STREAM.search(header):
            continue
        if b"/Filter" not in header:
            objects.append(data[match.end():end])
            continue
        try:
            part = zlib.decompressobj().decompress(view[match.end():end], budget + 1)
        except zlib.error:
            raise refuse(f"{label} is a damaged PDF. Export or scan it again.") from None
        budget -= len(part)
        if budget < 0:
            raise refuse(f"{label} is a PDF that inflates to too much. Export or scan it again.")
        objects.append(part)
    outside.append(data[pos:])
    return [b"".join(outside), *objects]


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

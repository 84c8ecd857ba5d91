"""Uploads are judged by content and cleaned: bad files get a clear error and nothing is stored; good images are
re-encoded without their metadata (EXIF, GPS, comments)."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image

from backend.errors import RateLimited
from backend.kyc import files as files_module
from backend.kyc import service
from backend.kyc.errors import BadDocument
from backend.kyc.files import clean_document
from tests.factories import make_user
from tests.kyc.support import FIELDS, case_rows, document_rows, files, jpeg, pdf, png, png_bomb, stored_files

TWELVE_MB = b"\xff\xd8\xff\xe0" + b"\0" * (12 * 1024 * 1024)

BAD_UPLOADS = [
    ("pdf_named_jpg", pdf(), "front.jpg", "is a PDF but its name ends in .jpg"),
    ("html_named_png", b"<!doctype html><html><script>alert(1)</script></html>", "front.png",
     "is not a JPEG, PNG or PDF file"),
    ("empty", b"", "front.jpg", "is empty"),
    ("twelve_mb", TWELVE_MB, "front.jpg", "is larger than 10 MB"),
    ("decompression_bomb", png_bomb(), "front.png", "has more pixels than we accept"),
    ("too_many_pixels", png_bomb(9000, 9000), "front.png", "more pixels than we accept (9000 x 9000"),
    ("truncated_jpeg", jpeg(size=(400, 300))[:1500], "front.jpg", "is damaged or incomplete"),
]


@pytest.mark.parametrize(("name", "data", "filename", "message"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_a_bad_upload_gets_a_clear_error_and_nothing_is_stored(name: str, data: bytes, filename: str,
                                                               message: str) -> None:
    consumer = make_user()
    with pytest.raises(BadDocument) as refused:
        service.submit(consumer, FIELDS, files=files(front=data), filenames={"front": filename}, ip="10.0.0.1")
    assert message in refused.value.message
    assert refused.value.fields == {"front": refused.value.message}
    assert case_rows() == 0 and document_rows() == 0 and stored_files() == []


@pytest.mark.parametrize(("name", "data", "filename", "message"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_a_bad_staged_upload_is_refused_and_nothing_is_stored(name: str, data: bytes, filename: str,
                                                              message: str) -> None:
    with pytest.raises(BadDocument, match=message.replace("(", r"\(")):
        service.stage_document(make_user(), "front", data, filename=filename)
    assert document_rows() == 0 and stored_files() == []


def test_staged_uploads_are_rate_limited_per_network_whatever_the_account(configure) -> None:  # type: ignore[no-untyped-def]
    """Accounts are free: many from one address must not each store their hourly quota of files."""
    configure(RATE_LIMIT_KYC_UPLOADS_PER_IP="3/hour")
    for i in range(3):
        service.stage_document(make_user(), "front", jpeg(), ip=f"2001:db8:1:2::{i + 1}")  # one IPv6 /64
    with pytest.raises(RateLimited):
        service.stage_document(make_user(), "front", jpeg(), ip="2001:db8:1:2::99")
    assert document_rows() == 3 and len(stored_files()) == 3
    service.stage_document(make_user(), "front", jpeg(), ip="10.0.0.9")  # another network has its own count


def test_a_jpeg_is_re_encoded_without_exif_or_gps() -> None:
    original = jpeg()
    assert Image.open(io.BytesIO(original)).getexif().get(0x8825)  # the test photo really carries GPS
    clean = clean_document(original, "front", filename="photo.JPG")
    image = Image.open(io.BytesIO(clean.data))
    assert image.format == "JPEG" and image.size == (64, 48)
    assert dict(image.getexif()) == {} and b"Exif" not in clean.data and b"Test Camera" not in clean.data


def test_a_png_keeps_its_pixels_but_not_its_text_chunks() -> None:
    clean = clean_document(png(), "selfie")
    assert clean.content_type == "image/png" and b"secret comment" not in clean.data
    assert Image.open(io.BytesIO(clean.data)).getpixel((0, 0)) == (10, 200, 90, 255)


def test_a_pdf_is_accepted_for_the_document_but_not_as_a_selfie() -> None:
    assert clean_document(pdf(), "front", filename="scan.pdf").content_type == "application/pdf"
    with pytest.raises(BadDocument, match="selfie must be a photo"):
        clean_document(pdf(), "selfie")


def test_a_pdf_with_javascript_is_refused() -> None:
    hostile = pdf().replace(b"/Type/Catalog", b"/Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>")
    with pytest.raises(BadDocument, match="scripts or attachments"):
        clean_document(hostile, "front")


def _with_stream(dictionary: bytes, content: bytes, *, compress: bool = True) -> bytes:
    """pdf() with one more object: a stream with `dictionary`'s entries (Flate-compressed unless told not to)."""
    packed = zlib.compress(content) if compress else content
    entries = dictionary + (b"/Filter/FlateDecode" if compress else b"") + b"/Length " + str(len(packed)).encode()
    extra = b"3 0 obj<<" + entries + b">>stream\n" + packed + b"\nendstream endobj\n"
    base = pdf()
    at = base.index(b"trailer")
    return base[:at] + extra + base[at:]


@pytest.mark.parametrize("hostile", [
    pdf().replace(b"/Type/Catalog", b"/Type/Catalog/Open#41ction<</S/J#61vaScript/J#53(app.alert(1))>>"),  # escaped
    pdf().replace(b"/Type/Catalog", b"/Type/Catalog/Open#41ction 3 0 R"),  # /OpenAction, escaped
    _with_stream(b"/Type/ObjStm/N 1/First 4", b"4 0 <</S/JavaScript/JS(app.alert(1))>>"),  # in an object stream
    _with_stream(b"/Type/ObjStm/N 1/First 4", b"4 0 <</S/Launch/F(x.exe)>>", compress=False),
], ids=["escaped-javascript", "escaped-openaction", "object-stream", "plain-object-stream"])
def test_a_pdf_hiding_its_active_content_is_refused(hostile: bytes) -> None:
    with pytest.raises(BadDocument, match="scripts or attachments"):
        clean_document(hostile, "front")


_OPEN_ACTION = b"1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n"
_PAGES = b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.mark.parametrize("hostile", [
    b"%PDF-1.4\n%stream\n" + _OPEN_ACTION + b"%endstream\n" + _PAGES,  # the words in comments, which viewers ignore
    b"%PDF-1.4\n5 0 obj(>>stream\n)endobj\n" + _OPEN_ACTION + b"6 0 obj(endstream)endobj\n" + _PAGES,  # in strings
    b"%PDF-1.4\n5 0 obj<</Length 0>>stream\n\n" + _OPEN_ACTION + b"endstream endobj\n" + _PAGES,  # /Length 0
], ids=["in-comments", "in-strings", "object-inside-stream-data"])
def test_a_pdf_hiding_javascript_behind_a_stream_keyword_is_refused(hostile: bytes) -> None:
    """Only `stream` right after a dictionary's `>>` starts stream data, and data a viewer can jump into (it holds an
    object header) is read anyway: otherwise the catalog's /OpenAction between the two words is never looked at."""
    with pytest.raises(BadDocument, match="scripts or attachments"):
        clean_document(hostile, "front", filename="passport.pdf")


def test_a_pdf_whose_object_stream_hides_behind_a_stray_parenthesis_is_refused() -> None:
    """An unbalanced `(` between objects (never read by a viewer that follows the cross-reference table) must not hide
    an object stream's compressed /OpenAction: an object stream whose data was not found refuses the file."""
    hidden = _with_stream(b"/Type/Obj#53tm/N 1/First 4", b"4 0 <</S/JavaScript/JS(app.alert(1))>>")
    with pytest.raises(BadDocument, match="damaged PDF"):
        clean_document(hidden.replace(b"3 0 obj", b"(\n3 0 obj"), "front")


@pytest.mark.parametrize("name", [b"URI", b"SubmitForm", b"ImportData", b"XFA", b"GoToR", b"GoToE", b"EmbeddedFiles",
                                  b"FileAttachment", b"Rendition", b"Movie", b"Sound"])
def test_a_pdf_with_links_forms_or_media_is_refused(name: bytes) -> None:
    hostile = pdf().replace(b"/Type/Catalog", b"/Type/Catalog/Names<</" + name + b"(x)>>")
    with pytest.raises(BadDocument, match="scripts or attachments"):
        clean_document(hostile, "front")


def test_a_pdf_with_comments_and_strings_around_its_streams_is_accepted() -> None:
    pixels = b"\x00/JS /AA\x01(((%" * 6
    image = b"/Type/XObject/Subtype/Image/Name(a >> stream \\) %)/Width 4/Height 4/BitsPerComponent 8"
    scan = _with_stream(image, pixels, compress=False).replace(b"trailer", b"% a comment: stream\ntrailer")
    assert clean_document(scan, "front").content_type == "application/pdf"


def test_a_pdf_whose_image_pixels_happen_to_read_like_a_name_is_accepted() -> None:
    # A scan's pixel data is random-looking bytes: "/JS " turns up in about one 2 MB scan in six.
    pixels = b"\x00/JS /AA\x01" * 6
    image = b"/Type/XObject/Subtype/Image/Width 4/Height 4/BitsPerComponent 8/ColorSpace/DeviceRGB"
    for scan in (_with_stream(image, pixels, compress=False), _with_stream(image, pixels)):
        assert clean_document(scan, "front").content_type == "application/pdf"


def test_a_pdf_that_inflates_past_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files_module, "PDF_INFLATE_LIMIT", 1000)
    with pytest.raises(BadDocument, match="inflates to too much"):
        clean_document(_with_stream(b"/Type/ObjStm/N 1/First 4", b" " * 5000), "front")


def test_every_missing_document_is_named() -> None:
    with pytest.raises(BadDocument) as refused:
        service.submit(make_user(), FIELDS, files={"front": jpeg()}, ip="10.0.0.1")
    assert set(refused.value.fields) == {"back", "selfie"}
    assert case_rows() == 0 and stored_files() == []


def test_a_passport_needs_no_back() -> None:
    status = service.submit(make_user(), FIELDS | {"document_type": "passport"},
                            files={"front": jpeg(), "selfie": jpeg()}, ip="10.0.0.1")
    assert status.status == "submitted" and document_rows() == 2 and len(stored_files()) == 2

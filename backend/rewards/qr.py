"""Draw a reward code as a QR image (the `qrcode` library), server-side, as an SVG data URL the page shows as is."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def qr_svg_data_url(text: str) -> str:
    """An SVG QR code of `text` (error correction M: a phone screen with a crack or glare still scans), as a
    `data:image/svg+xml;base64,...` URL."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4,
                         image_factory=qrcode.image.svg.SvgPathFillImage)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def qr_matrix(text: str) -> list[list[bool]]:
    """The QR code's modules (True = dark), quiet zone included: for tests that draw it into a video frame."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(text)
    code.make(fit=True)
    return code.get_matrix()

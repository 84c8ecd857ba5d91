"""The staff's camera QR reader: a small client-only React wrapper (qr_scanner.jsx, beside this file) around the
npm library qr-scanner (pinned exactly; it uses the browser's BarcodeDetector where there is one, else its own
worker), served with the app's bundle, never from a CDN. The camera needs HTTPS or localhost."""

from __future__ import annotations

from typing import Any

import reflex as rx

QR_SCANNER_PACKAGE = "qr-scanner@1.4.2"


class QrScannerView(rx.NoSSRComponent):
    library = rx.asset("qr_scanner.jsx", shared=True).importable_path
    tag = "QrScannerView"
    lib_dependencies: list[str] = [QR_SCANNER_PACKAGE]

    reset_key: rx.Var[str]
    on_scan: rx.EventHandler[lambda text: [text]]
    on_error: rx.EventHandler[lambda message: [message]]


def qr_scanner(**props: Any) -> rx.Component:
    return QrScannerView.create(**props)

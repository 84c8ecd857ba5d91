// The staff page's camera view: qr-scanner (npm, MIT) reads QR codes from the device camera and reports each new
// code once (`onScan`); `resetKey` changing lets the same code be reported again (scan the next customer).
import { useEffect, useRef } from "react";
import QrScanner from "qr-scanner";

export function QrScannerView({ onScan, onError, resetKey }) {
  const video = useRef(null);
  const last = useRef("");
  const handlers = useRef({ onScan, onError });
  handlers.current = { onScan, onError };

  useEffect(() => {
    last.current = "";
  }, [resetKey]);

  useEffect(() => {
    const scanner = new QrScanner(
      video.current,
      (result) => {
        const text = result && result.data ? result.data : "";
        if (text && text !== last.current) {
          last.current = text;
          if (handlers.current.onScan) handlers.current.onScan(text);
        }
      },
      { returnDetailedScanResult: true, highlightScanRegion: true, maxScansPerSecond: 5, preferredCamera: "environment" },
    );
    scanner.start().catch((error) => {
      if (handlers.current.onError) handlers.current.onError(String((error && error.message) || error));
    });
    return () => {
      scanner.stop();
      scanner.destroy();
    };
  }, []);

  return <video ref={video} id="qr-video" muted playsInline style={{ width: "100%", maxWidth: "420px", borderRadius: "8px", background: "#000" }} />;
}

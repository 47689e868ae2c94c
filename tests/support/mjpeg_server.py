"""A tiny MJPEG-over-HTTP camera for tests: ``python -m tests.support.mjpeg_server PORT VIDEO [FPS]``.

Serves ``VIDEO`` (looped) as ``multipart/x-mixed-replace`` JPEG frames on ``http://127.0.0.1:PORT/``, the
way many IP cameras and ``ffmpeg -f mpjpeg`` do, so OpenCV reads it by URL. Run it as a subprocess: a
test kills it (the camera drops off the network) and starts it again on the same port (it comes back).
"""

from __future__ import annotations

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2

BOUNDARY = "soberpayframe"


def _jpegs(video: str, limit: int = 200) -> list[bytes]:
    cap = cv2.VideoCapture(video)
    out: list[bytes] = []
    while len(out) < limit:
        ok, frame = cap.read()
        if not ok:
            break
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 70])
        if ok:
            out.append(buf.tobytes())
    cap.release()
    if not out:
        raise SystemExit(f"no frames in {video}")
    return out


def serve(port: int, video: str, fps: float) -> None:
    frames = _jpegs(video)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.end_headers()
            i = 0
            try:
                while True:
                    jpeg = frames[i % len(frames)]
                    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                    self.wfile.write(head.encode() + jpeg + b"\r\n")
                    self.wfile.flush()
                    i += 1
                    time.sleep(1.0 / fps)
            except (BrokenPipeError, ConnectionResetError):
                return

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    with ThreadingHTTPServer(("127.0.0.1", port), Handler) as httpd:
        print("ready", flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 15.0)

"""`make dev`: serve the shop on 127.0.0.1 (grows into the full local platform)."""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from shop.declarations import HEALTH_PATH


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == HEALTH_PATH:
            body, status = json.dumps({"status": "ok"}).encode(), 200
        else:
            body, status = (
                json.dumps({"error": {"code": "not_found", "message": "no such route", "details": {}}}).encode(),
                404,
            )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the shop locally.")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"shop: http://127.0.0.1:{args.port}{HEALTH_PATH}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

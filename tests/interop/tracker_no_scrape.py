#!/usr/bin/python3
# tracker_no_scrape.py PORT: an HTTP tracker on 127.0.0.1 that answers every announce with an
# empty peer list and no counts, and /scrape with 404: a client must then scrape, and report the
# scrape's failure as a failure. Runs until killed.
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/announce"):
            body = b"d8:intervali1800e5:peers0:e"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def log_message(self, fmt, *args):
        sys.stderr.write("tracker_no_scrape: " + fmt % args + "\n")


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()

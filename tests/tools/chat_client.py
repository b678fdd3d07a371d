"""Scripted IRC client for the chat end-to-end tests (plain TCP or WebSocket).

Every received line is kept, so a test can assert on the exact lines and on
their order; expect() fails the test (exit 1) with the lines seen so far.
"""
import re
import socket
import sys
import time


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


class Client:
    def __init__(self, port, nick, caps=None, password=None, host="127.0.0.1", register=True):
        self.nick = nick
        self.sock = socket.create_connection((host, port), timeout=5)
        self.buf = b""
        self.lines = []
        self.pos = 0
        if register:
            out = []
            if caps:
                out += ["CAP LS 302", "CAP REQ :" + caps]
            if password:
                out.append("PASS " + password)
            out += ["NICK " + nick, "USER %s 0 * :Real %s" % (nick, nick)]
            if caps:
                out.append("CAP END")
            self.send(*out)
            self.expect(r" 001 %s " % re.escape(nick))
            self.expect(r" (376|422) ")

    def send(self, *lines):
        self.sock.sendall("".join(l + "\r\n" for l in lines).encode())

    def _fill(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.time()))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            return False
        if not data:
            return False
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.lines.append(line.rstrip(b"\r").decode(errors="replace"))
        return True

    def expect(self, pattern, timeout=5.0):
        """Next line (after the last match) matching pattern; fail if none."""
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        while True:
            while self.pos < len(self.lines):
                line = self.lines[self.pos]
                self.pos += 1
                if rx.search(line):
                    return line
            if time.time() >= deadline or not self._fill(deadline):
                if time.time() < deadline:
                    time.sleep(0.02)
                    if self._fill(deadline):
                        continue
                fail("%s: no line matching %r; last lines:\n  %s"
                     % (self.nick, pattern, "\n  ".join(self.lines[-15:])))

    def absent(self, pattern, wait=0.5):
        """No line matching pattern arrives within wait seconds."""
        rx = re.compile(pattern)
        deadline = time.time() + wait
        while time.time() < deadline:
            self._fill(deadline)
        for line in self.lines[self.pos:]:
            if rx.search(line):
                fail("%s: unexpected line %r" % (self.nick, line))
        self.pos = len(self.lines)

    def closed(self, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return True
            if not data:
                return True
            self.buf += data
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                self.lines.append(line.rstrip(b"\r").decode(errors="replace"))
        return False

    def close(self):
        self.sock.close()


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg, flush=True)

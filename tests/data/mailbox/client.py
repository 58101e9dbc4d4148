#!/usr/bin/env python3
"""The mail client of the mailbox recording harness (tests/src/mailbox.rs).

Run inside the client's network namespace as

    python3 client.py ARGS.json

ARGS.json, written by the harness, names the server, the account, the
seeded messages in mailbox order, the message to append, the Maildir and
where to write the manifest. The client talks to dovecot with the standard
library's poplib and imaplib, one TCP connection per session, in this order:

 1. pop3-user-pass  POP3 in clear: CAPA, USER/PASS, STAT, LIST, UIDL,
                    RETR 1, TOP 2 0, RETR 2, DELE 1, QUIT
 2. pop3-stls       POP3: CAPA, STLS, then encrypted USER/PASS, RETR 2, QUIT
 3. pop3-auth-plain POP3 in clear: CAPA, AUTH PLAIN (initial response),
                    RETR 3, QUIT
 4. imap-login      IMAP in clear: CAPABILITY, LOGIN, LIST, SELECT INBOX,
                    FETCH 1:* (RFC822.SIZE FLAGS), FETCH 1 BODY[],
                    FETCH 2 RFC822, EXAMINE Archive, FETCH 1 BODY[],
                    APPEND Sent, IDLE (1 s) + DONE, LOGOUT
 5. imap-authenticate-plain  IMAP in clear: CAPABILITY, AUTHENTICATE PLAIN
                    (continuation), SELECT INBOX, FETCH 3 BODY.PEEK[], LOGOUT
 6. imap-starttls   IMAP: CAPABILITY, STARTTLS, then encrypted CAPABILITY,
                    LOGIN, SELECT INBOX, FETCH 4 BODY[], LOGOUT

Each session ends with QUIT or LOGOUT, after which the client reads until
dovecot closes the connection and then closes its side: no RST, the same
end every time.

Session 1 deletes the first INBOX message, so later sessions see the rest
renumbered; the client keeps track and notes the contents of each mailbox
before each session.

It writes a JSON manifest of what it did and of every message that crossed
the wire (see the "Manifest" section of tests/src/mailbox.rs), compares
each fetched message with the seeded one byte for byte, and lists every
disagreement under "problems". The exit status is 0 when there is none.
Only the standard library is used.
"""

import base64
import copy
import email
import email.policy
import hashlib
import imaplib
import json
import os
import poplib
import re
import ssl
import sys
import time
import traceback

CRLF = b"\r\n"


# --- Message bytes --------------------------------------------------------


def digest(data):
    """sha256, md5 and length of some bytes."""
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "length": len(data),
    }


def head_and_body(raw):
    """The header block (each line with its CRLF) and the body after the
    empty line."""
    if raw.startswith(CRLF):
        return b"", raw[2:]
    i = raw.find(b"\r\n\r\n")
    if i < 0:
        return raw, b""
    return raw[: i + 2], raw[i + 4 :]


def split_multipart(body, boundary):
    """The raw parts of a multipart body: the bytes after each delimiter
    line up to the CRLF before the next delimiter (RFC 2046: that CRLF
    belongs to the delimiter)."""
    pieces = (CRLF + body).split(CRLF + b"--" + boundary)
    parts = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break
        end_of_line = piece.find(CRLF)
        parts.append(piece[end_of_line + 2 :] if end_of_line >= 0 else b"")
    return parts


def describe_parts(raw):
    """Every MIME entity of a message with content: the leaves (text bodies
    and attachments, decoded from base64 or quoted-printable by the email
    package) and encapsulated messages (message/rfc822, whose content is the
    inner message's bytes; the inner message's own entities follow it).

    "section" is the IMAP section number; "content" the decoded bytes'
    sha256/md5/length. For a part of a multipart, the content ends before
    the CRLF that precedes the next boundary; for a single-part message it
    runs to the end of the message. Where Zeek's MIME decoder delivers it
    with one more CRLF (see below), "zeek_content" has that digest."""
    out = []
    message = email.message_from_bytes(raw, policy=email.policy.default)
    _walk(message, raw, "", out)
    return out


def _walk(node, raw, section, out, in_multipart=False):
    ctype = node.get_content_type()
    if node.get_content_maintype() == "multipart":
        boundary = node.get_boundary()
        raws = split_multipart(head_and_body(raw)[1], boundary.encode())
        children = node.get_payload()
        if len(raws) != len(children):
            raise ValueError(f"section {section or 'top'}: {len(raws)} raw parts, "
                             f"{len(children)} parsed")
        for i, (child, child_raw) in enumerate(zip(children, raws), 1):
            _walk(child, child_raw, f"{section}.{i}" if section else str(i), out, True)
        return
    entry = {
        "section": section or "1",
        "content_type": ctype,
        "charset": node.get_content_charset(),
        "filename": node.get_filename(),
        "disposition": node.get_content_disposition(),
        "is_attachment": node.get_content_disposition() == "attachment"
        or node.get_filename() is not None,
        "transfer_encoding": str(node.get("Content-Transfer-Encoding", "7bit")).lower(),
    }
    raw_body = head_and_body(raw)[1]
    if ctype == "message/rfc822":
        entry["content"] = digest(raw_body)
        out.append(entry)
        inner = node.get_payload(0)
        s = section or "1"
        if inner.get_content_maintype() == "multipart":
            _walk(inner, raw_body, s, out)
        else:
            _walk(inner, raw_body, s + ".1", out)
        return
    content = node.get_payload(decode=True)
    if entry["transfer_encoding"] in ("7bit", "8bit", "binary") and content != raw_body:
        raise ValueError(f"section {entry['section']}: the email package's content "
                         "differs from the raw part body")
    entry["content"] = digest(content)
    # Zeek's MIME decoder (which the sensor follows) ends every line of a
    # part with CRLF, the last one too, except the last line of an
    # unencoded part whose parent is a multipart (that CRLF belongs to the
    # boundary) and a soft-broken quoted-printable line. Its files hold
    # that CRLF where the content here does not.
    last = raw_body.split(b"\n")[-1].rstrip(b" \t\r")
    ends_open = raw_body and not raw_body.endswith(b"\n")
    encoding = entry["transfer_encoding"]
    if encoding == "quoted-printable":
        add = ends_open and not last.endswith(b"=")
    elif encoding == "base64":
        add = False
    else:
        add = ends_open and not in_multipart
    if add:
        entry["zeek_content"] = digest(content + b"\r\n")
    out.append(entry)


def subject_of(raw):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return str(message.get("Subject", ""))


# --- Recording what goes over the wire ------------------------------------


class Session:
    """One TCP connection's record in the manifest."""

    def __init__(self, client, name, protocol, port):
        self.client = client
        self.record = {
            "name": name,
            "protocol": protocol,
            "server": client.server,
            "server_port": port,
            "client": client.args["client"],
            "client_port": None,
            "tls": False,
            "tls_version": None,
            "tls_cipher": None,
            "user": None,
            "auth": None,
            "greeting": None,
            "mailboxes_before": copy.deepcopy(client.mailboxes),
            "commands": [],
            "messages": [],
            "start": time.time(),
            "end": None,
        }
        self._tags = {}
        self._idle_or_auth = None

    def connected(self, sock):
        self.record["client_port"] = sock.getsockname()[1]

    def tls_started(self, sock):
        self.record["tls"] = True
        self.record["tls_version"] = sock.version()
        self.record["tls_cipher"] = sock.cipher()[0]

    def logged_in(self, user, method, mechanism=None, initial_response=None):
        self.record["user"] = user
        self.record["auth"] = {
            "method": method,
            "mechanism": mechanism,
            "initial_response": initial_response,
            "encrypted": self.record["tls"],
        }

    # POP3: each line the client sends is a command, each status line read
    # answers the oldest unanswered one.
    def pop3_sent(self, line, encrypted):
        text = line.decode("utf-8", "replace")
        command, _, arg = text.partition(" ")
        self.record["commands"].append(
            {"line": text, "command": command.upper(), "arg": arg,
             "encrypted": encrypted, "reply": None})

    def pop3_status(self, line):
        text = line.decode("utf-8", "replace")
        if self.record["greeting"] is None and not self.record["commands"]:
            self.record["greeting"] = text
            return
        for c in self.record["commands"]:
            if c["reply"] is None:
                c["reply"] = text
                return

    # IMAP: lines come from ImapLines below; tagged replies are matched by
    # tag. Lines sent while an IDLE or AUTHENTICATE is open are
    # continuations of it (DONE, SASL responses).
    def imap_sent(self, line, encrypted):
        text = line.decode("utf-8", "replace")
        if self._idle_or_auth is not None:
            entry = {"line": text, "continuation_of": self._idle_or_auth,
                     "encrypted": encrypted}
            self.record["commands"].append(entry)
            return entry
        tag, _, rest = text.partition(" ")
        command, _, args = rest.partition(" ")
        entry = {"line": text, "tag": tag, "command": command.upper(), "args": args,
                 "encrypted": encrypted, "reply": None}
        self.record["commands"].append(entry)
        self._tags[tag] = entry
        if entry["command"] in ("IDLE", "AUTHENTICATE"):
            self._idle_or_auth = tag
        return entry

    def imap_received(self, line):
        text = line.decode("utf-8", "replace")
        if self.record["greeting"] is None and not self.record["commands"]:
            self.record["greeting"] = text
            return
        tag, _, status = text.partition(" ")
        if tag in self._tags and self._tags[tag]["reply"] is None:
            self._tags[tag]["reply"] = status
            if tag == self._idle_or_auth:
                self._idle_or_auth = None

    def finish(self):
        self.record["end"] = time.time()
        self.client.manifest["sessions"].append(self.record)


class RecordingPOP3(poplib.POP3):
    """poplib.POP3 that notes each line sent and each status line read."""

    def __init__(self, host, port, session):
        self.session = session
        super().__init__(host, port, timeout=30)

    def _putline(self, line):
        self.session.pop3_sent(line, self._tls_established)
        super()._putline(line)

    def _getresp(self):
        resp, _ = self._getline()
        self.session.pop3_status(resp)
        if not resp.startswith(b"+"):
            raise poplib.error_proto(resp)
        return resp


class ImapLines:
    """Cuts what imaplib sends into lines; a line ending in a literal
    announcement {N} is followed by N bytes of literal, recorded by digest
    on that line's entry (and kept in `last_literal`)."""

    def __init__(self, session):
        self.session = session
        self.buf = b""
        self.literal_left = 0
        self.literal = b""
        self.open_entry = None
        self.last_literal = None

    def feed(self, data, encrypted):
        self.buf += data
        while True:
            if self.literal_left:
                if not self.buf:
                    return
                n = min(self.literal_left, len(self.buf))
                self.literal += self.buf[:n]
                self.buf = self.buf[n:]
                self.literal_left -= n
                if not self.literal_left:
                    self.open_entry.setdefault("literals", []).append(digest(self.literal))
                    self.last_literal = self.literal
                continue
            i = self.buf.find(CRLF)
            if i < 0:
                return
            line, self.buf = self.buf[:i], self.buf[i + 2 :]
            if self.open_entry is not None:
                # The rest of a command line after its literal.
                entry = self.open_entry
                if line:
                    entry["line_after_literal"] = line.decode("utf-8", "replace")
            else:
                entry = self.session.imap_sent(line, encrypted)
            m = re.search(rb"\{(\d+)\+?\}$", line)
            if m:
                self.literal_left = int(m.group(1))
                self.literal = b""
                self.open_entry = entry
            else:
                self.open_entry = None


class RecordingIMAP4(imaplib.IMAP4):
    """imaplib.IMAP4 that notes each line (and literal) sent and each
    response line read."""

    def __init__(self, host, port, session):
        self.session = session
        self.lines = ImapLines(session)
        super().__init__(host, port, timeout=30)

    def send(self, data):
        self.lines.feed(data, self._tls_established)
        super().send(data)

    def _get_line(self):
        line = super()._get_line()
        self.session.imap_received(line)
        return line


# --- The client -----------------------------------------------------------


class Client:
    def __init__(self, args):
        self.args = args
        self.server = args["server"]
        self.user = args["user"]
        self.password = args["password"]
        self.problems = []
        # Seed id -> bytes as written into the Maildir.
        self.seed_bytes = {}
        seeded = []
        for s in args["seeds"]:
            with open(s["path"], "rb") as f:
                data = f.read()
            self.seed_bytes[s["id"]] = data
            seeded.append(self.describe_seed(s, data))
        with open(args["append"]["path"], "rb") as f:
            self.append_bytes = f.read()
        self.by_sha = {hashlib.sha256(b).hexdigest(): i for i, b in self.seed_bytes.items()}
        # Mailbox -> seed ids in message-number order.
        self.mailboxes = {}
        for s in args["seeds"]:
            self.mailboxes.setdefault(s["mailbox"], []).append(s["id"])
        self.mailboxes.setdefault("Sent", [])
        self.manifest = {
            "format": 1,
            "server": {"address": self.server, "pop3_port": args["pop3_port"],
                       "imap_port": args["imap_port"]},
            "client": {"address": args["client"]},
            "user": self.user,
            "password": self.password,
            "seeded": seeded,
            "appended": self.describe_seed(args["append"], self.append_bytes),
            "sessions": [],
            "mailboxes_after": None,
            "problems": self.problems,
        }
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.tls.check_hostname = False
        self.tls.verify_mode = ssl.CERT_NONE  # dovecot's certificate is self-signed

    def describe_seed(self, seed, data):
        if b"\n" in data.replace(CRLF, b"") or b"\r" in data.replace(CRLF, b""):
            self.problem(f"{seed['id']}: has line ends other than CRLF")
        entry = {"id": seed["id"], "mailbox": seed["mailbox"], "about": seed.get("about"),
                 "file": seed["path"], "subject": subject_of(data), **digest(data)}
        entry["parts"] = describe_parts(data)
        return entry

    def problem(self, text):
        self.problems.append(text)

    def message(self, session, command, mailbox, number, data, encrypted,
                partial=False, **extra):
        """Notes a message (or part of one) the server sent, and compares
        it with the seeded message expected at that number."""
        expected = self.mailboxes[mailbox][number - 1]
        entry = {"command": command, "direction": "server-to-client", "mailbox": mailbox,
                 "number": number, "partial": partial, "encrypted": encrypted,
                 "expected_seed": expected, **digest(data), **extra}
        seed = self.seed_bytes[expected]
        if partial:
            # TOP n 0: the header block and the empty line.
            head = head_and_body(seed)[0] + CRLF
            entry["seed"] = expected if data == head else None
            entry["matches_seed"] = data == head
        else:
            entry["seed"] = self.by_sha.get(entry["sha256"])
            entry["matches_seed"] = entry["seed"] == expected
            entry["parts"] = describe_parts(data)
        if not entry["matches_seed"]:
            self.problem(f"{session.record['name']}: {command} gave {len(data)} bytes "
                         f"(sha256 {entry['sha256']}) that are not seed {expected}"
                         + (" (header part)" if partial else ""))
        session.record["messages"].append(entry)
        return entry

    # POP3 ------------------------------------------------------------------

    def pop3(self, session):
        p = RecordingPOP3(self.server, self.args["pop3_port"], session)
        session.connected(p.sock)
        return p

    @staticmethod
    def pop3_quit(p):
        """QUIT, read until the server closes, then close: dovecot's FIN
        comes first and neither side resets. (poplib's quit() closes at
        once, and a TLS record still unread then makes the kernel answer
        with RST, so the end of the recording would vary.)"""
        p._shortcmd("QUIT")
        p.file.read()
        p.close()

    def retr(self, p, session, number):
        _, lines, octets = p.retr(number)
        data = b"".join(line + CRLF for line in lines)
        if len(data) != octets:
            self.problem(f"{session.record['name']}: RETR {number}: line ends other than CRLF")
        # poplib took one dot off each line that began with one.
        stuffed = sum(1 for line in lines if line.startswith(b"."))
        self.message(session, f"RETR {number}", "INBOX", number, data, p._tls_established,
                     wire_length=octets + stuffed, dot_stuffed_lines=stuffed)

    def pop3_user_pass(self):
        s = Session(self, "pop3-user-pass", "pop3", self.args["pop3_port"])
        p = self.pop3(s)
        p.capa()
        p.user(self.user)
        p.pass_(self.password)
        s.logged_in(self.user, "USER/PASS")
        count, size = p.stat()
        s.record["stat"] = {"messages": count, "octets": size}
        s.record["list"] = [line.decode() for line in p.list()[1]]
        s.record["uidl"] = [line.decode() for line in p.uidl()[1]]
        self.check_sizes(s, "INBOX",
                         {int(n): int(v) for n, v in (l.split() for l in s.record["list"])})
        self.retr(p, s, 1)
        _, lines, octets = p.top(2, 0)
        self.message(s, "TOP 2 0", "INBOX", 2, b"".join(line + CRLF for line in lines),
                     False, partial=True)
        self.retr(p, s, 2)
        p.dele(1)
        self.pop3_quit(p)
        s.record["deleted"] = [{"mailbox": "INBOX", "number": 1,
                                "seed": self.mailboxes["INBOX"].pop(0)}]
        s.finish()

    def pop3_stls(self):
        s = Session(self, "pop3-stls", "pop3", self.args["pop3_port"])
        p = self.pop3(s)
        p.stls(self.tls)  # CAPA, then STLS
        s.tls_started(p.sock)
        p.user(self.user)
        p.pass_(self.password)
        s.logged_in(self.user, "USER/PASS")
        self.retr(p, s, 2)
        self.pop3_quit(p)
        s.finish()

    def pop3_auth_plain(self):
        s = Session(self, "pop3-auth-plain", "pop3", self.args["pop3_port"])
        p = self.pop3(s)
        caps = p.capa()
        if "PLAIN" in caps.get("SASL", []):
            blob = base64.b64encode(f"\0{self.user}\0{self.password}".encode()).decode()
            p._shortcmd(f"AUTH PLAIN {blob}")
            s.logged_in(self.user, "AUTH", "PLAIN", initial_response=True)
            self.retr(p, s, 3)
        else:
            s.record["skipped"] = "the server does not offer SASL PLAIN"
        self.pop3_quit(p)
        s.finish()

    # IMAP ------------------------------------------------------------------

    def imap(self, session):
        m = RecordingIMAP4(self.server, self.args["imap_port"], session)
        session.connected(m.sock)
        return m

    def fetch(self, m, session, mailbox, number, item, answer):
        """FETCH `number` (`item`) and note the literal of `answer` (the
        data item name in the response)."""
        typ, data = m.fetch(str(number), f"({item})")
        if typ != "OK":
            raise RuntimeError(f"FETCH {number} {item}: {typ} {data}")
        pattern = re.compile(rb"(^|[ (])" + re.escape(answer.encode()) + rb" \{\d+\}$")
        literals = [d[1] for d in data if isinstance(d, tuple) and pattern.search(d[0])]
        if len(literals) != 1:
            raise RuntimeError(f"FETCH {number} {item}: no single {answer} literal in {data!r}")
        self.message(session, f"FETCH {number} ({item})", mailbox, number, literals[0],
                     m._tls_established)

    @staticmethod
    def imap_logout(m):
        """LOGOUT, read the BYE and the tagged OK and on until the server
        closes, then close (imaplib's logout() closes at the BYE, before
        the tagged OK; see pop3_quit)."""
        tag = m._new_tag()
        m.send(tag + b" LOGOUT\r\n")
        while not m._get_line().startswith(tag + b" "):
            pass
        m.tagged_commands.pop(tag, None)
        m.file.read()
        m.shutdown()

    def check_sizes(self, session, mailbox, sizes):
        """Compares the sizes the server reports with the seeded messages'."""
        want = {i: len(self.seed_bytes[s]) for i, s in enumerate(self.mailboxes[mailbox], 1)}
        if sizes != want:
            self.problem(f"{session.record['name']}: {mailbox} sizes {sizes}, seeded {want}")

    def idle(self, m, session, seconds):
        """IDLE by hand (imaplib has no IDLE before Python 3.14)."""
        tag = m._new_tag()
        m.send(tag + b" IDLE\r\n")
        line = m._get_line()
        while not line.startswith(b"+"):
            if line.startswith(tag + b" "):
                raise RuntimeError(f"IDLE refused: {line!r}")
            line = m._get_line()
        time.sleep(seconds)
        m.send(b"DONE\r\n")
        line = m._get_line()
        while not line.startswith(tag + b" "):
            line = m._get_line()
        if not line.startswith(tag + b" OK"):
            raise RuntimeError(f"IDLE ended with {line!r}")
        m.tagged_commands.pop(tag, None)

    def imap_login(self):
        s = Session(self, "imap-login", "imap", self.args["imap_port"])
        m = self.imap(s)  # the greeting, then imaplib sends CAPABILITY
        m.login(self.user, self.password)
        s.logged_in(self.user, "LOGIN")
        s.record["list"] = [l.decode() for l in m.list()[1]]
        m.select("INBOX")
        typ, data = m.fetch("1:*", "(RFC822.SIZE FLAGS)")
        sizes = {}
        for d in data:
            got = re.match(rb"(\d+) \(.*RFC822\.SIZE (\d+)", d)
            if got:
                sizes[int(got.group(1))] = int(got.group(2))
        s.record["sizes"] = {"INBOX": sizes}
        self.check_sizes(s, "INBOX", sizes)
        self.fetch(m, s, "INBOX", 1, "BODY[]", "BODY[]")
        self.fetch(m, s, "INBOX", 2, "RFC822", "RFC822")
        m.select("Archive", readonly=True)  # EXAMINE
        self.fetch(m, s, "Archive", 1, "BODY[]", "BODY[]")
        typ, data = m.append("Sent", None, None, self.append_bytes)
        if typ != "OK":
            raise RuntimeError(f"APPEND: {typ} {data}")
        sent = m.lines.last_literal
        entry = {"command": "APPEND Sent", "direction": "client-to-server", "mailbox": "Sent",
                 "number": len(self.mailboxes["Sent"]) + 1, "partial": False,
                 "encrypted": m._tls_established, "seed": self.args["append"]["id"],
                 **digest(sent), "matches_seed": sent == self.append_bytes,
                 "parts": describe_parts(sent)}
        if not entry["matches_seed"]:
            self.problem("imap-login: the APPEND literal is not the message to append")
        s.record["messages"].append(entry)
        self.mailboxes["Sent"].append(self.args["append"]["id"])
        self.idle(m, s, 1.0)
        self.imap_logout(m)
        s.finish()

    def imap_authenticate_plain(self):
        s = Session(self, "imap-authenticate-plain", "imap", self.args["imap_port"])
        m = self.imap(s)
        m.authenticate("PLAIN", lambda _: f"\0{self.user}\0{self.password}".encode())
        s.logged_in(self.user, "AUTHENTICATE", "PLAIN", initial_response=False)
        m.select("INBOX")
        self.fetch(m, s, "INBOX", 3, "BODY.PEEK[]", "BODY[]")
        self.imap_logout(m)
        s.finish()

    def imap_starttls(self):
        s = Session(self, "imap-starttls", "imap", self.args["imap_port"])
        m = self.imap(s)
        m.starttls(self.tls)  # then imaplib asks for CAPABILITY again
        s.tls_started(m.sock)
        m.login(self.user, self.password)
        s.logged_in(self.user, "LOGIN")
        m.select("INBOX")
        self.fetch(m, s, "INBOX", 4, "BODY[]", "BODY[]")
        self.imap_logout(m)
        s.finish()

    def check_stored_append(self):
        """The appended message as dovecot stored it (mail_save_crlf=yes
        keeps its CRLF line ends)."""
        folder = os.path.join(self.args["maildir"], ".Sent")
        files = [os.path.join(folder, d, f) for d in ("cur", "new")
                 if os.path.isdir(os.path.join(folder, d))
                 for f in sorted(os.listdir(os.path.join(folder, d)))]
        if len(files) != 1:
            self.problem(f"Sent holds {len(files)} messages, not 1")
            return
        with open(files[0], "rb") as f:
            stored = f.read()
        self.manifest["appended"]["stored"] = {"file": files[0], **digest(stored),
                                              "matches": stored == self.append_bytes}
        if stored != self.append_bytes:
            self.problem("the message dovecot stored in Sent differs from the one appended")

    def run(self):
        for session in (self.pop3_user_pass, self.pop3_stls, self.pop3_auth_plain,
                        self.imap_login, self.imap_authenticate_plain, self.imap_starttls):
            try:
                session()
            except Exception as e:  # noqa: BLE001 - noted, and the next session runs
                self.problem(f"{session.__name__}: {type(e).__name__}: {e}")
                traceback.print_exc()
        try:
            self.check_stored_append()
        except OSError as e:
            self.problem(f"reading the Sent folder: {e}")
        self.manifest["mailboxes_after"] = self.mailboxes
        names = [s["name"] for s in self.manifest["sessions"]]
        print(f"{len(names)} sessions: {', '.join(names)}; {len(self.problems)} problems")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: client.py ARGS.json")
    with open(sys.argv[1], encoding="utf-8") as f:
        args = json.load(f)
    client = Client(args)
    client.run()
    with open(args["manifest"], "w", encoding="utf-8") as f:
        json.dump(client.manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for p in client.problems:
        print("problem:", p, file=sys.stderr)
    sys.exit(1 if client.problems else 0)


if __name__ == "__main__":
    main()

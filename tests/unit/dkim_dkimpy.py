#!/usr/bin/python3
# The dkimpy side of the DKIM differential test (tests/unit/test-dkim-differential.cc).
# Run with Debian's python (/usr/bin/python3, python3-dkim and python3-nacl):
#
#   dkim_dkimpy.py OUTPUT_DIR SEED COUNT
#
# Generates COUNT messages from SEED (random headers, folded fields, bodies with blank
# lines, white space, "-- " separators, 8-bit text), signs each with dkimpy (one or two
# signatures: rsa-sha256 with 1024- and 2048-bit keys, ed25519-sha256, some rsa-sha1; the
# four canonicalizations; with and without l=; several h= lists, oversigned fields, fields
# the message lacks), then derives tampered copies (body, header and signature changes) and
# verifies every copy with dkimpy. Keys are made with openssl(1) and PyNaCl; the key
# records (matching and mismatched k=, h=, s=, t=, revoked, with unknown tags...) are
# written to OUTPUT_DIR/keys.tsv ("NAME<TAB>TXT TEXT"), the cases to OUTPUT_DIR/cases.tsv:
#
#   ID  LABELS  SHIPPED  CORRECTED  CORRECTIONS  LENGTHS  MESSAGE
#
# one line per case; SHIPPED and CORRECTED are dkimpy's verdicts per DKIM-Signature field
# (top first, "1" pass, "0" not), as shipped and with the corrections below; CORRECTIONS
# names, per signature, those that changed the verdict ("-" for none); LENGTHS is, per
# signature, "L/N" (l= and the canonicalized body's length) or "-" without l=; MESSAGE is
# base64. Fields are separated by tabs, lists by commas (signatures by ';' in CORRECTIONS).
#
# The corrections, each a point where dkimpy 1.1.4 departs from the RFCs (the README's
# Conformance section lists them with the deciding section):
#   sha1         it accepts rsa-sha1; RFC 8301 §3.1: verifiers MUST NOT consider them valid
#   key-hash     it ignores the key record's h=; RFC 6376 §3.6.1 (h=) and §6.1.2: a key
#                whose h= lacks the signature's hash algorithm is not to be used (PERMFAIL)
#   extra-from   it hashes one From field more than h= selects (its bug #644046 guard);
#                RFC 6376 §5.4.2: fields are selected bottom-up by h=, the others are not
#                signed: the corrected verdict is dkimpy's on the message without them
#   length       it takes an l= larger than the canonicalized body; RFC 6376 §3.5: l= "MUST
#                NOT be larger than the actual number of octets in the canonicalized body"
#   strict-i     it ignores t=s in the key record; RFC 6376 §3.6.1: with t=s, i= must have
#                exactly the domain of d=, not a subdomain
import base64
import os
import random
import re
import subprocess
import sys

import dkim
import nacl.signing
from dkim.canonicalization import CanonicalizationPolicy

DOMAIN = b"dkim.test"
NOW_WORDS = ("alpha", "beta", "gamma", "delta", "report", "numbers", "meeting", "invoice",
             "Zürich", "naïve", "tab\there", "x", "", "-", "--", "The", "end.")


def openssl_rsa(bits):
    pem = subprocess.run(["openssl", "genrsa", "-traditional", str(bits)], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=pem,
                         check=True, capture_output=True).stdout
    return pem, base64.b64encode(der).decode()


class Keys:
    def __init__(self, rng):
        self.rsa1024 = openssl_rsa(1024)
        self.rsa2048 = openssl_rsa(2048)
        ed = nacl.signing.SigningKey(bytes(rng.getrandbits(8) for _ in range(32)))
        self.ed25519 = (base64.b64encode(bytes(ed)), base64.b64encode(bytes(ed.verify_key)).decode())
        r1, r2, e1 = self.rsa1024[1], self.rsa2048[1], self.ed25519[1]
        spaced = " ".join(r1[i:i + 40] for i in range(0, len(r1), 40))
        # selector -> (key record, signing key kind)
        self.records = {
            "r1": ("v=DKIM1; k=rsa; p=" + r1, "rsa1024"),
            "r1nok": ("v=DKIM1; p=" + r1, "rsa1024"),
            "r1nov": ("k=rsa; p=" + r1, "rsa1024"),
            "r1y": ("v=DKIM1; k=rsa; t=y; p=" + r1, "rsa1024"),
            "r1s": ("v=DKIM1; k=rsa; t=s; p=" + r1, "rsa1024"),
            "r1h256": ("v=DKIM1; k=rsa; h=sha256; p=" + r1, "rsa1024"),
            "r1h1": ("v=DKIM1; k=rsa; h=sha1; p=" + r1, "rsa1024"),
            "r1email": ("v=DKIM1; k=rsa; s=email; p=" + r1, "rsa1024"),
            "r1tls": ("v=DKIM1; k=rsa; s=tlsrpt; p=" + r1, "rsa1024"),
            "r1tag": ("v=DKIM1; k=rsa; n=notes; x9=unknown; p=" + r1, "rsa1024"),
            "r1sp": ("v=DKIM1; k=rsa; p=" + spaced, "rsa1024"),
            "r1ased": ("v=DKIM1; k=ed25519; p=" + r1, "rsa1024"),
            "r1rev": ("v=DKIM1; k=rsa; p=", "rsa1024"),
            "r1v2": ("v=DKIM2; k=rsa; p=" + r1, "rsa1024"),
            "r2": ("v=DKIM1; k=rsa; p=" + r2, "rsa2048"),
            "e1": ("v=DKIM1; k=ed25519; p=" + e1, "ed25519"),
            "e1y": ("v=DKIM1; k=ed25519; t=y; p=" + e1, "ed25519"),
            "e1rsa": ("v=DKIM1; k=rsa; p=" + e1, "ed25519"),
            "e1nok": ("v=DKIM1; p=" + e1, "ed25519"),
            "e1rev": ("v=DKIM1; k=ed25519; p=", "ed25519"),
        }

    def private(self, kind):
        return {"rsa1024": self.rsa1024[0], "rsa2048": self.rsa2048[0],
                "ed25519": self.ed25519[0]}[kind]

    def txt(self, name):
        selector = name.split(b"._domainkey.")[0].decode()
        if not name.endswith(b"._domainkey." + DOMAIN + b".") or selector not in self.records:
            return None
        return self.records[selector][0].encode()


def words(rng, count):
    return " ".join(rng.choice(NOW_WORDS) for _ in range(count))


def make_headers(rng, number):
    subject = "Subject: " + words(rng, rng.randint(1, 12))
    if rng.random() < 0.3:  # folded
        subject += "\r\n\t" + words(rng, rng.randint(1, 6))
    to = "To: bob@example.net"
    if rng.random() < 0.3:
        to += ",\r\n    carol@example.net"
    headers = [
        "Received: from mx.example.org by mx.dkim.test; Sun, 22 Nov 2026 10:00:0%d +0000"
        % (number % 10),
        "From: Alice <alice@dkim.test>",
        to,
        subject,
        "Date: Sun, 22 Nov 2026 10:00:00 +0000",
        "Message-ID: <%d@dkim.test>" % number,
    ]
    if rng.random() < 0.4:
        headers.append("Cc:  dave@example.net  ")
    if rng.random() < 0.4:
        headers.append("X-Mailer:\tgenerator  %d" % number)
    if rng.random() < 0.2:
        headers.append("MIME-Version: 1.0")
    rng.shuffle(headers[2:])  # From stays near the top, the rest in any order
    return headers


def make_body(rng):
    kind = rng.random()
    if kind < 0.05:
        return ""
    if kind < 0.08:
        return "\r\n" * rng.randint(1, 3)
    lines = []
    for _ in range(rng.randint(1, 25)):
        line = words(rng, rng.randint(0, 14))
        r = rng.random()
        if r < 0.1:
            line += "  \t"  # trailing white space
        elif r < 0.15:
            line = "  " + line
        elif r < 0.18:
            line = "x" * rng.randint(100, 900)
        lines.append(line)
    if rng.random() < 0.4:
        lines += ["-- ", "Alice"]
    body = "\r\n".join(lines) + "\r\n"
    if rng.random() < 0.3:
        body += "\r\n" * rng.randint(1, 3)  # blank lines at the end
    if rng.random() < 0.1:
        body += " \t \r\n"  # a last line of white space only
    return body


HEADER_LISTS = [
    None,  # dkimpy's default (oversigns From)
    [b"from"],
    [b"from", b"subject"],
    [b"from", b"to", b"subject", b"date", b"message-id"],
    [b"from", b"from", b"subject", b"subject"],  # oversigned
    [b"from", b"x-absent", b"subject"],  # a field the message lacks
    [b"x-mailer", b"from", b"to", b"cc"],
    [b"date", b"from", b"mime-version", b"message-id", b"to"],
]

CANONS = [(b"simple", b"simple"), (b"simple", b"relaxed"), (b"relaxed", b"simple"),
          (b"relaxed", b"relaxed")]


def choose_signer(rng, keys):
    r = rng.random()
    if r < 0.5:
        selector = rng.choice(["e1", "e1", "e1", "e1y", "e1rsa", "e1nok", "e1rev"])
        algorithm = b"ed25519-sha256"
    elif r < 0.53:
        selector, algorithm = "r1", b"rsa-sha1"
    elif r < 0.58:
        selector, algorithm = "r2", b"rsa-sha256"
    else:
        selector = rng.choice(["r1", "r1", "r1", "r1nok", "r1nov", "r1y", "r1s", "r1h256", "r1h1",
                               "r1email", "r1tls", "r1tag", "r1sp", "r1ased", "r1rev", "r1v2"])
        algorithm = rng.choice([b"rsa-sha256"] * 9 + [b"rsa-sha1"])
    identity = None
    if rng.random() < 0.15:
        identity = rng.choice([b"alice@dkim.test", b"@sub.dkim.test", b"@dkim.test"])
    return {
        "selector": selector.encode(),
        "key": keys.private(keys.records[selector][1]),
        "algorithm": algorithm,
        "canon": rng.choice(CANONS),
        "headers": rng.choice(HEADER_LISTS),
        "length": rng.random() < 0.25,
        "identity": identity,
    }


def sign(message, spec):
    return dkim.sign(message, spec["selector"], DOMAIN, spec["key"], identity=spec["identity"],
                     canonicalize=spec["canon"], signature_algorithm=spec["algorithm"],
                     include_headers=spec["headers"], length=spec["length"])


def split(message):
    head, _, body = message.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


def join(lines, body):
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def field_starts(lines):
    return [i for i, line in enumerate(lines) if line[:1] not in (b" ", b"\t")]


def field_at(lines, starts, index):
    end = starts[index + 1] if index + 1 < len(starts) else len(lines)
    return starts[index], end


def find_field(lines, name, which=0):
    starts = field_starts(lines)
    found = [i for i, start in enumerate(starts)
             if lines[start].split(b":", 1)[0].lower() == name]
    if not found:
        return None
    return field_at(lines, starts, found[which])


def move_to_top(lines, body, name):
    """The field moved above all others (fields of other names keep their order)."""
    where = find_field(lines, name)
    if where is None:
        return None
    return join(lines[where[0]:where[1]] + lines[:where[0]] + lines[where[1]:], body)


def replace_tag(signature_lines, tag, change):
    """Applies change(value) to the first tag= of the DKIM-Signature at signature_lines."""
    text = b"\r\n".join(signature_lines)
    match = re.search(rb"([;:]\s*" + tag + rb"=)([^;]*)", text)
    if match is None:
        return signature_lines
    text = text[:match.start(2)] + change(match.group(2)) + text[match.end(2):]
    return text.split(b"\r\n")


def change_b64(value):
    stripped = value.rstrip()
    at = len(stripped) // 2
    while not stripped[at:at + 1].isalnum():
        at -= 1
    c = stripped[at:at + 1]
    return stripped[:at] + (b"A" if c != b"A" else b"B") + stripped[at + 1:] + value[len(stripped):]


def fold_inside(value):
    at = len(value) // 3
    return value[:at] + b"\r\n\t " + value[at:]


def tamperings(rng, message):
    """(label, tampered message) pairs; the signature to tamper with is the top one."""
    lines, body = split(message)
    out = [("none", message)]
    sig = find_field(lines, b"dkim-signature")
    sig_lines = lines[sig[0]:sig[1]]

    def with_signature(new_lines):
        return join(lines[:sig[0]] + new_lines + lines[sig[1]:], body)

    def with_field(name, change, which=0):
        where = find_field(lines, name, which)
        if where is None:
            return None
        new = change(lines[where[0]:where[1]])
        return join(lines[:where[0]] + new + lines[where[1]:], body)

    choices = {
        "body-byte": lambda: join(lines, body[:len(body) // 2] + b"#" + body[len(body) // 2 + 1:])
        if body else None,
        "body-appended": lambda: join(lines, body + b"Unsubscribe: http://list.example/\r\n"),
        "body-blank-lines": lambda: join(lines, body + b"\r\n\r\n"),
        "body-no-final-crlf": lambda: join(lines, body[:-2])
        if body.endswith(b"\r\n") and body[-3:-2] not in (b"", b" ", b"\t", b"\n") else None,
        "body-space": lambda: join(lines, body.replace(b" ", b"  ", 1)) if b" " in body else None,
        "body-trailing-space": lambda: join(lines, body.replace(b"\r\n", b" \r\n", 1))
        if body else None,
        "body-truncated": lambda: join(lines, body[:len(body) // 2]) if body else None,
        "header-subject": lambda: with_field(b"subject", lambda f: [f[0] + b" (changed)"] + f[1:]),
        "header-name-case": lambda: with_field(b"subject",
                                               lambda f: [b"SUBJECT" + f[0][7:]] + f[1:]),
        "header-space": lambda: with_field(b"subject",
                                           lambda f: [f[0].replace(b": ", b":   ", 1)] + f[1:]),
        "header-refold": lambda: with_field(b"subject",
                                            lambda f: [f[0].replace(b" ", b"\r\n ", 1)] + f[1:]),
        "header-unsigned-added": lambda: join([b"X-Added: yes"] + lines, body),
        "header-from-added-top": lambda: join([b"From: Mallory <m@evil.test>"] + lines, body),
        "header-subject-added-top": lambda: join([b"Subject: another"] + lines, body),
        "header-subject-added-bottom": lambda: join(lines + [b"Subject: another"], body),
        "header-absent-added": lambda: join(lines + [b"X-Absent: now present"], body),
        "header-removed": lambda: with_field(b"to", lambda f: []),
        "header-moved": lambda: move_to_top(lines, body, b"date"),
        "sig-b": lambda: with_signature(replace_tag(sig_lines, b"b", change_b64)),
        "sig-bh": lambda: with_signature(replace_tag(sig_lines, b"bh", change_b64)),
        "sig-b-folded": lambda: with_signature(replace_tag(sig_lines, b"b", fold_inside)),
        "sig-d": lambda: with_signature(replace_tag(sig_lines, b"d", lambda v: b"other.test")),
        "sig-s": lambda: with_signature(replace_tag(sig_lines, b"s", lambda v: b"absent")),
        "sig-a": lambda: with_signature(replace_tag(sig_lines, b"a", lambda v: b"rsa-sha512")),
        "sig-c": lambda: with_signature(replace_tag(sig_lines, b"c", lambda v: b"simple/simple")),
        "sig-l": lambda: with_signature(replace_tag(sig_lines, b"l",
                                                    lambda v: str(int(v) + 9).encode())),
        "sig-v": lambda: with_signature(replace_tag(sig_lines, b"v", lambda v: b"2")),
    }
    for label in rng.sample(sorted(choices), 7):
        tampered = choices[label]()
        if tampered is not None and tampered != message:
            out.append((label, tampered))
    return out


def signature_tags(message):
    headers, _ = dkim.rfc822_parse(message)
    tags = []
    for name, value in headers:
        if name.lower() == b"dkim-signature":
            try:
                tags.append(dkim.parse_tag_value(value))
            except Exception:
                tags.append({})
    return headers, tags


def verify_one(message, index, keys):
    try:
        return dkim.DKIM(message, minkey=1024).verify(idx=index, dnsfunc=dnsfunc(keys))
    except Exception:
        return False


def dnsfunc(keys):
    return lambda name, timeout=5: keys.txt(name)


def without_unselected_from(message, tags):
    """The message without the From fields that h= does not select (bottom-up)."""
    lines, body = split(message)
    selected = [h.strip().lower() for h in re.split(rb":", tags.get(b"h", b""))].count(b"from")
    starts = field_starts(lines)
    froms = [i for i, start in enumerate(starts) if lines[start].split(b":", 1)[0].lower() == b"from"]
    drop = set(froms[:max(0, len(froms) - selected)])
    kept = []
    for i in range(len(starts)):
        if i not in drop:
            start, end = field_at(lines, starts, i)
            kept += lines[start:end]
    return join(kept, body)


def canonical_length(message, tags):
    _, body = dkim.rfc822_parse(message)
    try:
        policy = CanonicalizationPolicy.from_c_value(tags.get(b"c", b"simple/simple"))
    except Exception:
        return None
    return len(policy.body_algorithm.canonicalize_body(body))


def judge(message, keys):
    headers, all_tags = signature_tags(message)
    shipped, corrected, corrections, lengths = [], [], [], []
    for index, tags in enumerate(all_tags):
        verdict = verify_one(message, index, keys)
        applied = []
        fixed = verdict
        froms = sum(1 for name, _ in headers if name.lower() == b"from")
        if not verdict and froms > 1:
            alone = without_unselected_from(message, tags)
            if alone != message and verify_one(alone, index, keys):
                fixed, applied = True, ["extra-from"]
        record = keys.records.get(tags.get(b"s", b"").decode(errors="replace"), ("", ""))[0]
        if fixed and tags.get(b"a") == b"rsa-sha1":
            fixed, applied = False, applied + ["sha1"]
        if fixed and tags.get(b"a", b"").endswith(b"sha256") and "h=sha1;" in record:
            fixed, applied = False, applied + ["key-hash"]
        length = canonical_length(message, tags)
        if fixed and b"l" in tags and length is not None and int(tags[b"l"]) > length:
            fixed, applied = False, applied + ["length"]
        if fixed and "t=s;" in record and b"i" in tags and \
                not tags[b"i"].lower().endswith(b"@" + tags.get(b"d", b"").lower()):
            fixed, applied = False, applied + ["strict-i"]
        if fixed == verdict:
            applied = []  # no disagreement to explain
        shipped.append("1" if verdict else "0")
        corrected.append("1" if fixed else "0")
        corrections.append("+".join(applied) or "-")
        lengths.append("%s/%s" % (tags[b"l"].decode(), length) if b"l" in tags and length is not None
                       else "-")
    return shipped, corrected, corrections, lengths


def main():
    out_dir, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    keys = Keys(rng)
    with open(os.path.join(out_dir, "keys.tsv"), "w") as out:
        for selector, (record, _) in sorted(keys.records.items()):
            out.write("%s._domainkey.%s\t%s\n" % (selector, DOMAIN.decode(), record))
    with open(os.path.join(out_dir, "cases.tsv"), "w") as out:
        case = 0
        for number in range(count):
            message = ("\r\n".join(make_headers(rng, number)) + "\r\n\r\n" +
                       make_body(rng)).encode()
            signers = [choose_signer(rng, keys)]
            if rng.random() < 0.2:
                signers.append(choose_signer(rng, keys))
            labels = []
            for spec in signers:
                message = sign(message, spec) + message
                labels.append("%s/%s/%s/%s%s" % (
                    spec["selector"].decode(), spec["algorithm"].decode(),
                    b"/".join(spec["canon"]).decode(),
                    "h=" + ":".join(h.decode() for h in spec["headers"]) if spec["headers"]
                    else "h=default", "/l=" if spec["length"] else ""))
            for tampering, tampered in tamperings(rng, message):
                shipped, corrected, corrections, lengths = judge(tampered, keys)
                out.write("\t".join([
                    "%d.%d" % (number, case), tampering + " " + " ".join(labels),
                    ",".join(shipped), ",".join(corrected), ";".join(corrections),
                    ",".join(lengths), base64.b64encode(tampered).decode()]) + "\n")
                case += 1


if __name__ == "__main__":
    main()

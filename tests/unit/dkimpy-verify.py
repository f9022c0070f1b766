#!/usr/bin/python3
# Verifies every DKIM-Signature of each message file with dkimpy (Debian's python3-dkim), an
# implementation independent of ours, for tests/unit/test-dkim-sign.cc.
#
#   dkimpy-verify.py KEYS MESSAGE...
#
# KEYS holds one key record per line, "NAME RECORD" (NAME = selector._domainkey.domain);
# every other name has no record. Prints one line per signature, "MESSAGE INDEX pass" or
# "MESSAGE INDEX fail REASON" (INDEX 0 is the topmost signature), and "MESSAGE none" for a
# message without any. Exit status 0 when it could judge every message.
import sys

import dkim


def main():
    records = {}
    with open(sys.argv[1], encoding="ascii") as lines:
        for line in lines:
            name, record = line.rstrip("\n").split(" ", 1)
            records[name.lower().rstrip(".")] = record.encode("ascii")

    def dnsfunc(name, timeout=5):
        return records.get(name.decode("ascii").lower().rstrip("."))

    for path in sys.argv[2:]:
        with open(path, "rb") as message_file:
            message = message_file.read()
        verifier = dkim.DKIM(message)
        count = sum(1 for name, _ in verifier.headers if name.lower() == b"dkim-signature")
        if count == 0:
            print(path, "none")
        for index in range(count):
            try:
                passed = verifier.verify(idx=index, dnsfunc=dnsfunc)
                print(path, index, "pass" if passed else "fail signature")
            except dkim.DKIMException as error:
                print(path, index, "fail", str(error).replace("\n", " "))
    return 0


if __name__ == "__main__":
    sys.exit(main())

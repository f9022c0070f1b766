#!/usr/bin/python3
# The pyspf side of the SPF differential test (tests/unit/test-spf-differential.cc): evaluates
# many cases in one process with Debian's python3-spf, asking the test DNS responder.
#
# usage: spf_pyspf.py --dns ADDR@PORT --receiver NAME --explanation TEXT CASES RESULTS
#   CASES: one case per line, "id<TAB>client-ip<TAB>helo<TAB>mail-from" (mail-from may be
#   empty: the HELO identity). RESULTS gets one line per case:
#   "id<TAB>result<TAB>explanation<TAB>corrected-result<TAB>corrected-explanation<TAB>items
#   <TAB>why" (why: corrected pyspf's message for a permerror or temperror, for the report)
#   - result, explanation: pyspf as shipped;
#   - corrected-*: pyspf with the corrections below, each a point where pyspf departs from
#     RFC 7208 (the README's Conformance section lists them with the deciding section);
#   - items: when the two differ, the names of the corrections that made the difference
#     (each tried alone left out), comma-separated.
# Every case's DNS answers are asked once and replayed to the later runs of that case.
# Exit status 0, or 2 with a message on stderr.

import argparse
import inspect
import re
import sys

import dns.name
import dns.resolver
import spf

# ---------------------------------------------------------------------------------------
# The corrections. ACTIVE holds the names in force for the current run.

ACTIVE = set()
CORRECTIONS = {
    'macro-join': 'RFC 7208 7.3: the parts of a transformed macro are joined with "."',
    'macro-upper-r': 'RFC 7208 7.1 (RFC 5234 2.3): the "r" transformer is case-insensitive',
    'macro-zero-digit': 'RFC 7208 7.3: a DIGIT transformer of 0 is an error',
    'macro-delimiter': 'RFC 7208 7.1: only . - + , / _ = are delimiters',
    'macro-percent': 'RFC 7208 7.1: "%%" is a macro-expand also at the end of a text',
    'modifier-case': 'RFC 7208 12 (RFC 5234 2.3): modifier names are case-insensitive',
    'void-per-term': 'RFC 7208 4.6.4: void lookups are counted per term',
    'void-p-macro': 'RFC 7208 7.3, 4.6.4: %{p} lookups are not void lookups',
    'void-explanation': 'RFC 7208 6.2, 4.6.4: lookups for the explanation are not void lookups',
    'ptr-errors': 'RFC 7208 5.5, 7.3: DNS errors of ptr and %{p} lookups are no match',
    'redirect-unused': 'RFC 7208 6.1, 4.6.4: a redirect= that is not applied is not a term',
    'sender-postmaster': 'RFC 7208 4.3: a sender without local part is postmaster@domain',
}

original = {
    'expand_one': spf.expand_one,
    'invalid_macro': spf.RE_INVALID_MACRO,
    'dns': spf.query.dns,
    'dns_ptr': spf.query.dns_ptr,
    'dns_spf': spf.query.dns_spf,
    'validated_ptrs': spf.query.validated_ptrs,
    'check_lookups': spf.query.check_lookups,
    'check0': spf.query.check0,
    'getp': spf.query.getp,
    'get_explanation': spf.query.get_explanation,
}

TRANSFORMERS = re.compile(r'([0-9]*)([rR]?)(.*)$', re.DOTALL)


def expand_one(expansion, spec, joiner):
    """One macro's transformers, as RFC 7208 7.3 says, where the corrections are active."""
    if not spec:
        return expansion
    digits, reverse, delimiters = TRANSFORMERS.match(spec).groups()
    if reverse == 'R' and 'macro-upper-r' not in ACTIVE:
        return original['expand_one'](expansion, spec, joiner)
    if digits and int(digits) == 0:
        if 'macro-zero-digit' not in ACTIVE:
            return original['expand_one'](expansion, spec, joiner)
        raise spf.PermError('zero DIGIT transformer', spec)
    if any(c not in '.-+,/_=' for c in delimiters):
        if 'macro-delimiter' not in ACTIVE:
            return original['expand_one'](expansion, spec, joiner)
        raise spf.PermError('invalid macro delimiter', spec)
    if 'macro-join' not in ACTIVE:
        return original['expand_one'](expansion, spec.replace('R', 'r'), joiner)
    parts = re.split('[' + re.escape(delimiters or '.') + ']', expansion)
    if reverse:
        parts.reverse()
    if digits:
        parts = parts[-int(digits):]
    return '.'.join(parts)


class PercentCheck:
    """Finds a '%' that does not start %%, %_, %- or %{ (what pyspf's regex means to find)."""

    def search(self, text):
        at = 0
        while at < len(text):
            if text[at] == '%':
                if text[at + 1:at + 2] not in ('%', '_', '-', '{'):
                    return True
                at += 1 if text[at + 1] == '{' else 2
            else:
                at += 1
        return None


def call_site(text_before, text):
    """The line of check0 where `text` follows the line holding `text_before`."""
    lines, first = inspect.getsourcelines(original['check0'])
    for number, line in enumerate(lines):
        if text_before in line and text in lines[number + 1]:
            return first + number + 1
    raise RuntimeError('pyspf changed: no "%s" in query.check0' % text)


REDIRECT_COUNT = call_site("elif mod == 'redirect':", 'self.check_lookups()')
REDIRECT_FETCH = call_site('# no matches', 'if redirect:') + 2


def check_lookups(self):
    # pyspf counts redirect= when it parses the record; the correction counts it when it is
    # applied (dns_spf below).
    caller = sys._getframe(1)
    if 'redirect-unused' in ACTIVE and caller.f_code is original['check0'].__code__ and \
            caller.f_lineno == REDIRECT_COUNT:
        return None
    # A new DNS-querying term starts: it may add one void lookup at most.
    self.term_serial = getattr(self, 'term_serial', 0) + 1
    return original['check_lookups'](self)


def dns_lookup(self, name, qtype, cnames=None, ignore_void=False):
    if getattr(self, 'no_void', 0):
        ignore_void = True
    if 'void-per-term' not in ACTIVE or ignore_void:
        return original['dns'](self, name, qtype, cnames, ignore_void)
    result = original['dns'](self, name, qtype, cnames, True)
    if not result:
        serial = getattr(self, 'term_serial', 0)
        if getattr(self, 'void_term', None) != serial:
            self.void_term = serial
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError('Void lookup limit of %d exceeded' % spf.MAX_VOID_LOOKUPS)
    return result


def without_void_counting(self, function, *args):
    self.no_void = getattr(self, 'no_void', 0) + 1
    try:
        return function(self, *args)
    finally:
        self.no_void -= 1


def getp(self):
    if 'void-p-macro' not in ACTIVE:
        return original['getp'](self)
    return without_void_counting(self, original['getp'])


def get_explanation(self, spec):
    # pyspf fetches and expands exp= while parsing the record, %{p} included.
    if 'void-explanation' not in ACTIVE:
        return original['get_explanation'](self, spec)
    return without_void_counting(self, original['get_explanation'], spec)


def dns_ptr(self, i):
    if 'ptr-errors' not in ACTIVE:
        return original['dns_ptr'](self, i)
    try:
        return original['dns_ptr'](self, i)
    except spf.TempError:
        return []


def validated_ptrs(self):
    if 'ptr-errors' not in ACTIVE:
        return original['validated_ptrs'](self)
    names = []
    for name in self.dns_ptr(self.i)[:spf.MAX_PTR]:
        try:
            addresses = self.dns_a(name, self.A)
        except spf.TempError:
            continue
        if self.cidrmatch(addresses, self.cidrmax):
            names.append(name)
    return names


def dns_spf(self, domain):
    caller = sys._getframe(1)
    if 'redirect-unused' in ACTIVE and caller.f_code is original['check0'].__code__ and \
            caller.f_lineno == REDIRECT_FETCH:
        check_lookups(self)
    return original['dns_spf'](self, domain)


MODIFIER_NAME = re.compile(r'^(redirect|exp)=', re.IGNORECASE)


def check0(self, record, recursion):
    if record and 'modifier-case' in ACTIVE:
        record = ' '.join(MODIFIER_NAME.sub(lambda m: m.group(1).lower() + '=', term)
                          for term in record.split(' '))
    return original['check0'](self, record, recursion)


spf.expand_one = expand_one
spf.query.dns = dns_lookup
spf.query.dns_ptr = dns_ptr
spf.query.dns_spf = dns_spf
spf.query.validated_ptrs = validated_ptrs
spf.query.check_lookups = check_lookups
spf.query.check0 = check0
spf.query.getp = getp
spf.query.get_explanation = get_explanation
PERCENT_CHECK = PercentCheck()

# ---------------------------------------------------------------------------------------
# DNS: pyspf's own dnspython lookup against the test responder, each answer (or error)
# asked once per case and replayed to that case's later runs.

answers = {}
dnspython_lookup = spf.DNSLookup


def replayed_lookup(name, qtype, *args, **kwargs):
    key = (name.lower(), qtype)
    if key not in answers:
        try:
            answers[key] = ('ok', dnspython_lookup(name, qtype, *args, **kwargs))
        except spf.TempError as error:
            answers[key] = ('error', error)
    kind, value = answers[key]
    if kind == 'error':
        raise spf.TempError(*value.args)
    return list(value)


spf.DNSLookup = replayed_lookup


def use_server(address):
    host, _, port = address.partition('@')
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = int(port or 53)
    resolver.timeout = resolver.lifetime = 5
    resolver.domain = dns.name.root
    resolver.search = []
    dns.resolver.default_resolver = resolver


# ---------------------------------------------------------------------------------------

def run(case, corrections, options):
    ACTIVE.clear()
    ACTIVE.update(corrections)
    spf.RE_INVALID_MACRO = PERCENT_CHECK if 'macro-percent' in ACTIVE else original['invalid_macro']
    _, ip, helo, sender = case
    if sender.startswith('@') and 'sender-postmaster' in ACTIVE:
        sender = 'postmaster' + sender  # pyspf changes %{l}, but not %{s}
    try:
        query = spf.query(i=ip, s=sender, h=helo, receiver=options.receiver, timeout=5)
        query.set_default_explanation(options.explanation)
        result, _, explanation = query.check()
    except Exception as error:  # a crash of pyspf is reported, not hidden
        return 'crash:' + type(error).__name__, '', str(error)
    if result == 'fail':
        return result, explanation, ''
    return result, '', (explanation if result in ('permerror', 'temperror') else '')


def attribute(case, plain, corrected, options):
    """The corrections that explain why pyspf as shipped answers otherwise: those without
    which the corrected answer changes, else those that change the shipped answer alone."""
    needed = [name for name in CORRECTIONS
              if run(case, set(CORRECTIONS) - {name}, options)[:2] != corrected[:2]]
    if needed:
        return needed
    return [name for name in CORRECTIONS if run(case, {name}, options)[:2] != plain[:2]]


def clean(text):
    return ''.join(c if ' ' <= c <= '~' else '?' for c in text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--dns', required=True)
    parser.add_argument('--receiver', required=True)
    parser.add_argument('--explanation', required=True)
    parser.add_argument('cases')
    parser.add_argument('results')
    options = parser.parse_args()
    use_server(options.dns)
    with open(options.cases, encoding='ascii') as cases, \
            open(options.results, 'w', encoding='ascii') as results:
        for line in cases:
            case = line.rstrip('\n').split('\t')
            answers.clear()
            plain = run(case, (), options)
            corrected = run(case, CORRECTIONS, options)
            items = []
            if plain[:2] != corrected[:2]:
                items = attribute(case, plain, corrected, options)
            results.write('\t'.join([case[0], plain[0], clean(plain[1]), corrected[0],
                                     clean(corrected[1]), ','.join(items),
                                     clean(corrected[2])]) + '\n')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except Exception as error:
        print('spf_pyspf.py: %s: %s' % (type(error).__name__, error), file=sys.stderr)
        sys.exit(2)

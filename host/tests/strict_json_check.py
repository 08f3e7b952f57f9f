"""Load JSON from stdin the strict way (no NaN/Infinity literals, no
duplicate keys) and print the family names in document order."""
import json
import sys


def reject_constant(name):
    raise ValueError(f"non-standard JSON literal {name}")


def reject_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate keys in {keys}")
    return dict(pairs)


document = json.loads(sys.stdin.read(), parse_constant=reject_constant, object_pairs_hook=reject_duplicates)
json.dump(list(document.keys()), sys.stdout)

"""Parse Prometheus text from stdin with prometheus_client (a parser we did
not write) and print what it read as JSON, values as Python reprs so NaN and
infinities survive."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

families = []
for family in text_string_to_metric_families(sys.stdin.read()):
    families.append({
        "name": family.name,
        "type": family.type,
        "documentation": family.documentation,
        "samples": [[s.name, s.labels, repr(s.value)] for s in family.samples],
    })
json.dump(families, sys.stdout)

"""Parse an exposition from stdin with prometheus_client (parsers we did not
write) and print what it read as JSON, values as Python reprs so NaN and
infinities survive.

Usage: prometheus_client_parse.py [text|openmetrics]
  text         prometheus_client.parser (Prometheus text 0.0.4, lenient)
  openmetrics  prometheus_client.openmetrics.parser (OpenMetrics 1.0, strict)
"""
import json
import sys

if len(sys.argv) > 1 and sys.argv[1] == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families

families = []
for family in text_string_to_metric_families(sys.stdin.read()):
    families.append({
        "name": family.name,
        "type": family.type,
        "documentation": family.documentation,
        "unit": getattr(family, "unit", ""),
        "samples": [[s.name, s.labels, repr(s.value)] for s in family.samples],
    })
json.dump(families, sys.stdout)

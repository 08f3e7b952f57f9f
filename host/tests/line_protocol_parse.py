"""Parse InfluxDB line protocol from stdin with line-protocol-parser (PyPI,
a parser we did not write) and print every line's measurement, tags,
fields and time as JSON."""
import json
import sys

from line_protocol_parser import parse_line

json.dump([parse_line(line) for line in sys.stdin.read().splitlines() if line], sys.stdout)

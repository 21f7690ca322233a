#!/usr/bin/env python3
"""Validates JSON documents against a schema of OpenAI's OpenAPI spec.
usage: openai_schema_check.py SPEC.json SCHEMA_NAME FILE
FILE holds one JSON document per line. $refs are resolved within SPEC.
Prints "ok N" or one line per invalid document; exit 0 when all are valid,
1 when some are not, 2 when SPEC is missing."""
import json, sys, os
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

spec_path, name, docs_path = sys.argv[1:4]
if not os.path.exists(spec_path):
    print("missing " + spec_path); sys.exit(2)
spec = json.load(open(spec_path))
if name not in spec.get("components", {}).get("schemas", {}):
    print("no schema " + name); sys.exit(1)
uri = "urn:openai-openapi"
registry = Registry().with_resource(uri, Resource(contents=spec, specification=DRAFT202012))
v = Draft202012Validator({"$ref": uri + "#/components/schemas/" + name}, registry=registry)
bad = 0
n = 0
for line in open(docs_path):
    line = line.strip()
    if not line: continue
    n += 1
    doc = json.loads(line)
    errs = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    if errs:
        bad += 1
        e = errs[0]
        print("invalid doc %d: %s at %s (%d errors): %s" % (n, e.message[:300], list(e.absolute_path), len(errs), line[:300]))
print("ok %d" % (n - bad) if not bad else "%d of %d invalid" % (bad, n))
sys.exit(1 if bad else 0)

#!/usr/bin/env python3
"""Validates JSON documents against a schema of OpenAI's OpenAPI spec.

usage: validate_openapi.py SPEC.json SCHEMA_NAME FILE.json [FILE.json...]

Each FILE holds one JSON document. $refs are resolved within the spec;
OpenAPI 3.0's `nullable: true` is turned into "or null" for JSON Schema.
Prints "ok FILE" or "FAIL FILE: reason" per file; exits 1 if any failed,
2 on usage errors, 3 when python3-jsonschema is missing.
"""
import json
import sys

try:
    import jsonschema
except ImportError:  # pragma: no cover
    print("python3-jsonschema is not installed")
    sys.exit(3)


def openapi_to_jsonschema(node):
    """Recursively rewrites OpenAPI 3.0 idioms into JSON Schema."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi_to_jsonschema(v) for k, v in node.items()
           if k not in ("nullable", "discriminator", "x-oaiMeta", "x-oaiExpandable",
                        "x-oaiTypeLabel", "example", "examples", "deprecated")}
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


def main(argv):
    if len(argv) < 4:
        print(__doc__)
        return 2
    spec_path, name, files = argv[1], argv[2], argv[3:]
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    schemas = spec.get("components", {}).get("schemas", {})
    if name not in schemas:
        print(f"FAIL schema {name} is not in {spec_path}")
        return 2
    root = openapi_to_jsonschema(spec)
    schema = dict(root["components"]["schemas"][name])
    # $refs like "#/components/schemas/X" resolve against the whole spec
    schema["components"] = root["components"]
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator = cls(schema)
    failed = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            failed += 1
            e = errors[0]
            where = "/".join(str(p) for p in e.path)
            print(f"FAIL {path}: at '{where}': {e.message[:300]}")
        else:
            print(f"ok {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

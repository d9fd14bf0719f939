"""An independent check of `prov export provenance`, with the in-toto project's own packages.

Usage: intoto_verify.py ENVELOPE PUBLIC_KEY_HEX

Loads the DSSE envelope with in-toto (3.1.0), verifies its signature with securesystemslib's
(1.6.0) Ed25519 key (key id computed here, as securesystemslib defines it), then parses the
payload as an in-toto Statement v1 and its predicate as SLSA provenance v1 with
in-toto-attestation's (0.9.3) protobuf messages (strict: an unknown or misnamed field fails) and
validators. Prints a JSON summary on stdout; exits non-zero on any failure.
"""

import hashlib
import json
import sys

from google.protobuf import json_format
from in_toto.models.metadata import Envelope, Metadata
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement
from securesystemslib.formats import encode_canonical


def main() -> None:
    path, public_hex = sys.argv[1], sys.argv[2]
    key = {
        "keytype": "ed25519",
        "scheme": "ed25519",
        "keyval": {"public": public_hex},
    }
    keyid = hashlib.sha256(encode_canonical(key).encode()).hexdigest()
    key["keyid"] = keyid

    envelope = Metadata.load(path)
    if not isinstance(envelope, Envelope):
        raise SystemExit("not a DSSE envelope")
    if envelope.payload_type != "application/vnd.in-toto+json":
        raise SystemExit(f"payloadType {envelope.payload_type}")
    # Raises securesystemslib's VerificationError unless a signature with this key id verifies.
    envelope.verify_signature(key)

    doc = json.loads(envelope.payload)
    stmt_pb = json_format.ParseDict(doc, statement_pb2.Statement())
    stmt = Statement.copy_from_pb(stmt_pb)
    stmt.validate()
    if stmt_pb.predicate_type != "https://slsa.dev/provenance/v1":
        raise SystemExit(f"predicateType {stmt_pb.predicate_type}")
    prov = json_format.ParseDict(doc["predicate"], provenance_pb2.Provenance())
    for rd in prov.build_definition.resolved_dependencies:
        ResourceDescriptor.copy_from_pb(rd).validate()
    if not prov.run_details.builder.id:
        raise SystemExit("no builder id")

    print(
        json.dumps(
            {
                "keyid": keyid,
                "subjects": {s.name: dict(s.digest) for s in stmt_pb.subject},
                "dependencies": [
                    {
                        "uri": d.uri,
                        "digest": dict(d.digest),
                        "entryIndex": d.annotations["entryIndex"],
                    }
                    for d in prov.build_definition.resolved_dependencies
                ],
                "buildType": prov.build_definition.build_type,
                "builder": prov.run_details.builder.id,
                "conclusion": prov.build_definition.internal_parameters["compliance"][
                    "conclusion"
                ],
            },
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main()

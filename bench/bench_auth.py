"""What ID-token verification costs: the lazy import, the first token (JWKS fetch), a warm token.

Starts the moto server, sets up the local user pool (``shop.local.services.ensure_user_pool``) and signs
the seeded admin in for a real ID token. Then, in fresh subprocesses (so the import is cold): the time to
import the JOSE library and verify the first token (JWKS fetched from moto over HTTP), and the median and
p99 of ``--iterations`` warm verifications. Requests without a token never pay any of this.
Usage: ``python bench/bench_auth.py [--iterations 500]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time
issuer, client_id, endpoint, token, iterations = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
started = time.perf_counter()
from shop.auth.verifier import KeySet, Verifier, jwks_url
verifier = Verifier(issuer, client_id, KeySet(jwks_url(issuer, endpoint)))
module_ms = (time.perf_counter() - started) * 1000
started = time.perf_counter()
verifier.verify(token)
first_ms = (time.perf_counter() - started) * 1000
warm = []
for _ in range(iterations):
    t = time.perf_counter()
    verifier.verify(token)
    warm.append((time.perf_counter() - t) * 1000)
print(json.dumps({"module_ms": module_ms, "first_ms": first_ms, "warm": warm}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from shop.local.services import cognito_client, ensure_user_pool, start_dynamodb

    moto = start_dynamodb()
    pool = ensure_user_pool(moto.endpoint_url, Path(tempfile.mkdtemp()), suffix="bench")
    token = cognito_client(moto.endpoint_url).initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": pool.admin_email, "PASSWORD": pool.admin_password},
    )["AuthenticationResult"]["IdToken"]
    firsts, warm = [], []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, pool.issuer, pool.client_id, moto.endpoint_url, token, str(args.iterations)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(out)
        firsts.append(result["first_ms"])
        warm += result["warm"]
    warm.sort()
    print(
        f"first token (joserfc + cryptography import, JWKS fetch, verify), median of {args.runs}: "
        f"{statistics.median(firsts):.1f} ms"
    )
    print(
        f"warm verify: median {statistics.median(warm):.3f} ms, p99 {warm[int(len(warm) * 0.99)]:.3f} ms "
        f"({len(warm)} calls)"
    )
    moto.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What signing in costs: a password check (argon2id) and an API token check, each against a reference.

Plain script, not a test: python benchmarks/bench_users.py [USERS] [TOKENS_PER_USER]
It makes a throwaway database with USERS users (default 1,000) holding TOKENS_PER_USER tokens each (default 5),
then times, in the same run:
- a password check, ``authenticate`` at the production argon2id cost (RFC 9106 low-memory: 64 MiB, 3 passes),
  against the standard library's scrypt at OWASP's minimum (N=2^17, r=8, p=1), another memory-hard hash:
  the ratio says argon2id is the cost one expects of a password hash, not a mistake in either direction;
- an API token check, ``authenticate_token`` (what every API request pays), against a bare sqlite3 SELECT of
  the token's SHA-256 on the same file: the ratio is what the services layer adds over the lookup itself.
"""

from __future__ import annotations

import hashlib
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from safeground.services import credentials
from safeground.services import users as svc
from safeground.services.workspace import Workspace

PASSWORD = "four unrelated field words"


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    n_users = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    per_user = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "users.gpkg"
        ws = Workspace.open(db, user="bench", create=True)
        production = credentials.HASHER
        credentials.HASHER = credentials.FAST_FOR_TESTS  # filling the table only
        tokens = []
        with ws.store.transaction():
            for i in range(n_users):
                svc.add_user(ws, f"user{i:05d}", "data_entry", PASSWORD)
                tokens += [svc.create_token(ws, f"user{i:05d}")[0] for _ in range(per_user)]
        credentials.HASHER = production
        svc.set_password(ws, "user00000", PASSWORD)  # one hash at the production cost

        argon = timed(lambda: svc.authenticate(ws, "user00000", PASSWORD), 10)
        scrypt = timed(lambda: hashlib.scrypt(PASSWORD.encode(), salt=b"0123456789abcdef", n=2**17, r=8, p=1,
                                              maxmem=256 * 2**20), 10)
        sample = tokens[:: max(1, len(tokens) // 2000)]
        it = iter(sample * 3)
        ours = timed(lambda: svc.authenticate_token(ws, next(it)), len(sample) * 3)
        conn = sqlite3.connect(db)
        it2 = iter(sample * 3)
        ref = timed(lambda: conn.execute(
            "SELECT t.uuid, u.username, u.role FROM safeground_api_token t JOIN safeground_user u "
            "ON u.uuid = t.user_uuid WHERE t.token_sha256 = ?",
            (hashlib.sha256(next(it2).encode()).hexdigest(),)).fetchone(), len(sample) * 3)
        conn.close()
        ws.close()

    def ms(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 2 else max(values) * 1000

    print(f"{n_users:,} users, {n_users * per_user:,} tokens")
    print(f"{'measure':<34} {'p50 ms':>9} {'p99 ms':>9} {'reference p50 ms':>17} {'ratio':>7}")
    rows = [("password check (argon2id / scrypt)", argon, scrypt),
            ("API token check (service / SELECT)", ours, ref)]
    for name, a, b in rows:
        p50, ref50 = statistics.median(a) * 1000, statistics.median(b) * 1000
        print(f"{name:<34} {p50:>9.3f} {ms(a, 99):>9.3f} {ref50:>17.3f} {p50 / ref50:>7.2f}")


if __name__ == "__main__":
    main()

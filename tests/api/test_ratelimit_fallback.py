"""Rate limiting keeps working, from process memory, while Redis is unreachable."""
import json
import os
import subprocess
import sys

from ops.embedded import free_port

# Runs in a child process: the limiter is one per process, and this one must point at a dead Redis.
CHILD = """
import json
from api.app import create_app
client = create_app().test_client()
body = {"username": "inspector_east", "password": "wrong-password-1"}
print(json.dumps([client.post("/api/v1/auth/login", json=body).status_code for _ in range(3)]))
"""


def test_login_is_limited_from_memory_when_redis_is_down(settings, world):
    # The child's database is the test session's (embedded, or TEST_MONGODB_URI), never the caller's MONGODB_URI.
    env = {**os.environ, "MONGODB_URI": settings.mongodb_uri, "MONGODB_DB": settings.mongodb_db,
           "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "LOGIN_RATE_LIMIT": "2 per minute",
           "DATA_DIR": str(settings.data_dir), "AUDIT_KEY_FILE": str(settings.resolved_audit_key_file),
           "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024", "APP_ENV": "test"}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [401, 401, 429]

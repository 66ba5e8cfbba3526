"""Start the real server the way production does (``python -m forum``) on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    port: int
    process: subprocess.Popen
    instance: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_server(mode: str = "eventlet", extra_env: dict[str, Any] | None = None,
                 instance: Path | None = None) -> LiveServer:
    """Create a fresh database with the CLI, then serve it; wait until it answers."""
    instance = instance or Path(tempfile.mkdtemp(prefix="rb-live-"))
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "RB_INSTANCE_PATH": str(instance),
            "RB_ASYNC_MODE": mode,
            "RB_PORT": str(port),
            "RB_PUBLIC_ORIGIN": f"http://127.0.0.1:{port}",
            "SECRET_KEY": "live-test-secret",
            "RB_IDENTIFIER_KEY": "live-test-identifier-key",
            "RB_ENV": "production",
            "RB_SWEEP_INTERVAL": "0",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "8",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update({k: str(v) for k, v in (extra_env or {}).items()})
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "forum", "init-db"],
        env=env, cwd=ROOT, check=True, capture_output=True, timeout=120,
    )
    log_path = instance / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "forum"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
    server = LiveServer(f"http://127.0.0.1:{port}", port, process, instance, log_path, env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited:\n" + server.log())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("server did not start:\n" + server.log())

"""Deployment files keep the privacy rules: no access log, no client address anywhere.

These tests read the files in ``deploy/``; they need no app, no Docker, no nginx.
"""

from __future__ import annotations

import configparser
import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
NGINX_SITE = DEPLOY / "nginx" / "redbrolly.conf"
NGINX_MAIN = DEPLOY / "nginx" / "nginx.conf"
SYSTEMD = DEPLOY / "systemd"
GUNICORN_PIN = '"gunicorn>=23,<26"'
GUNICORN_ENV = ("WEB_CONCURRENCY", "RB_BIND", "RB_ASYNC_MODE", "RB_LOG_LEVEL")
# The production default (docs/PERFORMANCE.md, "eventlet or gevent"); eventlet stays selectable.
DEFAULT_MODE = "gevent"

# Variables that hold the client's address: not even in a comment.
ADDRESS_VARIABLES = (
    "$remote_addr",
    "$binary_remote_addr",
    "$realip_remote_addr",
    "$proxy_add_x_forwarded_for",
    "$http_x_forwarded_for",
    "$http_x_real_ip",
)
# Directives that key on or restore the address (comments may warn against them).
ADDRESS_DIRECTIVES = ("ip_hash", "real_ip_header", "set_real_ip_from", "limit_req_zone")
ADDRESS_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")
SANDBOX = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ReadWritePaths": "/srv/redbrolly/instance",
    "RestrictSUIDSGID": "yes",
    "CapabilityBoundingSet": "",
    "LimitCORE": "0",
    "IPAddressDeny": "any",
    "UMask": "0077",
}


def load_gunicorn_conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict:
    for name in GUNICORN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))


def settings_of(namespace: dict) -> dict:
    return {
        k: v
        for k, v in namespace.items()
        if not k.startswith("_") and not callable(v) and type(v).__name__ != "module"
    }


def test_gunicorn_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load_gunicorn_conf(monkeypatch)
    assert conf["accesslog"] is None
    assert conf["worker_class"] == DEFAULT_MODE
    assert conf["workers"] == 1
    assert conf["wsgi_app"] == "forum.wsgi:app"
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["errorlog"] == "-"
    assert conf["preload_app"] is False
    for unwanted in ("access_log_format", "logconfig", "logconfig_dict", "syslog"):
        assert unwanted not in conf


def test_gunicorn_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load_gunicorn_conf(
        monkeypatch, WEB_CONCURRENCY="3", RB_ASYNC_MODE="eventlet", RB_BIND="unix:/run/rb.sock"
    )
    assert conf["workers"] == 3
    assert conf["worker_class"] == "eventlet"
    assert conf["bind"] == ["unix:/run/rb.sock"]
    assert conf["accesslog"] is None


def test_gunicorn_knows_every_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Gunicorn silently ignores unknown names, so a typo (``access_log``) would do nothing."""
    gunicorn_config = pytest.importorskip("gunicorn.config")
    cfg = gunicorn_config.Config()
    conf = settings_of(load_gunicorn_conf(monkeypatch))
    unknown = sorted(set(conf) - set(cfg.settings))
    assert not unknown
    for name, value in conf.items():
        cfg.set(name, value)
    assert cfg.accesslog is None
    assert cfg.worker_class_str == DEFAULT_MODE


def test_eventlet_worker_needs_gunicorn_below_26() -> None:
    """gunicorn 26 removed the eventlet worker; every install recipe pins below it, so
    that ``RB_ASYNC_MODE=eventlet`` stays selectable."""
    assert GUNICORN_PIN in (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert GUNICORN_PIN in (DEPLOY / "README.md").read_text(encoding="utf-8")


def nginx_directives(text: str) -> str:
    """The config without comments."""
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def blocks(text: str, opener: str) -> list[str]:
    """The bodies of every ``opener { ... }`` block, braces balanced."""
    found = []
    for match in re.finditer(rf"(?m)^\s*{opener}\s*\{{", text):
        depth, i = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        found.append(text[match.end() : i - 1])
    return found


@pytest.mark.parametrize("path", [NGINX_SITE, NGINX_MAIN])
def test_nginx_never_sees_or_sends_the_client_address(path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    # One exception: the address goes to the app in one header, over loopback, for the
    # rate limits that hash it in memory (forum/ratelimit.py). Nowhere else, never logged.
    raw = re.sub(r"(?m)^\s*proxy_set_header X-RB-Client-Address \$remote_addr;\s*$", "", raw)
    for variable in ADDRESS_VARIABLES:
        assert variable not in raw.lower(), variable
    for directive in ADDRESS_DIRECTIVES:
        assert not re.search(rf"(?m)^\s*{directive}\b", nginx_directives(raw)), directive
    # The address headers may appear only to be blanked (nginx then sends none at all).
    for line in nginx_directives(raw).splitlines():
        for header in ADDRESS_HEADERS:
            if re.search(rf"(?<![\w-]){re.escape(header)}(?![\w-])", line, flags=re.I):
                assert re.fullmatch(rf'\s*proxy_set_header {header} "";\s*', line), line


def test_nginx_logs_nothing_per_request() -> None:
    site = nginx_directives(NGINX_SITE.read_text(encoding="utf-8"))
    main = nginx_directives(NGINX_MAIN.read_text(encoding="utf-8"))
    assert re.search(r"(?m)^\s*access_log off;", blocks(main, "http")[0])
    servers = blocks(site, "server")
    assert len(servers) >= 3
    for server in servers:
        assert re.search(r"(?m)^\s*access_log off;", server)
    for text in (site, main):
        assert "log_format" not in text
        for directive in re.findall(r"(?m)^\s*error_log\s+([^;]*);", text):
            assert directive.split()[-1] == "crit", directive
        assert not re.search(r"(?m)^\s*access_log\s+(?!off;)", text)


def test_nginx_proxies_only_to_loopback_and_blanks_address_headers() -> None:
    site = nginx_directives(NGINX_SITE.read_text(encoding="utf-8"))
    upstreams = dict(re.findall(r"(?ms)^upstream (\w+) \{(.*?)^\}", site))
    assert upstreams
    for body in upstreams.values():
        servers = re.findall(r"(?m)^\s*server\s+([^\s;]+)[^;]*;", body)
        assert servers
        for server in servers:
            assert server.startswith(("127.0.0.1:", "[::1]:", "unix:")), server
    assert "hash $cookie_rb_session consistent;" in upstreams["redbrolly_app"]
    locations = blocks(site, r"location\s+[^{]*")
    proxied = [loc for loc in locations if "proxy_pass" in loc]
    assert len(proxied) >= 2
    for loc in proxied:
        target = re.search(r"proxy_pass http://(\w+);", loc).group(1)
        assert target in upstreams
        # proxy_set_header is inherited only when a block sets none, so each sets all.
        for header in ADDRESS_HEADERS:
            assert f'proxy_set_header {header} "";' in loc
        assert "proxy_set_header X-Forwarded-Proto " in loc


def test_nginx_never_marks_an_app_process_failed() -> None:
    """Every app server line, the scale-out ones still commented out included, says
    max_fails=0 (docs/STACK_FACTS.md, "nginx"; tests/test_nginx_failover_live.py)."""
    text = NGINX_SITE.read_text(encoding="utf-8")
    [app] = re.findall(r"(?ms)^upstream redbrolly_app \{(.*?)^\}", text)
    lines = re.findall(r"(?m)^\s*(?:#\s*)?server\s+127\.0\.0\.1:\d+[^;]*;", app)
    assert len(lines) >= 2, app
    for line in lines:
        assert "max_fails=0" in line, line


def test_nginx_site_settings() -> None:
    site = nginx_directives(NGINX_SITE.read_text(encoding="utf-8"))
    assert "server_tokens off;" in site
    assert "client_max_body_size 64k;" in site
    socketio = [b for b in blocks(site, r"location\s+/socket\.io/") if "proxy_pass" in b]
    assert socketio
    for loc in socketio:
        assert "proxy_set_header Upgrade $http_upgrade;" in loc
        assert "proxy_set_header Connection $connection_upgrade;" in loc
        assert "proxy_http_version 1.1;" in loc
    static = blocks(site, r"location\s+/static/")
    assert static and all("alias /srv/redbrolly/static/;" in loc for loc in static)
    # The app sets these on its own responses; nginx must not send a second copy.
    for header in ("Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options"):
        assert header not in site


def read_unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read_string((SYSTEMD / name).read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize(
    ("name", "command"),
    [
        (
            "redbrolly.service",
            "/srv/redbrolly/.venv/bin/gunicorn --config /srv/redbrolly/deploy/gunicorn.conf.py",
        ),
        ("redbrolly-expire.service", "/srv/redbrolly/.venv/bin/flask --app forum expire"),
        ("redbrolly-vacuum.service", "/srv/redbrolly/.venv/bin/flask --app forum expire --vacuum"),
    ],
)
def test_systemd_services(name: str, command: str) -> None:
    unit = read_unit(name)
    service = unit["Service"]
    assert service["ExecStart"] == command
    assert service["User"] == "redbrolly"
    assert service["EnvironmentFile"] == "/etc/redbrolly/env"
    assert service["WorkingDirectory"] == "/srv/redbrolly"
    for key, value in SANDBOX.items():
        assert service.get(key) == value, key
    if name != "redbrolly.service":
        assert service["Type"] == "oneshot"
        assert "RB_ASYNC_MODE=threading" in service["Environment"]


@pytest.mark.parametrize(
    ("name", "service", "calendar"),
    [
        ("redbrolly-expire.timer", "redbrolly-expire.service", "minutely"),
        ("redbrolly-vacuum.timer", "redbrolly-vacuum.service", "*-*-* 04:15:00"),
    ],
)
def test_systemd_timers(name: str, service: str, calendar: str) -> None:
    unit = read_unit(name)
    assert unit["Timer"]["Unit"] == service
    assert unit["Timer"]["OnCalendar"] == calendar
    assert unit["Install"]["WantedBy"] == "timers.target"
    assert (SYSTEMD / service).is_file()


def load_compose() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed; compose.yaml not parsed")
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_services() -> None:
    services = load_compose()["services"]
    assert {"app", "nginx", "postgres", "redis"} <= set(services)
    app = services["app"]
    assert app["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert app["env_file"] == "redbrolly.env"
    assert app["environment"]["RB_BIND"].startswith("127.0.0.1:")
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    for name in ("postgres", "redis"):
        assert "ports" not in services[name]
        assert services[name]["networks"] == ["backend"]
    assert load_compose()["networks"]["backend"]["internal"] is True
    for name, service in services.items():
        if service.get("image") == "redbrolly:latest":
            assert service.get("pull_policy") in {"build", "never"}, name
    mounts = services["nginx"]["volumes"]
    assert "./nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in mounts
    assert "./nginx/redbrolly.conf:/etc/nginx/conf.d/default.conf:ro" in mounts


def test_compose_redis_writes_nothing_to_disk() -> None:
    redis = load_compose()["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--save") + 1] == ""
    assert command[command.index("--appendonly") + 1] == "no"
    assert "volumes" not in redis
    assert redis["tmpfs"] == ["/data"]


def test_compose_env_examples_name_every_variable() -> None:
    example = (DEPLOY / "redbrolly.env.example").read_text(encoding="utf-8")
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "RB_PUBLIC_ORIGIN", "RB_ENV"):
        assert re.search(rf"(?m)^{name}=", example), name
    assert re.search(r"(?m)^SECRET_KEY=$", example)  # no sample secret to copy by mistake
    assert "POSTGRES_PASSWORD=" in (DEPLOY / "postgres.env.example").read_text(encoding="utf-8")


def test_dockerfile() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"(?m)^FROM python:3\.11-slim$", text)
    assert re.search(r"(?m)^USER redbrolly$", text)
    assert 'CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py"]' in text
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    for entry in ("instance", ".git", ".venv", "**/*.env"):
        assert entry in ignored


def test_torrc_points_at_the_nginx_onion_block() -> None:
    torrc = (DEPLOY / "tor" / "torrc").read_text(encoding="utf-8")
    port = re.search(r"(?m)^HiddenServicePort 80 (127\.0\.0\.1:\d+)$", torrc).group(1)
    assert f"listen {port};" in NGINX_SITE.read_text(encoding="utf-8")
    assert re.search(r"(?m)^SocksPort 0$", torrc)


def test_the_default_async_mode_is_the_same_everywhere_it_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """gunicorn's config, the systemd unit, compose (app and onion), the image, the app's
    own default and ``python -m forum`` all name one mode: gevent."""
    assert load_gunicorn_conf(monkeypatch)["worker_class"] == DEFAULT_MODE
    environment = read_unit("redbrolly.service")["Service"]["Environment"].split()
    assert f"RB_ASYNC_MODE={DEFAULT_MODE}" in environment
    services = load_compose()["services"]
    named = {
        n: s["environment"]["RB_ASYNC_MODE"]
        for n, s in services.items()
        if "RB_ASYNC_MODE" in s.get("environment", {})
    }
    named.pop("expire", None)  # the CLI's sweep: threading, like the systemd timer's unit
    assert set(named) >= {"app"} and set(named.values()) == {DEFAULT_MODE}, named
    assert re.search(rf"(?m)^\s+RB_ASYNC_MODE={DEFAULT_MODE}$", (DEPLOY / "Dockerfile").read_text())
    for source in ("forum/config.py", "forum/__main__.py"):
        text = (ROOT / source).read_text(encoding="utf-8")
        assert f'os.environ.get("RB_ASYNC_MODE", "{DEFAULT_MODE}")' in text, source

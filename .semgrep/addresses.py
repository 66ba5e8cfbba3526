# Test cases for addresses.yml (run: semgrep --test .semgrep).
import logging

from flask import request

log = logging.getLogger(__name__)
# ruleid: no-client-address-in-logs
log.info("login from %s", request.remote_addr)
# ruleid: no-client-address-in-logs
log.warning("agent %s", request.headers.get("User-Agent"))
# ruleid: no-client-address-in-logs
logging.error(f"limited {ratelimit.client_address()}")
# ruleid: no-client-address-printed
print(request.remote_addr)
# ok: no-client-address-in-logs
log.error("unhandled %s", type(error).__name__)

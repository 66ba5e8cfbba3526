# Test cases for socketio-cors.yml (run: semgrep --test .semgrep).
from flask_socketio import SocketIO

socketio = SocketIO()
# ruleid: socketio-cors-any-origin
socketio.init_app(app, cors_allowed_origins="*")
# ruleid: socketio-cors-any-origin
SocketIO(app, async_mode="threading", cors_allowed_origins=["*"])
# ok: socketio-cors-any-origin
socketio.init_app(app, cors_allowed_origins=[app.config["RB_PUBLIC_ORIGIN"]])

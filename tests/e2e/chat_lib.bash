# Shared by the chat suites: start the chat server for a suite and wait until
# it listens. Needs B, T (temp dir holding lc.conf), IRC and RTMP ports.
# Prefers the real lifecast-cp; falls back to tests/tools/chat_server when the
# daemon was built without chat. Sets SRV_PID; the suite's trap stops it.
chat_start_server() {
  if [ -x "$B/lifecast-cp" ] && "$B/lifecast-cp" --help 2>&1 | grep -q -- --chat-listen; then
    "$B/lifecast-cp" -c "$T/lc.conf" --kernel-listen 127.0.0.1:$RTMP --chat-listen 127.0.0.1:$IRC \
      > "$T/srv.log" 2>&1 &
    echo "server: lifecast-cp"
  else
    "$B/tools/chat_server" "$T/lc.conf" 127.0.0.1:$IRC > "$T/srv.log" 2>&1 &
    echo "server: tools/chat_server"
  fi
  SRV_PID=$!
  for _ in $(seq 50); do grep -q "chat: listening" "$T/srv.log" && break; sleep 0.1; done
  grep -q "chat: listening" "$T/srv.log" || { cat "$T/srv.log"; exit 1; }
}

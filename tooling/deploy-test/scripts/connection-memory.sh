#!/usr/bin/env bash
# Memory of one reference gateway node (BACKEND=redis on 127.0.0.1:6379): RSS idle, then while
# holding N subscribed sessions (N/100 per channel) under a light fan-out (100 msg/s for 5 s).
# Run from the repository root after `pnpm build`: tooling/deploy-test/scripts/connection-memory.sh 10000
set -euo pipefail
N=${1:-5000}
PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
WS_HOST=127.0.0.1 WS_PORT=$PORT BACKEND=redis REDIS_KEY_PREFIX="rss-$$:" LOG_LEVEL=error DEMO_ENABLED=false \
  node apps/gateway/dist/main.js &
GW=$!
trap 'kill $GW 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
sleep 1
echo "idle: $(grep VmRSS /proc/$GW/status)"
node apps/loadtest/dist/cli.js fanout --url "ws://127.0.0.1:$PORT/ws" --connections "$N" --channels 100 \
  --rate 100 --duration 5 --server-pid $GW 2>/dev/null | grep -E '^(connections|server|messages)'
echo "holding $N sessions: $(grep VmRSS /proc/$GW/status)"

#!/usr/bin/env bash
# `npm run demo`: the demo `npm run dev` runs at its start, again, against that running service: a new
# Auto Scaling group, its nodes and pods, and one scale-in followed until the termination is done.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/dev-env.sh"
exec node --import tsx dev/compose/demo.ts

#!/usr/bin/env bash
# lifecast-swarm against lifecast-dp with 2 workers over net_memif: the
# swarm opens two queue pairs (a memif peer only delivers on rings both
# sides have), the dataplane spreads viewers over its workers in software
# and fans the stream out across them. Same checks as test_swarm_basic.sh
# plus: both workers carried viewers.
cd "$(dirname "$0")" || exit 1
SW_WORKERS=2 SW_TAG=-w2 SW_VIEWERS=${SW_VIEWERS:-40} SW_SECONDS=${SW_SECONDS:-8} \
	exec bash ./test_swarm_basic.sh

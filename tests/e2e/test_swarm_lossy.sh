#!/usr/bin/env bash
# lifecast-swarm with 3 % of received segments dropped per viewer: the
# dataplane's fan-out retransmits (SACK recovery, RTOs) and the swarm's own
# reassembly (every range in use) must still give every viewer the same,
# complete message sequence. Same checks as test_swarm_basic.sh, plus: loss
# was injected and the dataplane retransmitted.
cd "$(dirname "$0")" || exit 1
SW_TAG=-loss SW_VIEWERS=${SW_VIEWERS:-60} SW_SECONDS=${SW_SECONDS:-8} SW_EXTRA="--loss 3" \
	SW_EXPECT_LOSS=1 exec bash ./test_swarm_basic.sh

-- SYN flood toward the appliance's RTMP port at line rate (LC_RATE percent).
-- The SYNs come from syn.pcap (mkpcap.py: spoofed sources in 198.19.0.0/16,
-- random ports and sequence numbers, MSS + SACK-permitted options), loaded on
-- the port at start-up with `-s 0:syn.pcap`; pktgen replays it in a loop.
-- Watch the appliance meanwhile: SYN cookies, tcp_syn_backlog, and that
-- established viewers keep playing.
local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
package.path = dir .. "?.lua;" .. package.path
local lc = require("lifecast")

local s = lc.settings()
pktgen.set(s.port, "rate", s.rate)
pktgen.pcap(s.port, "on")
lc.run(s, "syn_flood")
pktgen.pcap(s.port, "off")

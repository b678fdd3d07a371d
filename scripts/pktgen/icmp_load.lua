-- ICMP echo load on the appliance's address at LC_RATE percent of line rate,
-- built by pktgen itself (no pcap needed). The appliance answers echo in
-- the dataplane; rx_pkts in the RESULT line counts the replies.
local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
package.path = dir .. "?.lua;" .. package.path
local lc = require("lifecast")

local s = lc.settings()
pktgen.set_mac(s.port, "dst", s.dst_mac)
pktgen.set_ipaddr(s.port, "dst", s.dst_ip)
pktgen.set_ipaddr(s.port, "src", s.src_ip)
pktgen.set_proto(s.port, "icmp")
pktgen.set(s.port, "size", s.size)
pktgen.set(s.port, "rate", s.rate)
-- count 0 = send until stopped.
pktgen.set(s.port, "count", 0)
lc.run(s, "icmp_load")

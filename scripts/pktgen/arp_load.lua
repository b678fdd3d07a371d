-- ARP request load: replays arp.pcap (mkpcap.py: who-has LC_DST_IP from many
-- sources, broadcast) loaded with `-s 0:arp.pcap`, at LC_RATE percent of
-- line rate. The dataplane answers every request and mirrors it to its
-- kernel TAP; rx_pkts counts the replies. One gratuitous ARP first so the
-- appliance learns the generator's own address.
local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
package.path = dir .. "?.lua;" .. package.path
local lc = require("lifecast")

local s = lc.settings()
pktgen.set_ipaddr(s.port, "src", s.src_ip)
pktgen.send_arp(s.port, "g")
pktgen.set(s.port, "rate", s.rate)
pktgen.pcap(s.port, "on")
lc.run(s, "arp_load")
pktgen.pcap(s.port, "off")

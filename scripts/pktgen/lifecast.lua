-- Shared helpers for the lifecast pktgen scripts: settings from the
-- environment, checked before anything is sent, and a timed run that prints
-- one RESULT line with the counters of the port.
--
-- Environment (all optional):
--   LC_PORT     pktgen port number                 (0)
--   LC_DST_IP   appliance address, 198.18.0.0/15   (198.18.0.2)
--   LC_SRC_IP   generator address/prefix           (198.18.0.1/24)
--   LC_DST_MAC  appliance MAC                      (02:00:00:00:00:02)
--   LC_RATE     percent of line rate, 1..100       (100)
--   LC_SECONDS  duration of the run, 1..3600       (30)
--   LC_SIZE     frame size for generated packets   (64)
local M = {}

local function env(name, default)
	local v = os.getenv(name)
	if v == nil or v == "" then
		return default
	end
	return v
end

local function number_in(name, value, lo, hi)
	local n = tonumber(value)
	if n == nil or n < lo or n > hi or n ~= math.floor(n) then
		error(string.format("%s=%s: want an integer in %d..%d", name, tostring(value), lo, hi), 0)
	end
	return n
end

-- True when ip (dotted quad, optional /prefix) lies in 198.18.0.0/15, the
-- benchmarking range: these scripts never aim at anything else.
function M.in_bench_net(ip)
	local a, b, c, d = ip:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)")
	if a == nil or tonumber(c) > 255 or tonumber(d) > 255 then
		return false
	end
	return a == "198" and (b == "18" or b == "19")
end

function M.settings()
	local s = {
		port = env("LC_PORT", "0"),
		dst_ip = env("LC_DST_IP", "198.18.0.2"),
		src_ip = env("LC_SRC_IP", "198.18.0.1/24"),
		dst_mac = env("LC_DST_MAC", "02:00:00:00:00:02"),
	}
	number_in("LC_PORT", s.port, 0, 63)
	s.rate = number_in("LC_RATE", env("LC_RATE", "100"), 1, 100)
	s.seconds = number_in("LC_SECONDS", env("LC_SECONDS", "30"), 1, 3600)
	s.size = number_in("LC_SIZE", env("LC_SIZE", "64"), 64, 1518)
	if not M.in_bench_net(s.dst_ip) then
		error("LC_DST_IP=" .. s.dst_ip .. " is outside 198.18.0.0/15", 0)
	end
	if not M.in_bench_net(s.src_ip) then
		error("LC_SRC_IP=" .. s.src_ip .. " is outside 198.18.0.0/15", 0)
	end
	if not s.dst_mac:match("^%x%x:%x%x:%x%x:%x%x:%x%x:%x%x$") then
		error("LC_DST_MAC=" .. s.dst_mac .. " is not aa:bb:cc:dd:ee:ff", 0)
	end
	return s
end

local function counters(port)
	local st = pktgen.portStats(port, "port")[tonumber(port)]
	return st.opackets, st.ipackets
end

-- Send for s.seconds on s.port and print
--   RESULT <label> port=P secs=S tx_pkts=N tx_pps=N rx_pkts=N
-- Returns packets sent and received during the run.
function M.run(s, label)
	pktgen.clr()
	local tx0, rx0 = counters(s.port)
	pktgen.start(s.port)
	pktgen.delay(s.seconds * 1000)
	pktgen.stop(s.port)
	-- Let the last bursts leave before reading the counters.
	pktgen.delay(500)
	local tx1, rx1 = counters(s.port)
	local tx, rx = tx1 - tx0, rx1 - rx0
	print(string.format("RESULT %s port=%s secs=%d tx_pkts=%d tx_pps=%.0f rx_pkts=%d",
		label, s.port, s.seconds, tx, tx / s.seconds, rx))
	return tx, rx
end

return M

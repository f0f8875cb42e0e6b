-- A crawler's walk: each request takes the next path of a file (`wrk ... -s bench/wrk_walk.lua URL -- FILE N`,
-- N = wrk's threads), every path at most once while the file lasts. The threads take turns through it
-- (thread i: paths i, i+N, i+2N, ...), so no page is asked for twice and the page cache only misses, as on a
-- walk. bench/http_bench.py gives more paths than the run can ask for and checks that it did not wrap.
dofile("bench/wrk_report.lua")

local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  step = tonumber(args[2])
  position = index + 1
end

function request()
  local path = paths[position]
  position = position + step
  if position > #paths then
    position = index + 1 -- wrapped: pages seen before (http_bench.py refuses such a run)
  end
  return wrk.format(nil, path)
end

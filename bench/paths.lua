-- wrk script: GET a random path from the file named by the first script argument (one path a
-- line). Used by bench/load.sh for tile and proof reads.
local paths = {}
function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  math.randomseed(os.time() + (#paths % 97))
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

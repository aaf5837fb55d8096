-- wrk script: a small non-streaming OpenAI chat request. BENCH_MODEL overrides the model
-- (e.g. "anthropic/claude-3-5-haiku-latest" for the translation case); BENCH_KEY is the bearer
-- token sent (a gateway key for the governance case).
local model = os.getenv("BENCH_MODEL") or "gpt-4o-mini"
wrk.method = "POST"
wrk.body = '{"model":"' .. model .. '","messages":[{"role":"user",' ..
           '"content":"Say hello in one short sentence."}],"max_tokens":64}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "bench")

local bad = 0
function response(status, headers, body)
    if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
    io.write(string.format("WRK total=%d errors_status=%d errors_sock=%d\n",
        summary.requests, summary.errors.status,
        summary.errors.connect + summary.errors.read + summary.errors.write +
        summary.errors.timeout))
end
